"""Plain-text and Markdown articles: decoding, this project's header, a title line, date lines and datelines.

An article file is UTF-8 (or GB18030) text. Its first line may be this project's header::

     date 2026-02-07 Фото: Akorda
     date 2025-11-15 托卡耶夫总统首先向……

The date is parsed, a photo credit is kept as metadata, and any other text after the date
is the first line of the article. Without a header, the top of the file is read as agencies
write it: a title line, a date or timestamp line (2015-01-22 12:16:02, 2015年1月22日,
22.01.2015; removed from the text like the header), then the body, whose dateline
(新华社柏林1月22日电) dates it when nothing else does. `Article.text` is the body; every offset
elsewhere in the package points into it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path

from qa.articles.dates import date_in_name, find_dateline, parse_date_line, resolve_dateline
from qa.articles.model import (
    MAX_ARTICLE_BYTES,
    TITLE_LINE_MAX_CHARS,
    Article,
    Source,
    make_title,
    read_bytes,
    shorten,
)
from qa.errors import ArticleError

TEXT_SUFFIXES = (".txt", ".md")

_HEADER = re.compile(r"^\s*date\b[ \t:：]*(?P<rest>.*)$", re.IGNORECASE)
_DATE = re.compile(r"^(?P<date>\d{4}-\d{1,2}-\d{1,2})(?=\s|$)(?P<after>.*)$")
# "Фото: Akorda", "Photo: Reuters", "图片：新华社", "摄影：…" — a credit, not article text.
_PHOTO_CREDIT = re.compile(r"^\s*(фото|photo|foto|图片|图|照片|摄影|摄)\s*[:：]", re.IGNORECASE)
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(?P<title>.+?)\s*#*\s*$")
_ENDS_SENTENCE = set("。！？!?；;…．.,，:：、")
TITLE_LINE_SCAN = 4
"""How many non-empty lines at the top may hold the title and the date line."""


def decode_text(raw: bytes, name: str) -> str:
    """Decode article bytes, refusing anything that is not clearly text.

    UTF-8 first (with or without BOM); GB18030 as the only fallback, because Chinese news
    often arrives in it. Anything else is rejected rather than guessed (no mojibake).
    """
    if not raw.strip():
        raise ArticleError(name, "the file is empty")
    if b"\x00" in raw[:8192]:
        raise ArticleError(name, "the file is binary, not text (it contains NUL bytes)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError:
            raise ArticleError(
                name, f"not UTF-8 or GB18030 text (invalid byte at offset {exc.start}); save it as UTF-8"
            ) from None
        if not _looks_like_text(text):
            raise ArticleError(name, "not UTF-8 text, and not plausible GB18030 either; save it as UTF-8")
    if not _looks_like_text(text):
        raise ArticleError(name, "the file looks binary (mostly control characters)")
    return text.replace("\r\n", "\n").replace("\r", "\n")


_CONTROL_OR_PRIVATE = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ud800-\udfff\ue000-\uf8ff]")


def _looks_like_text(text: str) -> bool:
    sample = text[:20000]
    if not sample:
        return False
    # Control, surrogate and private-use characters by regex (C speed: this runs for every file on
    # every `qa index`); unassigned code points need unicodedata, so only on a shorter prefix.
    bad = len(_CONTROL_OR_PRIVATE.findall(sample))
    head = sample[:2000]
    bad += sum(1 for ch in head if unicodedata.category(ch) == "Cn") * len(sample) / len(head)
    return bad / len(sample) < 0.02


@dataclass(frozen=True)
class Front:
    """What the top of an article's text says about it, and the text without its date line."""

    text: str
    title: str | None
    date: dt.date | None
    date_source: str
    undated_reason: str = ""

    def dated_otherwise(self, date: dt.date | None, how: str) -> Front:
        """This front, dated `date` (found `how`) when its text gave no date: a file's own metadata."""
        return self if self.date is not None or date is None else replace(self, date=date, date_source=how)

    def article(self, name: str, path: Path | None, source: Source, content_hash: str, *,
                author: str | None = None, photo_credit: str | None = None) -> Article:
        """The `Article` of this text, title, date and provenance: every format's reader ends here."""
        return Article(id=name, path=path or Path(name), title=self.title or make_title(self.text), date=self.date,
                       text=self.text, content_hash=content_hash, photo_credit=photo_credit, source=source,
                       date_source=self.date_source, undated_reason=self.undated_reason, author=author or None)


