"""Article records: what the store knows about each article (the commit point), and reading them once per write."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from qa.articles import READER_VERSION, Article, Source
from qa.settings import Settings
from qa.store.manifest import SCHEMA_VERSION

@dataclass(frozen=True)
class ArticleRecord:
    """What the index knows about one article (enough to cite it without the file)."""

    id: str
    title: str
    date: str
    version: str
    content_hash: str
    path: str
    n_chunks: int
    n_sentences: int
    photo_credit: str = ""
    quotes_extractor: int = 0
    """The quote extractor whose quotes were written with this version (0: unknown, an older index)."""
    file_stat: str = ""
    """The file's size, mtime, ctime and inode when it was read for this version ("" if unknown)."""
    source_kind: str = ""
    """The reader it came through ('text', 'html', 'pdf', 'docx', 'csv', 'jsonl'; "" from an older index: text)."""
    row: int = 0
    """Exports: the row (0: not a row)."""
    url: str = ""
    page_starts: str = ""
    """PDF: where each page starts in the text, comma-separated."""
    date_source: str = ""
    """How the date was found, or (undated) why there is none."""
    author: str = ""
    reader: int = 0
    """The `READER_VERSION` that read this version (0: before the format readers)."""

    @property
    def date_int(self) -> int:
        return date_to_int(self.date)

    @property
    def source(self) -> Source:
        starts = tuple(int(s) for s in self.page_starts.split(",") if s.strip().isdigit())
        return Source(kind=self.source_kind or "text", row=self.row or None, url=self.url or None, page_starts=starts)

    def location(self, start: int = 0, end: int | None = None) -> str:
        """Where characters [start, end) of the article are in its file: 'p. 3', 'row 12' or ''."""
        return self.source.location(start, end)


def source_fields(article: Article) -> dict[str, Any]:
    """The record metadata saying where an article came from and how it was dated (see `ArticleRecord`)."""
    src = article.source
    return {"source_kind": src.kind, "row": src.row or 0, "url": src.url or "",
            "page_starts": ",".join(map(str, src.page_starts)),
            "date_source": article.date_source or (f"undated: {article.undated_reason}" if article.undated_reason else ""),
            "author": article.author or "", "reader": READER_VERSION}


def date_to_int(date: str | dt.date | None) -> int:
    """YYYYMMDD as an int, 0 for unknown: Chroma filters compare numbers, not strings."""
    if not date:
        return 0
    text = date.isoformat() if isinstance(date, dt.date) else date
    return int(text.replace("-", ""))


def article_version(article: Article, settings: Settings, model_id: str) -> str:
    """Changes whenever the article's chunks or vectors would change."""
    key = f"{SCHEMA_VERSION}|{article.content_hash}|{settings.chunk_size}|{settings.chunk_overlap}|{model_id}"
    if article.version_key:  # e.g. a text file's date found by the format readers (it was undated before)
        key += f"|{article.version_key}"
    return hashlib.sha1(key.encode()).hexdigest()[:12]


def record_from(rid: str, meta: dict[str, Any]) -> ArticleRecord:
    """An `ArticleRecord` from its stored metadata."""
    return ArticleRecord(
        id=rid,
        title=str(meta.get("title", "")),
        date=str(meta.get("date", "")),
        version=str(meta.get("version", "")),
        content_hash=str(meta.get("content_hash", "")),
        path=str(meta.get("path", "")),
        n_chunks=int(meta.get("n_chunks", 0)),
        n_sentences=int(meta.get("n_sentences", 0)),
        photo_credit=str(meta.get("photo_credit", "")),
        quotes_extractor=int(meta.get("quotes_extractor", 0)),
        file_stat=str(meta.get("file_stat", "")),
        source_kind=str(meta.get("source_kind", "")),
        row=int(meta.get("row", 0) or 0),
        url=str(meta.get("url", "")),
        page_starts=str(meta.get("page_starts", "")),
        date_source=str(meta.get("date_source", "")),
        author=str(meta.get("author", "")),
        reader=int(meta.get("reader", 0) or 0),
    )


class RecordSource(Protocol):
    """What reads records (the store, `qa.store.store.ArticleIndex`)."""

    def stored_generation(self) -> str: ...

    def records(self, ids: Sequence[str] | None = None) -> dict[str, ArticleRecord]: ...


class RecordsAt:
    """Every article record with the committed-write stamp read just before them, read once on first
    use: `qa index` hands one to both derived files, which otherwise read all records each (~1.5 s
    per 6k articles)."""

    def __init__(self, index: RecordSource) -> None:
        self.index = index
        self._got: tuple[str, dict[str, ArticleRecord]] | None = None

    def __call__(self) -> tuple[str, dict[str, ArticleRecord]]:
        if self._got is None:
            generation = self.index.stored_generation()
            self._got = (generation, self.index.records())
        return self._got


def records_at(index: RecordSource, given: RecordsAt | None, generation: str) -> dict[str, ArticleRecord]:
    """The records `given` holds if they were read at `generation` (the one a derived file is keyed
    by: nothing was committed between), else read now."""
    if given is not None:
        read_at, records = given()
        if read_at == generation:
            return records
    return index.records()
