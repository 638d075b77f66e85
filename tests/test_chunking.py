from pathlib import Path

from qa.articles import load_articles, parse_article
from qa.extraction.chunks import chunk_article
from qa.text.sentences import split_sentences

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def texts(text: str) -> list[str]:
    return [text[s.start : s.end] for s in split_sentences(text)]


def test_chinese_terminators_and_closing_quotes() -> None:
    assert texts("他说：“我们同意。”然后离开了！真的吗？是的；好。") == [
        "他说：“我们同意。”", "然后离开了！", "真的吗？", "是的；", "好。"
    ]


def test_short_quotation_is_never_split() -> None:
    assert texts("他说：“好。我同意。”大家鼓掌。") == ["他说：“好。我同意。”", "大家鼓掌。"]


def test_long_quoted_speech_is_split_into_sentences() -> None:
    quote = "我们" + "合作" * 40 + "。下一句" + "发展" * 20 + "。"
    parts = texts(f"他表示：“{quote}”")
    assert len(parts) == 2 and parts[1].endswith("。”")


def test_dash_attribution_stays_with_its_quote() -> None:
    assert texts("—两国是兄弟。-他说。\n下一段。") == ["—两国是兄弟。-他说。", "下一段。"]


def test_latin_sentences_and_abbreviations() -> None:
    assert texts("Mr. Smith arrived at 3.5 p.m. today. He said hello! Then U.S. officials left.") == [
        "Mr. Smith arrived at 3.5 p.m. today.", "He said hello!", "Then U.S. officials left."
    ]


def test_chunks_map_back_exactly_and_respect_size() -> None:
    for article in load_articles(SEEDS).articles:
        chunks = chunk_article(article, chunk_size=300, overlap=1)
        assert chunks
        for c in chunks:
            assert article.text[c.start : c.end] == c.text
            assert len(c.text) <= 300
            for s in c.sentences:
                assert c.start <= s.start < s.end <= c.end
        # neighbouring chunks share exactly the overlap sentence
        for a, b in zip(chunks, chunks[1:]):
            assert a.sentences[-1] == b.sentences[0]


def test_chunk_ids_stable_and_content_dependent() -> None:
    a = parse_article("第一句。第二句。", "x.txt")
    assert [c.id for c in chunk_article(a)] == [c.id for c in chunk_article(parse_article("第一句。第二句。", "x.txt"))]
    changed = parse_article("第一句。第三句。", "x.txt")
    assert chunk_article(a)[0].id != chunk_article(changed)[0].id


def test_overlong_sentence_is_cut_at_soft_punctuation() -> None:
    text = "，".join(["很长的分句内容"] * 80) + "。"
    spans = split_sentences(text, max_chars=100)
    assert all(s.end - s.start <= 100 for s in spans)
    assert "".join(text[s.start : s.end] for s in spans) == text
