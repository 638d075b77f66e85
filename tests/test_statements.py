"""Statement extraction on sentences written for these tests (real LAC and spaCy models, nothing stubbed):
the reporting language of news, speakers and their types, mentions resolved or kept, offsets that map back."""

from __future__ import annotations

import pytest

from qa.extraction.statements import Statement, extract_statements


def _run(text: str) -> list[Statement]:
    out = extract_statements(text)
    for st in out:
        assert text[st.start : st.end] == st.text
    return out


def _one(text: str) -> Statement:
    out = _run(text)
    assert len(out) == 1, out
    return out[0]


def test_named_speaker_with_title_and_adverbials_direct_after_the_cue() -> None:
    st = _one("外交部发言人王明17日在例行记者会上说：“我们欢迎各方参与。”")
    assert (st.kind, st.cue, st.speaker, st.speaker_type) == ("direct", "说", "王明", "person")
    assert st.mention == "外交部发言人王明" and st.role == "外交部发言人" and st.text == "我们欢迎各方参与。"


def test_quote_split_around_the_cue_gives_two_direct_lines() -> None:
    out = _run("“这是一个好消息，”张伟说，“我们会继续努力。”")
    assert [(s.kind, s.speaker, s.text) for s in out] == [
        ("direct", "张伟", "这是一个好消息，"), ("direct", "张伟", "我们会继续努力。")]


def test_pronoun_resolves_to_the_speaker_in_focus_and_is_kept_when_nobody_is() -> None:
    out = _run("李华表示，新政策将在明年实施。他强调，各地要做好准备。")
    assert [(s.cue, s.speaker, s.mention, s.text) for s in out] == [
        ("表示", "李华", "李华", "新政策将在明年实施"), ("强调", "李华", "他", "各地要做好准备")]
    alone = _one("他说，情况很好。")
    assert (alone.speaker, alone.mention, alone.resolved) == ("他", "他", False)


def test_organisation_abbreviation_resolves_to_its_full_name() -> None:
    st = _one("国际货币基金组织（IMF）14日发布报告。IMF认为，全球经济增长将放缓。")
    assert (st.speaker, st.speaker_type, st.mention, st.cue) == ("国际货币基金组织", "organisation", "IMF", "认为")


def test_source_frame_and_nested_attribution() -> None:
    outer, inner = _run("据新华社报道，当地警方表示，事故原因正在调查中。")
    assert (outer.cue, outer.speaker, outer.speaker_type) == ("报道", "新华社", "media")
    assert outer.text == "当地警方表示，事故原因正在调查中"
    assert (inner.speaker, inner.speaker_type, inner.text) == ("当地警方", "government", "事故原因正在调查中")


def test_headline_attribution() -> None:
    st = _one("世界卫生组织：疫苗接种率持续上升\n2024-01-01\n正文。")
    assert (st.cue, st.speaker, st.text) == ("：", "世界卫生组织", "疫苗接种率持续上升")


def test_sourceless_attitude_and_evidential_sentences_are_not_statements() -> None:
    assert _run("据悉，会议将于下月举行。他表示欢迎。数据显示，出口增长了。") == []


def test_english_description_is_stripped_to_the_name_and_kept_as_role() -> None:
    st = _one("Mark Hamrick, a senior economic analyst at Bankrate, said the economy was growing faster than expected.")
    assert (st.speaker, st.kind, st.cue, st.lang) == ("Mark Hamrick", "indirect", "said", "en")
    assert "analyst" in st.role and st.text == "the economy was growing faster than expected"


def test_english_quotes_continuations_and_according_to() -> None:
    out = _run('"We will win this race," Smith said. "And we will do it together."\n'
               "According to the annual report, sales fell by a third last year.")
    assert [(s.kind, s.speaker, s.text) for s in out] == [
        ("direct", "Smith", "We will win this race"), ("direct", "Smith", "And we will do it together."),
        ("indirect", "the annual report", "sales fell by a third last year")]
    assert out[2].speaker_type == "document" and out[2].cue == "according to"


def test_english_pronoun_takes_the_named_subject_before_it() -> None:
    st = _one("Jane Doe met reporters on Monday. She said the plan would cut costs for every family in the state.")
    assert (st.speaker, st.mention, st.resolved) == ("Jane Doe", "She", True)


@pytest.mark.parametrize("text", ["", "\n\n", "没有任何引语的一句话。", "Nothing is said here at all, by anyone."])
def test_text_without_statements(text: str) -> None:
    assert _run(text) == []


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_PIECES = st.sampled_from(["他说", "表示，", "：“", "”", "“", "据", "报道", "。", "，", "\n", "张伟", "警方", "称",
                           "\"", " said ", "He ", "according to ", "—", "-", "·", "a", " ", "IMF", "（", "）"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_PIECES, st.text(max_size=6)), max_size=30).map("".join))
def test_any_text_gives_statements_whose_offsets_map_back(text: str) -> None:
    for s in extract_statements(text):
        assert 0 <= s.start < s.end <= len(text) and text[s.start : s.end] == s.text
        assert s.kind in ("direct", "mixed", "indirect") and s.speaker
