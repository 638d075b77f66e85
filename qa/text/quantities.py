"""Quantities in text: figures in digits and Chinese numerals with scales and units (10亿美元, 三十五个, 第十二届, 3比1), and the answer type a question asks for."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

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
    # A calendar date is not a count: "TBILISI, March 3 --" / "新华社柏林1月22日电" do not answer "how many".
    return bool(_NUMBER_A.search(_CALENDAR_DATE.sub(" ", folded)))


_CALENDAR_DATE = re.compile(
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|(?:\d{4}年)?\d{1,2}月\d{1,2}[日号]|"
    r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.? \d{1,2}\b(?:, \d{4})?",
    re.IGNORECASE,
)


# "比首尔多100毫米" / "是X的30倍" / "more than X": the question names one side of a comparison.
_COMPARATIVE = re.compile(
    r"比(?!赛|例|较|率|重|如|方|喻)[^，,。？?]{1,20}?(?:多|少|高|低|大|小|长|短|早|晚|快|慢|强|弱|重|轻)|"
    r"[是为][^，,。？?]{1,20}?的[^，,。？?]{0,8}倍|\bthan\b", re.IGNORECASE)




def is_comparison(question: str) -> bool:
    """The question names one side of a comparison ("比首尔多多少", "是X的几倍", "than")."""
    return bool(_COMPARATIVE.search(normalize(question)))


# --------------------------------------------------------------------------- figures as values
@dataclass(frozen=True)
class Quantity:
    """A number found in text, as a value with its unit (offsets into the NFKC-normalised text)."""

    text: str
    value: float
    unit: str
    """'%', 'USD', 'CNY', 'year', 'score', a normalised measure word (人, 吨, 家, 届...) or '' if none."""
    start: int = 0
    end: int = 0
    approx: str = ""
    """'more' (多, 余, 以上, 超过), 'less' (近, 不到), 'about' (约, 左右) or '' for an exact figure."""
    ordinal: bool = False
    """第十二届, 第18批: a position in a series rather than an amount."""
    second: float | None = None
    """The other side of a score (3比1 → value 3, second 1)."""

    def agrees(self, other: Quantity) -> bool:
        """Whether `other` (the article's figure) states this one (the claim's), in a compatible unit.

        Two hedged figures agree only on the same base (200多家 is not 207多家); a hedged claim is met
        by any value in its range (300多名 by 320名); an exact claim by a hedged article figure whose
        range holds it (the article's 200多家 allows 207家)."""
        if self.ordinal != other.ordinal:
            return False
        if self.unit and other.unit and self.unit != other.unit and {self.unit, other.unit} != {"USD", "$"}:
            return False  # 34摄氏度 is not 34年
        if self.unit == "score" or other.unit == "score":
            return self.unit == other.unit and same_value(self.value, other.value) and self.second == other.second
        if same_value(self.value, other.value):
            return True
        if self.approx and other.approx:
            return False
        if self.approx:
            return _within(self, other.value)
        if other.approx:
            return _within(other, self.value)
        return False


def _within(hedged: Quantity, value: float) -> bool:
    if hedged.approx == "more":  # "300多名" is met by 320; "超过60%" by 62%
        return hedged.value <= value <= hedged.value * 1.35
    if hedged.approx == "less":
        return hedged.value * 0.85 <= value <= hedged.value
    return abs(hedged.value - value) <= 0.06 * max(abs(hedged.value), abs(value))


def same_value(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1.0)


_MULT = {
    "万亿": 1e12, "千亿": 1e11, "百亿": 1e10, "亿": 1e8, "千万": 1e7, "百万": 1e6, "万": 1e4, "千": 1e3,
    "trillion": 1e12, "billion": 1e9, "bn": 1e9, "million": 1e6, "mn": 1e6, "thousand": 1e3,
}
_CURRENCY = {"美元": "USD", "dollars": "USD", "dollar": "USD", "usd": "USD", "$": "USD", "us$": "USD",
             "元": "CNY", "人民币": "CNY", "yuan": "CNY", "rmb": "CNY", "欧元": "EUR", "euros": "EUR", "euro": "EUR",
             "日元": "JPY", "英镑": "GBP", "卢布": "RUB", "港元": "HKD", "港币": "HKD", "美金": "USD"}
# Measure words that count the same thing are one unit (名/位/人 count people).
_UNIT_FAMILY = {"名": "人", "位": "人", "人": "人", "千克": "公斤", "公斤": "公斤", "kg": "公斤", "千米": "公里",
                "km": "公里", "公里": "公里", "percent": "%", "％": "%", "个百分点": "pp", "百分点": "pp",
                "倍": "倍", "岁": "岁", "周岁": "岁", "平方公里": "km2", "平方千米": "km2", "万人次": "人次", "摄氏度": "°C", "°c": "°C", "℃": "°C"}
_UNITS = (
    "个百分点|百分点|percent|%|美元|美金|dollars?|usd|人民币|日元|英镑|卢布|港元|港币|欧元|euros?|元|yuan|rmb|"
    "平方公里|平方千米|平方米|立方米|公里|千米|km|公斤|千克|kg|公顷|周岁|"
    "个月|人次|架次|余|摄氏度|°c|℃|周年|"
    "年|月|日|天|周|小时|分钟|秒|岁|"
    "吨|家|项|人|名|位|个|倍|台|次|届|批|场|枚|座|条|只|件|种|所|辆|艘|头|株|户|套|部|篇|本|份|起|例|处|栋|层|轮|期|"
    "米|克|亩|度|点|票|分|局|盘|球|站|号|国|省|市|县|村|镇|支|队|款|颗|棵|把|张|册|集|节|门|级|"
    "gw|mw|kw|bpd|"
)
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_SMALL = {"十": 10, "百": 100, "千": 1000}
_CN_NUM = "[零〇一二两三四五六七八九十百千]"
_QUANTITY = re.compile(
    r"(?P<pre>第|约|近|超过|逾|不到|不足|大约|将近|超|达)?"
    r"(?P<cur>\$|us\$)?\s?"
    rf"(?P<num>\d+(?:,\d{{3}})*(?:\.\d+)?|{_CN_NUM}+(?:点{_CN_NUM}+)?(?=[万亿千百]|(?:{_UNITS})))"
    r"(?:\s?(?P<score>比|:|：)\s?(?P<num2>\d{1,3})(?![\d.%]))?"
    r"\s?(?P<mult>万亿|千亿|百亿|千万|百万|亿|万|千|trillion|billion|bn|million|mn|thousand)?\s?"
    r"(?P<more>多万|多|余|以上|左右|来)?\s?"
    rf"(?P<unit>{_UNITS})?",
    re.IGNORECASE,
)
_PERCENT_WORDS = re.compile(rf"百分之(?P<num>\d+(?:\.\d+)?|{_CN_NUM}+(?:点{_CN_NUM}+)?)")


def chinese_number(text: str) -> float | None:
    """三十五 → 35, 两千三百 → 2300, 一点五 → 1.5, 十三 → 13; None if it is not a numeral."""
    if "点" in text:
        whole, _, frac = text.partition("点")
        w = chinese_number(whole)
        if w is None or not frac or any(ch not in _CN_DIGITS for ch in frac):
            return None
        return w + float("0." + "".join(str(_CN_DIGITS[ch]) for ch in frac))
    if not text or any(ch not in _CN_DIGITS and ch not in _CN_SMALL for ch in text):
        return None
    if all(ch in _CN_DIGITS for ch in text) and len(text) > 1:  # 二〇一五: digit by digit
        return float("".join(str(_CN_DIGITS[ch]) for ch in text))
    total, digit = 0, None
    for ch in text:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        else:
            total += (1 if digit is None else digit) * _CN_SMALL[ch]
            digit = None
    return float(total + (digit or 0))


def _number(raw: str) -> float | None:
    raw = raw.replace(",", "")
    try:
        return float(raw)
    except ValueError:
        return chinese_number(raw)


def normalise_unit(unit: str) -> str:
    unit = unit.lower()
    unit = _CURRENCY.get(unit, unit)
    return _UNIT_FAMILY.get(unit, unit)


def quantities(text: str) -> list[Quantity]:
    """Numbers with their scale and unit, from width-normalised text (offsets into that text)."""
    norm = unicodedata.normalize("NFKC", text)
    low = norm.lower()
    out: list[Quantity] = []
    for m in _PERCENT_WORDS.finditer(norm):
        value = _number(m.group("num"))
        if value is not None:
            out.append(Quantity(m.group(0), value, "%", m.start(), m.end()))
    taken = [(q.start, q.end) for q in out]
    for m in _QUANTITY.finditer(low):
        if any(a <= m.start("num") < b for a, b in taken):
            continue
        raw = m.group("num")
        value = _number(raw)
        if value is None:
            continue
        cjk_numeral = not raw[0].isdigit()
        if cjk_numeral and not (m.group("unit") or m.group("mult") or m.group("pre") == "第"):
            continue
        if cjk_numeral and raw in ("十", "百", "千") and not m.group("mult"):
            continue  # 千克, 百米, 十分: a word, not a figure
        if cjk_numeral and value < 2 and not m.group("mult") and m.group("pre") != "第":
            continue  # 一个, 一次, 一点: an article more often than a figure
        if m.start("num") > 0 and low[m.start("num") - 1].isalpha() and low[m.start("num") - 1].isascii():
            continue  # part of a code such as MBL2, G20
        mult = m.group("mult")
        if mult:
            value *= _MULT[mult]
        more = m.group("more") or ""
        if more == "多万":
            value *= 1e4
        unit = m.group("unit") or ""
        if unit == "余":
            unit, more = "", "余"
        if m.group("cur"):
            unit = "$"
        unit = normalise_unit(unit)
        pre = m.group("pre") or ""
        second = None
        if m.group("score") and m.group("num2") is not None and raw.isdigit() and not mult:
            clock = m.group("score") in ":：" and len(m.group("num2")) == 2 and int(raw) <= 24 and int(m.group("num2")) < 60
            if clock:
                continue  # 10:30 is a time of day (qa.text.dates reads it)
            unit, second = "score", float(m.group("num2"))
        is_year = re.fullmatch(r"(19|20)\d\d", raw) is not None and not mult
        if is_year and (unit == "年" or (unit == "" and norm[m.end():m.end() + 1] == "年")):
            unit = "year"
        approx = ("more" if more in ("多", "多万", "余", "以上", "来") or pre in ("超过", "逾", "超") else
                  "less" if pre in ("近", "不到", "不足", "将近") else
                  "about" if more == "左右" or pre in ("约", "大约") else "")
        start = m.start("num") if pre not in ("第",) else m.start()
        out.append(Quantity(norm[start:m.end()].strip(), value, unit, start, m.end(), approx, pre == "第", second))
    out.sort(key=lambda q: q.start)
    return out
