"""The pure text pieces of the checker: figures in words and digits, dates against an article date,
direction words and negation, and the facts LAC finds in a claim."""

from __future__ import annotations

import datetime as dt

from qa.text.dates import dates
from qa.text.directions import directions, negated, opposite_words
from qa.verification.facts import analyse, context_overlap
from qa.text.quantities import chinese_number, quantities


def test_chinese_numerals_ordinals_and_scores() -> None:
    assert chinese_number("三十五") == 35 and chinese_number("两千三百") == 2300 and chinese_number("一点五") == 1.5
    assert [(q.value, q.unit) for q in quantities("三十五个成员国，两千三百人")] == [(35, "个"), (2300, "人")]
    assert [(q.value, q.unit, q.ordinal) for q in quantities("第十二届全国人大第三次会议")] == [(12, "届", True), (3, "次", True)]
    (score,) = quantities("主队以3比1获胜")
    assert (score.unit, score.value, score.second) == ("score", 3, 1)
    assert quantities("百分之五十")[0].value == 50 and quantities("百分之五十")[0].unit == "%"
    assert quantities("一个人，千克，10:30举行") == []  # an article, a unit word and a clock time are not figures


def test_quantities_agree_by_value_unit_and_hedge() -> None:
    (claim,) = quantities("300多名运动员")
    (exact,) = quantities("320名运动员")
    (other,) = quantities("93人")
    assert claim.unit == other.unit == "人" and claim.agrees(exact) and not claim.agrees(other)
    (temp,) = quantities("34摄氏度")
    (years,) = quantities("34年来")
    assert not temp.agrees(years)  # the same number in another unit is another figure


def test_dates_resolve_against_the_article_date() -> None:
    ref = dt.date(2015, 7, 30)
    assert dates("去年", ref)[0].fields() == {"year": 2014}
    assert dates("当天上午10时30分", ref)[0].fields() == {"year": 2015, "month": 7, "day": 30, "part": "morning",
                                                      "hour": 10, "minute": 30}
    assert dates("26日", ref)[0].fields() == {"year": 2015, "month": 7, "day": 26}
    claim, article = dates("2014年12月18日", ref)[0], dates("29日", ref)[0]
    assert claim.conflicts(article) == ["year", "month", "day"]
    tuesday, wednesday = dates("周二", ref)[0], dates("7月29日", ref)[0]  # 2015-07-29 was a Wednesday
    assert tuesday.conflicts(wednesday) == ["weekday"]
    assert dates("去年5月", ref)[0].agrees(dates("2014年5月", ref)[0])


def test_direction_words_and_negation() -> None:
    up = directions("铁路运输量同比增长超过15%")
    down = directions("同比下降3%")
    assert up[0].opposes(down[0]) and "减少" in opposite_words("增加")
    assert [d.word for d in directions("负责人说")] == []  # 负 inside 负责 is no outcome
    text = "他没有指示政府"
    assert negated(text, text.index("指示")) and not negated("他已指示政府", 2)


def test_claim_facts_from_lac() -> None:
    a = analyse("哈萨克斯坦总统托卡耶夫去年访问了巴基斯坦，签署了30项协议。", dt.date(2026, 2, 7))
    kinds = {(f.kind, f.text) for f in a.facts}
    assert ("person", "托卡耶夫") in kinds and ("place", "巴基斯坦") in kinds
    assert ("date", "去年") in kinds and ("number", "30项") in kinds
    assert next(f for f in a.facts if f.kind == "date").date.year == 2025
    assert context_overlap({"中央代表团"}, {"中央代表团分团", "到达"}) == 1
