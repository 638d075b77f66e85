"""Dates and times in Chinese text (年/月/日, 周/星期, 上午/下午, 10时30分, 去年/昨天/当天), resolved against a reference date."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, replace

from qa.text.quantities import chinese_number

_N = r"(?:\d{1,4}|[零〇一二两三四五六七八九十]{1,4})"
_DATE = re.compile(
    rf"(?:(?P<y>\d{{4}}|[零〇一二三四五六七八九]{{4}})年(?:度)?)?"
    rf"(?:(?P<m>{_N})月(?:份)?)?"
    rf"(?:(?P<d>{_N})(?:日|号)(?!元))?"
)
_REL_YEAR = {"今年": 0, "本年": 0, "当年": 0, "去年": -1, "上年": -1, "前年": -2, "明年": 1}
_REL_MONTH = {"本月": 0, "当月": 0, "上月": -1, "上个月": -1, "下月": 1, "下个月": 1}
_REL_DAY = {"今天": 0, "今日": 0, "当天": 0, "当日": 0, "昨天": -1, "昨日": -1, "前天": -2, "明天": 1, "明日": 1,
            "次日": 1, "翌日": 1, "后天": 2}
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 7}
_WEEKDAY = re.compile(r"(?P<rel>上|本|下|这)?(?:个)?(?:周|星期|礼拜)(?P<w>[一二三四五六日天末])")
_PART = re.compile(r"凌晨|清晨|早晨|早上|上午|中午|下午|傍晚|晚上|晚间|夜间|深夜|午夜")
_PART_OF = {"凌晨": "night", "午夜": "night", "深夜": "night", "清晨": "morning", "早晨": "morning", "早上": "morning",
            "上午": "morning", "中午": "noon", "下午": "afternoon", "傍晚": "evening", "晚上": "evening",
            "晚间": "evening", "夜间": "evening"}
_CLOCK = re.compile(rf"(?<![\d.])(?P<h>{_N})(?:时|点)(?:(?P<mi>{_N}|半)分?)?|(?P<h2>\d{{1,2}})[:：](?P<mi2>\d{{2}})")
_RELATIVE = re.compile("|".join(sorted([*_REL_YEAR, *_REL_MONTH, *_REL_DAY], key=len, reverse=True)))


@dataclass(frozen=True)
class DateExpr:
    """A date or time expression: the fields it states (None where it says nothing), with offsets."""

    text: str
    start: int
    end: int
    year: int | None = None
    month: int | None = None
    day: int | None = None
    weekday: int | None = None
    """0 = Monday … 6 = Sunday; 7 = the weekend."""
    part: str | None = None
    """'morning', 'afternoon', 'evening', 'night', 'noon'."""
    hour: int | None = None
    minute: int | None = None

    def fields(self) -> dict[str, int | str]:
        keys = ("year", "month", "day", "weekday", "part", "hour", "minute")
        return {k: v for k in keys if (v := getattr(self, k)) is not None}

    def conflicts(self, other: DateExpr) -> list[str]:
        """The fields both state and on which they disagree (weekday against a full date too)."""
        a, b = self.fields(), other.fields()
        out = [k for k in a if k in b and a[k] != b[k] and not (k == "weekday" and 7 in (a[k], b[k]) and {a[k], b[k]} & {5, 6})]
        for x, y in ((self, other), (other, self)):
            if x.weekday is not None and y.weekday is None and y.full_date is not None:
                wd = y.full_date.weekday()
                if not (x.weekday == wd or (x.weekday == 7 and wd >= 5)):
                    out.append("weekday")
        if self.hour is not None and other.hour is not None and "part" in out:
            out.remove("part")  # 下午3时 and 15时 are the same time; compare hours instead
        return out

    def agrees(self, other: DateExpr) -> bool:
        """Whether `other` states this date: every field this one states, and no conflicting one."""
        a, b = self.fields(), other.fields()
        shared = [k for k in a if k in b]
        return bool(shared) and not self.conflicts(other) and all(k in b or k in ("weekday", "part") for k in a)

    @property
    def full_date(self) -> dt.date | None:
        if self.year and self.month and self.day:
            try:
                return dt.date(self.year, self.month, self.day)
            except ValueError:
                return None
        return None


def _int(raw: str | None) -> int | None:
    if raw is None:
        return None
    if raw == "半":
        return 30
    if raw.isdigit():
        return int(raw)
    v = chinese_number(raw)
    return int(v) if v is not None else None


def _shift_month(year: int, month: int, delta: int) -> tuple[int, int]:
    n = year * 12 + (month - 1) + delta
    return n // 12, n % 12 + 1


def dates(text: str, reference: dt.date | None = None) -> list[DateExpr]:
    """Date and time expressions in `text`; with `reference` (the article's date) relative and
    partial ones ("去年", "当天", "30日") get the year, month and day they mean."""
    norm = unicodedata.normalize("NFKC", text)
    found: list[DateExpr] = []
    for m in _DATE.finditer(norm):
        if not m.group(0) or (m.group("y") is None and m.group("m") is None and m.group("d") is None):
            continue
        y, mo, d = _int(m.group("y")), _int(m.group("m")), _int(m.group("d"))
        if (mo is not None and not 1 <= mo <= 12) or (d is not None and not 1 <= d <= 31):
            continue
        if y is None and mo is None and d is not None and m.group(0).endswith("号") and d > 31:
            continue
        found.append(DateExpr(m.group(0), m.start(), m.end(), y, mo, d))
    for m in _RELATIVE.finditer(norm):
        found.append(_relative(m.group(0), m.start(), m.end(), reference))
    for m in _WEEKDAY.finditer(norm):
        found.append(DateExpr(m.group(0), m.start(), m.end(), weekday=_WEEKDAYS[m.group("w")]))
    for m in _PART.finditer(norm):
        found.append(DateExpr(m.group(0), m.start(), m.end(), part=_PART_OF[m.group(0)]))
    for m in _CLOCK.finditer(norm):
        h, mi = _int(m.group("h") or m.group("h2")), _int(m.group("mi") or m.group("mi2"))
        if h is None or h > 24 or (mi is not None and mi > 59):
            continue
        if m.group("h") and not m.group("mi") and norm[m.end():m.end() + 1] in ("多", "左"):
            continue
        found.append(DateExpr(m.group(0), m.start(), m.end(), hour=h, minute=mi))
    found.sort(key=lambda e: e.start)
    merged = _merge(found, norm)
    return [_resolve(e, reference) for e in merged]


def _relative(word: str, start: int, end: int, ref: dt.date | None) -> DateExpr:
    if ref is None:
        return DateExpr(word, start, end)
    if word in _REL_YEAR:
        return DateExpr(word, start, end, year=ref.year + _REL_YEAR[word])
    if word in _REL_MONTH:
        y, mo = _shift_month(ref.year, ref.month, _REL_MONTH[word])
        return DateExpr(word, start, end, year=y, month=mo)
    day = ref + dt.timedelta(days=_REL_DAY[word])
    return DateExpr(word, start, end, year=day.year, month=day.month, day=day.day)


def _merge(found: list[DateExpr], text: str) -> list[DateExpr]:
    """Adjacent pieces ("去年" + "5月", "30日" + "上午" + "10时") are one expression."""
    out: list[DateExpr] = []
    for e in found:
        if out and 0 <= e.start - out[-1].end <= 1 and text[out[-1].end:e.start] in ("", " ", "的"):
            prev = out[-1]
            a, b = prev.fields(), e.fields()
            if not set(a) & set(b):
                fields = {**a, **b}
                out[-1] = DateExpr(text[prev.start:e.end], prev.start, e.end, **fields)  # type: ignore[arg-type]
                continue
        out.append(e)
    return out


def _resolve(e: DateExpr, ref: dt.date | None) -> DateExpr:
    """Fill the year (and month) a partial date leaves to its context: the latest such date not after `ref`."""
    if ref is None:
        return e
    if e.year is None and e.month is not None:
        year = ref.year if (e.month, e.day or 1) <= (ref.month, ref.day) else ref.year - 1
        e = replace(e, year=year)
    elif e.year is None and e.month is None and e.day is not None:
        y, mo = (ref.year, ref.month) if e.day <= ref.day else _shift_month(ref.year, ref.month, -1)
        e = replace(e, year=y, month=mo)
    if e.weekday is not None and e.weekday < 7 and e.day is None and e.text.startswith(("上", "本", "下", "这")):
        pass  # "上周三" names a day only together with the week: left as a weekday
    return e