def read_front(body: str, name: str, *, date: dt.date | None = None, date_source: str = "",
               title: str | None = None) -> Front:
    """Find the title line, the date line and the dateline at the top of `body` (already decoded).

    A date or title the caller already has (a header, a page's metadata) wins. The date line is
    removed from the text; the title line stays (it is the article's first paragraph)."""
    lines = body.split("\n")
    top = [i for i, line in enumerate(lines) if line.strip()][:TITLE_LINE_SCAN]
    date_line = None
    for n, i in enumerate(top[:3]):
        if n > 2 or any(len(lines[j].strip()) > TITLE_LINE_MAX_CHARS for j in top[:n]):
            break
        found = parse_date_line(lines[i])
        if found:
            date_line = i
            if date is None:
                date, date_source = found, f"date line {lines[i].strip()!r}"
            break
    if date_line is not None:
        del lines[date_line]
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    if not nonblank:
        return Front("", title, date, date_source)
    first = nonblank[0]
    heading = _MD_HEADING.match(lines[first])
    if title is None and (heading or _is_title_line(lines, first, nonblank, date_line)):
        # The text keeps the line as written ('# …' too): indexes built before these readers hold its offsets.
        title = shorten(heading["title"] if heading else lines[first].strip(), TITLE_LINE_MAX_CHARS)
    text = "\n".join(lines).strip()
    reason = ""
    if date is None:
        after_title = nonblank[1:3] if title else nonblank[:2]
        for i in after_title:
            line = find_dateline(lines[i].strip())
            if line:
                date, date_source, reason = resolve_dateline(line, name, text)
                break
    if date is None and (named := date_in_name(name)):
        date, date_source, reason = named, "the file name", ""
    return Front(text, title, date, date_source, reason)


def _is_title_line(lines: list[str], first: int, nonblank: list[int], date_line: int | None) -> bool:
    line = lines[first].strip()
    if len(line) > TITLE_LINE_MAX_CHARS or line[-1] in _ENDS_SENTENCE or find_dateline(line):
        return False
    if len(nonblank) < 2:
        return False
    if date_line == first + 1:  # title, then the timestamp line (which was just removed)
        return True
    nxt = lines[nonblank[1]].strip()
    if len(line) <= 100 and (nonblank[1] > first + 1 or len(nxt) >= 2 * len(line)) and nxt[-1] in _ENDS_SENTENCE:
        return True
    return False


def parse_article(raw_text: str, name: str, path: Path | None = None) -> Article:
    """Build an `Article` from decoded text. Raises `ArticleError` with the reason."""
    content_hash = hashlib.sha256(raw_text.encode("utf-8")).hexdigest()
    first, sep, rest = raw_text.partition("\n")
    date: dt.date | None = None
    credit: str | None = None
    body = raw_text
    header = _HEADER.match(first)
    if header:
        date_match = _DATE.match(header.group("rest").strip())
        if not date_match:
            raise ArticleError(
                name, f"malformed header {first.strip()!r}: expected ' date YYYY-MM-DD' on the first line"
            )
        try:
            date = dt.date.fromisoformat(_zero_pad(date_match.group("date")))
        except ValueError:
            raise ArticleError(name, f"malformed header: {date_match.group('date')!r} is not a valid date") from None
        after = date_match.group("after").strip()
        if after and _PHOTO_CREDIT.match(after):
            credit, after = after, ""
        # Text after the date belongs to the article: keep it as its first line.
        body = (after + sep + rest) if after else rest
    front = read_front(body, name, date=date, date_source="header" if date else "")
    if not front.text:
        raise ArticleError(name, "the article has a header but no text" if header else "the article has no text")
    return front.article(name, path, Source(kind="text"), content_hash, photo_credit=credit)


def _zero_pad(date: str) -> str:
    y, m, d = date.split("-")
    return f"{int(y):04d}-{int(m):02d}-{int(d):02d}"


def load_text_file(path: Path) -> Article:
    """A .txt/.md file → `Article` (the file itself is held to the article text limit)."""
    raw = read_bytes(path, MAX_ARTICLE_BYTES)
    return parse_article(decode_text(raw, path.name), path.name, path)
