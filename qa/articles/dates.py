"""Dates written in article text: date/timestamp lines, agency datelines (新华社柏林1月22日电) and their year.

Numeric forms (2015-01-22 12:16:02, 2015/1/22, 2015年1月22日, 22.01.2015) are matched directly: they
are unambiguous and this runs on every `qa index`. Lines with month names in other languages
(January 22, 2015; 22 января 2015) go to `dateparser` (the parser `htmldate` uses), strictly: day,
month and year must all be there, and nothing relative ("yesterday") counts.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

DATE_LINE_MAX_CHARS = 60
"""A longer line is text that mentions a date, not a date line."""

_YEAR = r"(?P<y>(?:19|20)\d{2})"
_TIME = r"(?:\s*(?:T|\s)\s*\d{1,2}\s*[:：时]\s*\d{2}\s*分?(?:\s*[:：]\s*\d{2}\s*秒?)?(?:\.\d+)?\s*(?:Z|[+-]\d{2}:?\d{2}|[AaPp]\.?[Mm]\.?|UTC|GMT|CST|MSK|BJT)?)?"
_NUMERIC_DATES = (
    re.compile(rf"(?<!\d){_YEAR}\s*[-/.]\s*(?P<m>\d{{1,2}})\s*[-/.]\s*(?P<d>\d{{1,2}})(?!\d){_TIME}"),
    re.compile(rf"(?<!\d){_YEAR}\s*年\s*(?P<m>\d{{1,2}})\s*月\s*(?P<d>\d{{1,2}})\s*[日号]{_TIME}"),
    re.compile(rf"(?<!\d)(?P<d>\d{{1,2}})\s*\.\s*(?P<m>\d{{1,2}})\s*\.\s*{_YEAR}(?!\d){_TIME}"),
)
# What may stand around the date on a date line: a label before it, a weekday, a source or author after it.
_LABEL = re.compile(
    r"^\s*(?:(?:发布|发表|更新|出版|刊发)?(?:时间|日期)|发布|date|dated|published(?: on)?|updated(?: on)?|posted(?: on)?|"
    r"опубликовано|дата|datum|veröffentlicht)?\s*[:：]?\s*",
    re.IGNORECASE,
)
_TAIL = re.compile(r"(?:\s|^)(?:来源|來源|稿源|作者|编辑|責任編輯|责任编辑|记者|source|by|author|via|источник)\s*[:：|]?.*$", re.IGNORECASE)
_WEEKDAY = re.compile(r"星期[一二三四五六日天]|周[一二三四五六日]|\b(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\b\.?", re.IGNORECASE)
_LEFTOVER_OK = re.compile(r"^[\s\W_]*$")
_HAS_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
# 新华社柏林1月22日电 / 本报北京2015年1月22日讯 / （记者 张三）: an agency's place-and-day opening.
_CJK_DATELINE = re.compile(
    r"^[\s（(【\[]*(?P<who>[^\s，,。：:（(]{0,20}?)(?:(?P<y>(?:19|20)\d{2})\s*年)?\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日\s*(?:电|讯|消息|报道|专电|综合报道)"
)
_EN_MONTHS = {m: i for i, names in enumerate(
    (("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
     ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
     ("dec", "december")), start=1) for m in names}
# BERLIN, Jan. 22 (Xinhua) -- / ASTANA, January 22, 2015 (Reuters) -
_EN_DATELINE = re.compile(
    r"^\s*(?P<who>[A-Z][A-Za-z .'’-]{1,40}?),\s+(?P<mon>[A-Za-z]{3,9})\.?\s+(?P<d>\d{1,2})(?:,?\s+(?P<y>(?:19|20)\d{2}))?\s*"
    r"(?:\((?P<agency>[^)]{1,30})\))?\s*(?:--|—|–|-|/)"
)
_NAME_DATE = re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})[-_.]?(?P<m>[01]\d)[-_.]?(?P<d>[0-3]\d)(?!\d)")


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _make(y: Any, m: Any, d: Any) -> dt.date | None:
    try:
        return dt.date(int(y), int(m), int(d))
    except (TypeError, ValueError):
        return None


def parse_date_line(line: str) -> dt.date | None:
    """The date of a line that is a date or timestamp and (nearly) nothing else; None otherwise.

    Allowed around it: a label (发布时间：, Published:), a weekday, and a source or author tail
    (来源：新华网, By …)."""
    line = _nfkc(line).strip()
    if not line or len(line) > DATE_LINE_MAX_CHARS or not _HAS_YEAR.search(line):
        return None
    core = _TAIL.sub("", _LABEL.sub("", line, count=1)).strip()
    for pattern in _NUMERIC_DATES:
        match = pattern.search(core)
        if match:
            rest = _WEEKDAY.sub("", core[: match.start()] + " " + core[match.end() :])
            if _LEFTOVER_OK.match(rest):
                return _make(match["y"], match["m"], match["d"])
            return None
    if re.search(r"[\u3400-\u9fff。，！？]", core) or len(core.split()) > 7:
        return None  # Chinese dates are numeric (above); a long phrase is a headline with a year in it
    return _dateparser_date(core)


@lru_cache(maxsize=4096)
def _dateparser_date(text: str) -> dt.date | None:
    parsed = _date_parser().get_date_data(text)
    return parsed.date_obj.date() if parsed and parsed.date_obj else None


@lru_cache(maxsize=1)
def _date_parser() -> Any:
    from dateparser.date import DateDataParser

    return DateDataParser(
        languages=["en", "ru", "kk", "de", "fr", "es"],
        settings={"STRICT_PARSING": True, "REQUIRE_PARTS": ["day", "month", "year"],
                  "RETURN_AS_TIMEZONE_AWARE": False, "PARSERS": ["absolute-time"]},
    )


@dataclass(frozen=True)
class Dateline:
    text: str
    """The dateline as written (新华社柏林1月22日电)."""
    month: int
    day: int
    year: int | None


def find_dateline(paragraph: str) -> Dateline | None:
    """An agency dateline opening `paragraph`: 新华社柏林1月22日电, BERLIN, Jan. 22 (Xinhua) --."""
    head = _nfkc(paragraph[:120])
    match = _CJK_DATELINE.match(head)
    if match:
        month, day = int(match["m"]), int(match["d"])
    else:
        match = _EN_DATELINE.match(head)
        if not match or match["mon"].lower() not in _EN_MONTHS:
            return None
        month, day = _EN_MONTHS[match["mon"].lower()], int(match["d"])
    if not 1 <= month <= 12 or not 1 <= day <= 31:
        return None
    return Dateline(match.group(0).strip(" -—–/"), month, day, int(match["y"]) if match["y"] else None)


def date_in_name(name: str) -> dt.date | None:
    """A full date in a file name (2015-01-22-berlin.txt, 20150122_xinhua.txt)."""
    match = _NAME_DATE.search(name)
    return _make(match["y"], match["m"], match["d"]) if match else None


def full_dates_in(text: str, limit: int = 20000) -> list[dt.date]:
    """Full numeric dates (2015-01-20, 2015年1月20日, 20.01.2015) mentioned in the first `limit` characters."""
    sample = _nfkc(text[:limit])
    found = []
    for pattern in _NUMERIC_DATES:
        for match in pattern.finditer(sample):
            date = _make(match["y"], match["m"], match["d"])
            if date:
                found.append(date)
    return found


def year_for(month: int, day: int, reference: dt.date) -> dt.date | None:
    """The month/day nearest to `reference` (a dateline of 12月31日 next to 2015-01-02 is 2014-12-31)."""
    candidates = [d for y in (reference.year - 1, reference.year, reference.year + 1) if (d := _make(y, month, day))]
    return min(candidates, key=lambda d: abs((d - reference).days), default=None)


def resolve_dateline(line: Dateline, name: str, text: str) -> tuple[dt.date | None, str, str]:
    """(date, how it was found, why not) for a dateline: its own year, else the year from the file
    name's date, else from the latest full date the text mentions."""
    label = f"dateline {line.text!r}"
    if line.year:
        date = _make(line.year, line.month, line.day)
        return (date, label, "") if date else (None, "", f"{label} is not a valid date")
    named = date_in_name(name)
    if named:
        date = year_for(line.month, line.day, named)
        return date, f"{label}, year from the file name", ""
    mentioned = full_dates_in(text)
    if mentioned:
        reference = max(mentioned)
        date = year_for(line.month, line.day, reference)
        return date, f"{label}, year from the date {reference.isoformat()} in the text", ""
    return None, "", f"{label} has no year, and neither the file name nor the text gives one"
