"""qa verify through the real seed pipeline: paraphrases, altered numbers, swapped speakers,
mixed languages and unrelated claims — plus the number parser on its own."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from qa.cli import cli
from qa.errors import QAError
from qa.verification import CONTRADICTED, PARTLY, SUPPORTED, UNSUPPORTED, answer_sentences, number_conflicts, quantities


def test_quantities_understand_chinese_and_english_scales() -> None:
    (q,) = quantities("将双边贸易额提升至10亿美元")
    assert (q.value, q.unit) == (1e9, "USD")
    (q,) = quantities("$1 billion")
    assert (q.value, q.unit) == (1e9, "USD")
    (q,) = quantities("人均GDP达到１.５万美元")
    assert (q.value, q.unit) == (15000, "USD")
    assert [(q.value, q.unit) for q in quantities("增长6.5%，运输2200多万吨")] == [(6.5, "%"), (22_000_000, "吨")]
    assert quantities("在2030年前")[0].unit == "year"


def test_number_conflicts() -> None:
    conflicts, missing = number_conflicts("提升至20亿美元", ["将双边贸易额提升至10亿美元。"])
    assert [(c.text, s.text) for c, s in conflicts] == [("20亿美元", "10亿美元")]
    assert number_conflicts("raise trade to $1 billion", ["提升至10亿美元"]) == ([], [])
    assert number_conflicts("增长7%", ["签署了30项协议"])[1][0].text == "7%"  # different kind: not found, not contradicted


def test_answer_sentences_strip_markers() -> None:
    assert answer_sentences("甲说了一句话。[1]乙也说了。[2] Then English. [3]") == ["甲说了一句话。", "乙也说了。", "Then English."]


def _label(pipeline, text: str, question: str | None = None):  # type: ignore[no-untyped-def]
    result = pipeline.verify(text, question)
    assert len(result.sentences) == 1
    return result.sentences[0]


@pytest.mark.parametrize("claim", [
    "哈萨克斯坦与巴基斯坦计划将双边贸易额提升至10亿美元。",
    "托卡耶夫说，哈萨克斯坦去年经济增长6.5%。",
    "哈萨克斯坦在乌兹别克斯坦有超过6000家企业。",
    "去年哈萨克斯坦到访乌兹别克斯坦的游客达到300万人次。",
    "InDrive在巴基斯坦出租车市场占有率超过60%。",
])
def test_paraphrases_of_the_articles_are_supported(seed_pipeline, claim: str) -> None:
    check = _label(seed_pipeline, claim)
    assert check.label == SUPPORTED, check
    assert check.evidence and check.evidence[0].article_id.endswith(".txt") and check.evidence[0].end > check.evidence[0].start


def test_altered_amount_is_contradicted_and_shown_side_by_side(seed_pipeline) -> None:
    check = _label(seed_pipeline, "托卡耶夫表示，双方计划将贸易额提升至20亿美元。")
    assert check.label == CONTRADICTED
    assert ("number", "20亿美元", "10亿美元") in [(c.kind, c.claim, c.source) for c in check.contradictions]
    assert "10亿美元" in check.evidence[0].sentence


def test_altered_percentage_is_contradicted(seed_pipeline) -> None:
    check = _label(seed_pipeline, "哈萨克斯坦去年经济增长了7.5%。")
    assert check.label == CONTRADICTED
    assert [(c.claim, c.source) for c in check.contradictions] == [("7.5%", "6.5%")]


def test_swapped_speaker_is_contradicted(seed_pipeline) -> None:
    right = _label(seed_pipeline, "托卡耶夫说，哈萨克斯坦和乌兹别克斯坦不是竞争对手，而是战略伙伴和可靠盟友。")
    assert right.label == SUPPORTED and right.evidence[0].speaker == "托卡耶夫"
    wrong = _label(seed_pipeline, "米尔济约耶夫说，哈萨克斯坦和乌兹别克斯坦不是竞争对手，而是战略伙伴和可靠盟友。")
    assert wrong.label == CONTRADICTED
    assert [(c.kind, c.claim, c.source) for c in wrong.contradictions] == [("speaker", "米尔济约耶夫", "托卡耶夫")]


def test_english_claims_against_chinese_articles(seed_pipeline) -> None:
    same = _label(seed_pipeline, "Kazakhstan and Pakistan aim to raise bilateral trade to $1 billion.")
    assert same.label in (SUPPORTED, PARTLY) and "10亿美元" in same.evidence[0].sentence
    other = _label(seed_pipeline, "Kazakhstan and Pakistan aim to raise bilateral trade to $2 billion.")
    assert other.label == CONTRADICTED


@pytest.mark.parametrize("claim", ["巴黎本周末将有大雨。", "The moon is made of cheese.", "2022年世界杯冠军是阿根廷队。"])
def test_unrelated_claims_are_unsupported(seed_pipeline, claim: str) -> None:
    assert _label(seed_pipeline, claim).label == UNSUPPORTED


def test_mixed_answer_scores_per_sentence(seed_pipeline) -> None:
    result = seed_pipeline.verify(
        "哈萨克斯坦与巴基斯坦计划将双边贸易额提升至10亿美元。[1]哈萨克斯坦去年经济增长了7.5%。[2] The moon is made of cheese."
    )
    assert [s.label for s in result.sentences] == [SUPPORTED, CONTRADICTED, UNSUPPORTED]
    assert result.score == pytest.approx(1 / 3)
    assert result.to_dict()["counts"] == {SUPPORTED: 1, PARTLY: 0, UNSUPPORTED: 1, CONTRADICTED: 1}


def test_short_answer_is_checked_with_its_question(seed_pipeline) -> None:
    check = _label(seed_pipeline, "10亿美元。", question="哈萨克斯坦与巴基斯坦把双边贸易额的目标定为多少？")
    assert check.label in (SUPPORTED, PARTLY)
    assert "10亿美元" in check.evidence[0].sentence


def test_empty_text_is_a_user_error(seed_pipeline) -> None:
    with pytest.raises(QAError, match="no answer text"):
        seed_pipeline.verify("   ")


def test_qa_verify_cli_text_stdin_and_json(seed_pipeline, seed_settings) -> None:
    args = ["--articles", str(seed_settings.articles_dir), "--vectorstore", str(seed_settings.vectorstore_dir), "verify"]
    runner = CliRunner()
    shown = runner.invoke(cli, [*args, "托卡耶夫表示，双方计划将贸易额提升至20亿美元。"])
    assert shown.exit_code == 0, shown.output
    assert "[contradicted]" in shown.output and "'20亿美元'" in shown.output and "'10亿美元'" in shown.output
    piped = runner.invoke(cli, [*args, "-", "--json"], input="哈萨克斯坦去年经济增长了6.5%。\n")
    assert piped.exit_code == 0, piped.output
    data = json.loads(piped.output)
    assert data["sentences"][0]["label"] == SUPPORTED and data["score"] == 1.0


# --------------------------------------------------------------------------- facts beyond numbers (issue 17)
def test_contradiction_names_the_sentence_that_states_the_same_fact(seed_pipeline) -> None:
    check = _label(seed_pipeline, "哈萨克斯坦去年经济增长了8.5%。")
    assert check.label == CONTRADICTED
    assert [(c.kind, c.claim, c.source) for c in check.contradictions] == [("number", "8.5%", "6.5%")]
    # The evidence is the sentence about last year's growth, not the one about 85% of the freight.
    assert "去年我国经济增长了6.5%" in check.evidence[check.contradictions[0].evidence].sentence
    assert "6.5%" in check.evidence[0].sentence


@pytest.mark.parametrize(("claim", "kind", "said", "source"), [
    ("中亚国家元首第八次磋商会议将于明天举行。", "number", "第八次", "第七次"),  # the session number
    ("两国领导人将于11月20日参加中亚国家元首第七次磋商会议。", "date", "11月20日", "明天"),  # 明天 = 11-16 (article date)
    ("今年前九个月，两国铁路运输量同比下降超过15%。", "direction", "下降", "增长"),
    ("他没有指示政府促进两国商界互动。", "negation", "没有指示", "指示"),
    ("巴基斯坦总理伊姆兰·汗与托卡耶夫共同出席了哈巴商业论坛。", "person", "伊姆兰·汗", "夏巴兹·谢里夫"),
])
def test_conflicting_facts_are_contradicted_with_the_article_value(seed_pipeline, claim: str, kind: str, said: str,
                                                                    source: str) -> None:
    check = _label(seed_pipeline, claim)
    assert check.label == CONTRADICTED, check
    assert (kind, said, source) in [(c.kind, c.claim, c.source) for c in check.contradictions]
    assert source in check.evidence[0].sentence


def test_who_did_what_to_whom(seed_pipeline) -> None:
    check = _label(seed_pipeline, "米尔济约耶夫总统首先向托卡耶夫总统表示感谢。")
    assert check.label == CONTRADICTED
    assert [c.kind for c in check.contradictions] == ["role"]


def test_a_sentence_stating_both_orders_is_not_a_role_swap(seed_pipeline) -> None:
    # The article's own sentence: each city's hotel is built in the other one. Both orders are stated, so the
    # claim (the sentence verbatim) conflicts with nothing; it was labelled a role swap against itself.
    check = _label(seed_pipeline, "根据此前达成的协议，“阿斯塔纳”酒店将在塔什干建成，而“塔什干”酒店将在阿斯塔纳落成。")
    assert check.label == SUPPORTED, check
    assert not check.contradictions


def test_relative_date_that_matches_the_article_is_supported(seed_pipeline) -> None:
    check = _label(seed_pipeline, "两国领导人明天将参加中亚国家元首第七次磋商会议。")
    assert check.label == SUPPORTED and "明天" in check.found


def test_claim_with_facts_the_articles_never_state_is_not_supported(seed_pipeline) -> None:
    # The topic words (巴基斯坦, 托卡耶夫, 签署, 协议) are there; the capital, the office and the deal are not.
    check = _label(seed_pipeline, "托卡耶夫在伊斯兰堡与巴基斯坦签署了核能合作协定。")
    assert check.label in (UNSUPPORTED, PARTLY, CONTRADICTED)
    assert "伊斯兰堡" in check.missing or any(c.claim == "伊斯兰堡" for c in check.contradictions)
