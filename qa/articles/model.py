"""The `Article` record every reader produces, where it came from (`Source`), and per-file problems."""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from qa.errors import ArticleError

MAX_ARTICLE_BYTES = 5 * 1024 * 1024
"""The most article text (UTF-8) one article may have: far above any news article (~100 KB); a bigger
one would take hours to embed. For .txt/.md it is also the file limit; other formats (PDF pages with
images, exports holding thousands of rows) have their own, larger file limits."""
TITLE_MAX_CHARS = 40
"""A title made from the first sentence is cut here; a title the file states is kept up to `TITLE_LINE_MAX_CHARS`."""
TITLE_LINE_MAX_CHARS = 200
READER_VERSION = 2
"""Bumped when the readers change what they make of an unchanged file: the index then reads every
file once more instead of trusting the stat of files it read with an older reader (1: header only)."""

_SENTENCE_END = re.compile(r"[。！？!?；;]|\.(?=\s|$)")


@dataclass(frozen=True)
class Source:
    """Where an article came from, for citations: the file, and inside it a row or pages; a URL."""

    kind: str = "text"
    """'text', 'html', 'pdf', 'docx', 'csv' or 'jsonl'."""
    row: int | None = None
    """Exports: the row (CSV: data rows counted from 1 after the header; JSONL: the line)."""
    url: str | None = None
    page_starts: tuple[int, ...] = ()
    """PDF: the offset in `Article.text` where each page starts (page 1 first)."""

    def page_at(self, offset: int) -> int | None:
        """The (1-based) page holding character `offset` of the article text; None if not paged."""
        if not self.page_starts:
            return None
        return max(1, bisect.bisect_right(self.page_starts, offset))

    def location(self, start: int = 0, end: int | None = None) -> str:
        """'p. 3', 'pp. 3–4', 'row 12' or '' — the part of a citation that says where inside the file."""
        if self.row is not None:
            return f"row {self.row}"
        first = self.page_at(start)
        if first is None:
            return ""
        last = self.page_at(max(start, (end if end is not None else start) - 1)) or first
        return f"p. {first}" if last == first else f"pp. {first}–{last}"


@dataclass(frozen=True)
class Article:
    id: str
    """Stable id: the file name (an export's rows: `name.csv#<row>`)."""
    path: Path
    title: str
    date: dt.date | None
    text: str
    content_hash: str
    """sha256 of what the article is (text files: the decoded file, header included): any change re-indexes it."""
    photo_credit: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    source: Source = field(default_factory=Source)
    date_source: str = ""
    """How the date was found ('header', 'date line', 'dateline 1月22日, year from …', 'page metadata', …)."""
    undated_reason: str = ""
    """Why an article has no date, when something date-like was seen but could not be used."""
    author: str | None = None

    @property
    def date_str(self) -> str:
        return self.date.isoformat() if self.date else ""

    @property
    def version_key(self) -> str:
        """What the readers derived that changes the indexed chunks but not `content_hash`: a text
        file's date found beyond the header (its date line is also cut from the text). Empty for what
        the header-only reading gave, so indexes built before these readers are not re-embedded."""
        if self.source.kind == "text" and self.date and self.date_source != "header":
            return f"{self.date_str}|{self.date_source}"
        return ""

    def location(self, start: int = 0, end: int | None = None) -> str:
        """Where characters [start, end) of the text are in the source ('p. 3', 'row 12', or '')."""
        return self.source.location(start, end)


@dataclass(frozen=True)
class ArticleProblem:
    path: Path
    reason: str
    article_id: str | None = None
    """The article this problem is about, when it is one row of a file holding many (else the file)."""

    @property
    def id(self) -> str:
        return self.article_id or self.path.name

    def __str__(self) -> str:
        return f"{self.path.name}: {self.reason}"


@dataclass
class LoadResult:
    articles: list[Article]
    problems: list[ArticleProblem]
    duplicates: list[ArticleProblem] = field(default_factory=list)
    """Files whose text is identical to an earlier (by name) article: indexed once, under that name."""

    @property
    def undated(self) -> list[Article]:
        return [a for a in self.articles if a.date is None]


def make_title(text: str) -> str:
    """The first sentence, shortened to `TITLE_MAX_CHARS` characters."""
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    first_line = first_line.lstrip("—–-\"“「 ")
    match = _SENTENCE_END.search(first_line)
    sentence = first_line[: match.start()] if match else first_line
    return shorten(sentence, TITLE_MAX_CHARS)


def shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def check_text_size(name: str, text: str) -> None:
    """The size limit applies to the article's text, whatever the file around it weighs."""
    size = len(text.encode("utf-8"))
    if size > MAX_ARTICLE_BYTES:
        raise ArticleError(
            name, f"too large ({size / 1e6:.1f} MB of text; the limit is {MAX_ARTICLE_BYTES / 1e6:.0f} MB per article)"
        )


def check_file_size(path: Path, limit: int, what: str = "") -> int:
    """The file's size, or `ArticleError` if it is over `limit` bytes (checked before reading it)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ArticleError(path.name, "the file disappeared while it was being read") from None
    except OSError as exc:
        raise ArticleError(path.name, f"cannot be read ({exc.strerror or exc})") from None
    if size > limit:
        raise ArticleError(path.name, f"too large ({size / 1e6:.1f} MB; the limit is {limit / 1e6:.0f} MB{what})")
    return size


def read_bytes(path: Path, limit: int, what: str = "") -> bytes:
    check_file_size(path, limit, what)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ArticleError(path.name, "the file disappeared while it was being read") from None
    except OSError as exc:
        raise ArticleError(path.name, f"cannot be read ({exc.strerror or exc})") from None


def content_hash(*parts: object) -> str:
    """A stable hash of an article's fields: the same text, title, date and source give the same article."""
    h = hashlib.sha256()
    for part in parts:
        h.update(str("" if part is None else part).encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()
