"""News-database exports (.csv/.tsv, .jsonl) → one `Article` per row, with title/date/text/url columns.

Column names are detected from common ones (text, body, content, 正文…; title, headline, 标题…;
date, published_at, 发布时间…; url, link…; author, byline…), or the longest column is the text;
`ExportColumns` (from the settings) names them when the defaults guess wrong. JSONL keys may be
dotted paths into nested objects (meta.published). A row is `name.csv#<row>`, cited as "row N"
(CSV: data rows counted from 1 after the header; JSONL: the line). A row without text, or a line
that is not JSON, is reported by row and the other rows are kept; a date that cannot be read leaves
its row undated, with the reason.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.articles.dates import parse_date_line
from qa.articles.model import (
    MAX_ARTICLE_BYTES,
    TITLE_LINE_MAX_CHARS,
    Article,
    ArticleProblem,
    Source,
    check_text_size,
    content_hash,
    make_title,
    read_bytes,
    shorten,
)
from qa.articles.text import decode_text
from qa.errors import ArticleError

CSV_SUFFIXES = (".csv", ".tsv")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
EXPORT_SUFFIXES = CSV_SUFFIXES + JSONL_SUFFIXES
MAX_EXPORT_BYTES = 512 * 1024 * 1024
"""An export holds many articles; each row's text is held to the article limit."""

_CANDIDATES = {
    "text": ("text", "body", "content", "article", "fulltext", "articletext", "articlebody", "maintext", "story",
             "正文", "内容", "全文", "文章", "新闻内容", "текст"),
    "title": ("title", "headline", "heading", "header", "subject", "标题", "题目", "題目", "新闻标题", "заголовок"),
    "date": ("date", "published", "publishedat", "publishdate", "publisheddate", "pubdate", "publicationdate",
             "datepublished", "datetime", "time", "timestamp", "created", "createdat", "日期", "时间",
             "发布时间", "发布日期", "дата"),
    "url": ("url", "link", "href", "sourceurl", "permalink", "articleurl", "网址", "链接", "ссылка"),
    "author": ("author", "authors", "byline", "creator", "作者", "记者", "автор"),
}
_FIELDS = tuple(_CANDIDATES)
_SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class ExportColumns:
    """Which column holds what; None = detect it. Set from QA_EXPORT_TEXT_COLUMN and friends."""

    text: str | None = None
    title: str | None = None
    date: str | None = None
    url: str | None = None
    author: str | None = None

    @classmethod
    def from_settings(cls, settings: object | None) -> ExportColumns:
        """The columns named by QA_EXPORT_<FIELD>_COLUMN (`Settings.export_<field>_column`)."""
        return cls(**{f: getattr(settings, f"export_{f}_column", None) or None for f in _FIELDS})


@dataclass
class ExportRead:
    articles: list[Article]
    problems: list[ArticleProblem]
    columns: dict[str, str]
    """The column used for each field (text, title, date, url, author) that the file has."""


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-.:：]+", "", name.strip().casefold())


def choose_columns(names: list[str], rows: list[dict[str, Any]], wanted: ExportColumns, file: str) -> dict[str, str]:
    """Map fields to column names: the configured ones (which must exist), else known names, else the
    longest column as the text."""
    by_norm = {_norm(n): n for n in reversed(names)}
    # A nested key (meta.published) answers to its last part when no top-level column has the name.
    for n in reversed(names):
        if "." in n:
            by_norm.setdefault(_norm(n.rsplit(".", 1)[1]), n)
    chosen: dict[str, str] = {}
    for fld in _FIELDS:
        configured = getattr(wanted, fld)
        if configured:
            if configured not in names and _norm(configured) not in by_norm:
                raise ArticleError(file, f"has no column {configured!r} (QA_EXPORT_{fld.upper()}_COLUMN); "
                                   f"its columns are: {', '.join(names) or 'none'}")
            chosen[fld] = configured if configured in names else by_norm[_norm(configured)]
            continue
        found = next((by_norm[c] for c in map(_norm, _CANDIDATES[fld]) if c in by_norm), None)
        if found and found not in chosen.values():
            chosen[fld] = found
    if "text" not in chosen:
        free = [n for n in names if n not in chosen.values()]
        lengths = {n: sum(len(str(_lookup(r, n) or "")) for r in rows[:50]) for n in free}
        if lengths and max(lengths.values()) > 0:
            chosen["text"] = max(lengths, key=lambda n: lengths[n])
        else:
            raise ArticleError(file, f"no text column found (columns: {', '.join(names) or 'none'}); "
                               "name it with QA_EXPORT_TEXT_COLUMN")
    return chosen


