"""Quantities and dates in questions and sentences: the answer type a question asks for, and whether a sentence has one."""

from __future__ import annotations

import re

from qa.text.normalise import normalize

# Only questions that plainly ask for a quantity or a calendar date are typed: "何时/什么时候" is
# answered by periods and events (宋代末, 秋季) as often as by dates, so it stays untyped.
_NUMBER_Q = re.compile(
    r"多少|(?<![这那隔近前])几(?![乎何])[个项家年倍次人名座所种吨成届天月号位条]?|多大|多高|多长|多远|多久|多重|"
    r"how (many|much|long|far|large|big|old)|what (percentage|share|proportion|amount|number) of",
    re.IGNORECASE,
)
_DATE_Q = re.compile(r"哪一?天|哪一?年|几月|几号|什么日期|what (date|day|year)|which (date|day|year)|in what year", re.IGNORECASE)
_CN_NUMERAL = "零一二两三四五六七八九十百千万亿"
# A numeral before any measure word counts (三班, 五架, 两艘) — except 一, which starts too many plain
# words (一些, 一致, 统一) and so needs a known measure word.
_NUMBER_A = re.compile(
    rf"\d|[{_CN_NUMERAL}]{{2,}}|[二两三四五六七八九十百千万亿][\u4e00-\u9fff]|"
    rf"一[个项家年倍次人名座所种吨成届番位条旗部本张场期代层岁班架艘辆台只批轮周天月]|分之|半|第[{_CN_NUMERAL}]"
)
_DATE_A = re.compile(
    r"\d{4}|\d{1,2}月|\d{1,2}日|[今去明前]年|[今明昨前]天|本月|上月|[元初]年|[一二三四五六七八九十]+年|"
    r"\b(January|February|March|April|May|June|July|August|September|October|November|December)\b"
)


def expected_answer_type(question: str) -> str | None:
    """'date' or 'number' when the question asks for one (then the answer sentence must contain one)."""
    folded = normalize(question)  # 幾/幾年/什麼時候 → 几/几年/什么时候
    if _DATE_Q.search(folded):
        return "date"
    if _NUMBER_Q.search(folded):
        return "number"
    return None


def has_answer_type(sentence: str, kind: str | None) -> bool:
    if kind is None:
        return True
    folded = normalize(sentence)
    if kind == "date":
        return bool(_DATE_A.search(folded))
    return bool(_NUMBER_A.search(folded))


# "比首尔多100毫米" / "是X的30倍" / "more than X": the question names one side of a comparison.
_COMPARATIVE = re.compile(
    r"比(?!赛|例|较|率|重|如|方|喻)[^，,。？?]{1,20}?(?:多|少|高|低|大|小|长|短|早|晚|快|慢|强|弱|重|轻)|"
    r"[是为][^，,。？?]{1,20}?的[^，,。？?]{0,8}倍|\bthan\b", re.IGNORECASE)




def is_comparison(question: str) -> bool:
    """The question names one side of a comparison ("比首尔多多少", "是X的几倍", "than")."""
    return bool(_COMPARATIVE.search(normalize(question)))
