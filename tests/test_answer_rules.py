"""The extractive composer's pure parts (qa/answering/composer.py): answer types, the sentence stating a span,
the same answer in two passages, the refusal thresholds."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document

from qa.answering.composer import Calibration, same_answer, sentence_of
from qa.answering.reader import Span
from qa.text.quantities import expected_answer_type, has_answer_type


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("哈巴商业论坛所签协议的总金额大约是多少？", "number"),
        ("雙邊工作組負責制定的計劃為期幾年？", "number"),  # traditional 幾
        ("哈萨克斯坦力争在哪一年之前让农业生产总值再翻一番？", "date"),
        ("How many supercomputers did Kazakhstan launch?", "number"),
        ("In what year was the canal opened?", "date"),
        ("盤古大陸在何時開始分裂？", None),  # 何时 is answered by periods as often as by dates
        ("哈乌国际产业合作中心设在什么地方？", None),
        ("这几乎是所有人的看法吗？", None),  # 几乎 is not 几
    ],
)
def test_expected_answer_type(question: str, kind: str | None) -> None:
    assert expected_answer_type(question) == kind


def test_answer_types_on_sentences() -> None:
    assert has_answer_type("此次论坛签署了超30项商业文件。", "number")
    assert has_answer_type("两国高校分校落成。", "number")  # 两 + measure word
    assert not has_answer_type("双方一致同意扩大合作。", "number")  # 一致 is not a number
    assert has_answer_type("去年两国贸易额几乎翻了一番。", "date")
    assert not has_answer_type("双方一致同意扩大合作。", "date")
    assert has_answer_type("anything", None)


def _doc(text: str, start: int) -> Document:
    return Document(page_content=text, metadata={"start": start, "end": start + len(text), "chunk_id": "a#1", "article_id": "a"})


def _span(text: str, doc: Document, probability: float = 0.5) -> Span:
    at = int(doc.metadata["start"]) + doc.page_content.index(text)
    return Span(text, "a", at, at + len(text), 0, 0, probability, 0.1)


def test_the_sentence_stating_a_span_is_the_one_of_its_chunk_that_holds_it() -> None:
    chunk = "双方签署了超30项商业协议。\n两国将双边贸易额提升至10亿美元。他说，这是目标。"
    doc = _doc(chunk, 1000)  # the chunk starts at character 1000 of its article
    stated = sentence_of(_span("10亿美元", doc), doc)
    assert stated.text == "两国将双边贸易额提升至10亿美元。"
    assert chunk[stated.start - 1000 : stated.end - 1000] == stated.text
    # a span across a sentence end is shown with both sentences
    across = sentence_of(_span("10亿美元。他说", doc), doc)
    assert across.text == "两国将双边贸易额提升至10亿美元。他说，这是目标。"


def test_same_answer_ignores_script_width_and_punctuation() -> None:
    assert same_answer("10億美元", "10亿美元")
    assert same_answer("约2亿美元", "2亿美元")  # one inside the other
    assert same_answer("“中间走廊”", "中间走廊")
    assert not same_answer("10亿美元", "2亿美元")
    assert not same_answer("", "。")


def test_a_positive_relevance_margin_refuses_more() -> None:
    base = Calibration(min_probability=0.2, max_no_answer=0.8)
    stricter = base.shifted(0.1)
    assert stricter.min_probability > base.min_probability and stricter.max_no_answer < base.max_no_answer
    assert base.shifted(-1.0) == Calibration(0.0, 1.0)


def test_a_calendar_date_is_not_a_count() -> None:
    from qa.text.quantities import has_answer_type

    # The dateline's date does not answer "how many"; the figure does, and a date beside a figure keeps it.
    assert not has_answer_type("TBILISI, March 3 (Kazinform) -- A new glass museum opened.", "number")
    assert not has_answer_type("新华社柏林1月22日电 中国和德国签署协定", "number")
    assert has_answer_type("The museum received 4,200 visitors", "number")
    assert has_answer_type("2015年1月22日有3人获奖", "number")
    assert has_answer_type("新华社柏林1月22日电", "date")