def _lookup(row: dict[str, Any], column: str) -> Any:
    if column in row:
        return row[column]
    value: Any = row
    for part in column.split("."):  # a dotted path into a nested JSON object
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def parse_value_date(value: Any) -> dt.date | None:
    """A date cell: ISO date or datetime, the numeric and month-name forms of date lines, or epoch seconds/ms."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(int(value))
    text = str(value).strip()
    if not text:
        return None
    if text.isdigit() and len(text) in (10, 13):
        seconds = int(text) / (1000 if len(text) == 13 else 1)
        return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc).date()
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        return parse_date_line(text)


def _rows_csv(text: str, suffix: str) -> tuple[list[str], Iterator[tuple[int, dict[str, Any] | str]]]:
    sample = text[:_SNIFF_BYTES]
    if suffix == ".tsv":
        dialect: Any = csv.excel_tab
    else:
        try:
            dialect = csv.Sniffer().sniff(sample.split("\n", 1)[0] + "\n", delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel
    csv.field_size_limit(max(csv.field_size_limit(), MAX_ARTICLE_BYTES * 2))
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = [h.strip() for h in next(reader)]
    except (StopIteration, csv.Error):
        header = []
    names = [h or f"column {i + 1}" for i, h in enumerate(header)]

    def rows() -> Iterator[tuple[int, dict[str, Any] | str]]:
        n = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                n += 1
                yield n, f"the row cannot be read as CSV ({exc})"
                continue
            if not any(c.strip() for c in cells):
                continue  # a blank line between rows is not a row
            n += 1
            if len(cells) > len(names):
                yield n, f"the row has {len(cells)} fields but the header has {len(names)} (an unquoted delimiter?)"
                continue
            yield n, dict(zip(names, cells))

    return names, rows()


def _rows_jsonl(text: str) -> tuple[list[str], Iterator[tuple[int, dict[str, Any] | str]]]:
    lines = text.split("\n")
    names: list[str] = []
    for line in lines[:50]:
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            names += [k for k in _flat_keys(obj) if k not in names]

    def rows() -> Iterator[tuple[int, dict[str, Any] | str]]:
        for n, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as exc:
                yield n, f"not valid JSON ({exc})"
                continue
            yield (n, obj) if isinstance(obj, dict) else (n, f"not a JSON object (a {type(obj).__name__})")

    return names, rows()


def _flat_keys(obj: dict[str, Any], prefix: str = "") -> list[str]:
    keys = []
    for key, value in obj.items():
        keys.append(prefix + key)
        if isinstance(value, dict):
            keys += _flat_keys(value, prefix + key + ".")
    return keys


def parse_export(raw: bytes, name: str, path: Path | None = None, columns: ExportColumns | None = None) -> ExportRead:
    """Every row of an export. Raises `ArticleError` only when the file as a whole cannot be read."""
    suffix = Path(name).suffix.lower()
    kind = "jsonl" if suffix in JSONL_SUFFIXES else "csv"
    text = decode_text(raw, name)
    names, rows = _rows_jsonl(text) if kind == "jsonl" else _rows_csv(text, suffix)
    pending = list(rows)
    sample = [r for _, r in pending if isinstance(r, dict)]
    if not sample and not pending:
        raise ArticleError(name, "the export has a header but no rows" if names else "the export has no rows")
    chosen = choose_columns(names, sample, columns or ExportColumns(), name)
    file_path = path or Path(name)
    articles: list[Article] = []
    problems: list[ArticleProblem] = []
    for n, row in pending:
        rid = f"{name}#{n}"
        where = f"{'line' if kind == 'jsonl' else 'row'} {n}"
        if isinstance(row, str):
            problems.append(ArticleProblem(file_path, f"{where}: {row}", rid))
            continue
        try:
            articles.append(_row_article(row, n, rid, where, chosen, kind, file_path))
        except ArticleError as exc:
            problems.append(ArticleProblem(file_path, f"{where}: {exc.reason}", rid))
    return ExportRead(articles, problems, chosen)


def _row_article(row: dict[str, Any], n: int, rid: str, where: str, chosen: dict[str, str], kind: str,
                 path: Path) -> Article:
    def cell(fld: str) -> str:
        value = _lookup(row, chosen[fld]) if fld in chosen else None
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        return str(value).replace("\r\n", "\n").replace("\r", "\n").strip() if value is not None else ""

    body = cell("text")
    if not body:
        raise ArticleError(rid, f"no text (the {chosen['text']!r} column is empty)")
    title = shorten(cell("title"), TITLE_LINE_MAX_CHARS) or None
    text = body if not title or body.startswith(title) else f"{title}\n{body}"
    check_text_size(rid, text)
    raw_date = cell("date")
    date = parse_value_date(raw_date) if raw_date else None
    reason = f"{where}: the date {raw_date!r} is not understood" if raw_date and date is None else ""
    url = cell("url") or None
    author = cell("author") or None
    return Article(
        id=rid,
        path=path,
        title=title or make_title(text),
        date=date,
        text=text,
        content_hash=content_hash("row", title, date, author, url, text),
        source=Source(kind=kind, row=n, url=url),
        date_source=f"the {chosen['date']!r} column" if date else "",
        undated_reason=reason,
        author=author,
    )


def load_export_file(path: Path, columns: ExportColumns | None = None) -> ExportRead:
    return parse_export(read_bytes(path, MAX_EXPORT_BYTES), path.name, path, columns)
