"""Article files → `Article` records.

An article file is UTF-8 (or GB18030) text. Its first line may be a header::

     date 2026-02-07 Фото: Akorda
     date 2025-11-15 托卡耶夫总统首先向……

The date is parsed, a photo credit is kept as metadata, and any other text after the date
is the first line of the article. `Article.text` is the body (header removed); every
offset elsewhere in the package points into it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from qa.errors import ArticleError

ARTICLE_SUFFIXES = (".txt", ".md")
MAX_ARTICLE_BYTES = 5 * 1024 * 1024
"""Far above any news article (~100 KB); a bigger file would take hours to embed. Same as uploads."""
TITLE_MAX_CHARS = 40

_HEADER = re.compile(r"^\s*date\b[ \t:：]*(?P<rest>.*)$", re.IGNORECASE)
_DATE = re.compile(r"^(?P<date>\d{4}-\d{1,2}-\d{1,2})(?=\s|$)(?P<after>.*)$")
# "Фото: Akorda", "Photo: Reuters", "图片：新华社", "摄影：…" — a credit, not article text.
_PHOTO_CREDIT = re.compile(r"^\s*(фото|photo|foto|图片|图|照片|摄影|摄)\s*[:：]", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[。！？!?；;]|\.(?=\s|$)")


@dataclass(frozen=True)
class Article:
    id: str
    """Stable id: the file name."""
    path: Path
    title: str
    date: dt.date | None
    text: str
    content_hash: str
    """sha256 of the decoded file, header included: any change re-indexes the article."""
    photo_credit: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def date_str(self) -> str:
        return self.date.isoformat() if self.date else ""


@dataclass(frozen=True)
class ArticleProblem:
    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path.name}: {self.reason}"


@dataclass
class LoadResult:
    articles: list[Article]
    problems: list[ArticleProblem]
    duplicates: list[ArticleProblem] = field(default_factory=list)
    """Files whose text is identical to an earlier (by name) article: indexed once, under that name."""


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
    text = body.strip()
    if not text:
        raise ArticleError(name, "the article has a header but no text")
    return Article(
        id=name,
        path=path or Path(name),
        title=make_title(text),
        date=date,
        text=text,
        content_hash=content_hash,
        photo_credit=credit,
    )


def _zero_pad(date: str) -> str:
    y, m, d = date.split("-")
    return f"{int(y):04d}-{int(m):02d}-{int(d):02d}"


def make_title(text: str) -> str:
    """The first sentence, shortened to `TITLE_MAX_CHARS` characters."""
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    first_line = first_line.lstrip("—–-\"“「 ")
    match = _SENTENCE_END.search(first_line)
    sentence = first_line[: match.start()] if match else first_line
    if len(sentence) > TITLE_MAX_CHARS:
        sentence = sentence[: TITLE_MAX_CHARS - 1].rstrip() + "…"
    return sentence


def load_article(path: Path) -> Article:
    try:
        size = path.stat().st_size
        if size > MAX_ARTICLE_BYTES:
            raise ArticleError(path.name, f"too large ({size / 1e6:.1f} MB; the limit is {MAX_ARTICLE_BYTES / 1e6:.0f} MB)")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ArticleError(path.name, "the file disappeared while it was being read") from None
    except OSError as exc:
        raise ArticleError(path.name, f"cannot be read ({exc.strerror or exc})") from None
    return parse_article(decode_text(raw, path.name), path.name, path)


def article_paths(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in ARTICLE_SUFFIXES and not p.name.startswith(".")
    )


def load_articles(folder: Path, read: Callable[[Path], Article] | None = None) -> LoadResult:
    """Load every article in `folder`; a bad file is reported and skipped, never indexed wrong.

    `read`: how one file becomes an `Article` (default `load_article`; the index passes one that
    skips files unchanged since they were indexed)."""
    read = read or load_article
    if not folder.is_dir():
        raise ArticleError(str(folder), "the articles folder does not exist (set QA_ARTICLES_DIR or --articles)")
    articles: list[Article] = []
    problems: list[ArticleProblem] = []
    duplicates: list[ArticleProblem] = []
    first_with: dict[str, str] = {}
    for path in article_paths(folder):
        try:
            article = read(path)
        except ArticleError as exc:
            problems.append(ArticleProblem(path, exc.reason))
            continue
        # A copy would fill the top results with the same passage twice; index it once and say so.
        original = first_with.setdefault(article.content_hash, article.id)
        if original != article.id:
            duplicates.append(ArticleProblem(path, f"same text as {original}; indexed once, under {original}"))
            continue
        articles.append(article)
    return LoadResult(articles, problems, duplicates)


MAX_UPLOAD_BYTES = 5 * 1024 * 1024
"""Uploads from the page are capped lower than files placed in the folder by hand."""
UPLOAD_NAME_MAX_CHARS = 120
_UNSAFE_NAME_CHARS = re.compile(r"[^\w.\- ]+", re.UNICODE)


def safe_article_name(name: str) -> str:
    """A file name that can only land directly inside the articles folder.

    Directory parts (``../``, ``C:\\``, absolute paths) are dropped, anything but letters,
    digits (any script), ``-``, ``_``, ``.`` and spaces becomes ``_``, and the suffix must
    be .txt or .md. Raises `ArticleError` when nothing usable is left.
    """
    base = unicodedata.normalize("NFC", str(name or "")).replace("\\", "/").rsplit("/", 1)[-1]
    base = re.sub(r"\.{2,}", ".", _UNSAFE_NAME_CHARS.sub("_", base)).strip(" .")
    stem, dot, suffix = base.rpartition(".")
    if not dot or f".{suffix.lower()}" not in ARTICLE_SUFFIXES:
        raise ArticleError(str(name), "only .txt and .md files can be added")
    stem = stem.strip(" ._")[: UPLOAD_NAME_MAX_CHARS - len(suffix) - 1]
    if not stem:
        raise ArticleError(str(name), "the file name has no usable characters; rename it (e.g. my-article.txt)")
    return f"{stem}.{suffix.lower()}"


def save_upload(folder: Path, name: str, data: bytes, *, replace: bool = False) -> Path:
    """Validate an uploaded article and write it into `folder`; returns the saved path.

    The bytes must pass the loader's own checks (`decode_text`, `parse_article`), so a file
    saved here is a file `qa index` accepts. An existing article of the same name is
    replaced only when `replace` is true (an intended update); identical content is a no-op.
    The write is atomic (temp file + rename), so a failed upload never leaves half a file.
    """
    safe = safe_article_name(name)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ArticleError(safe, f"too large ({len(data) / 1e6:.1f} MB; uploads are limited to {MAX_UPLOAD_BYTES / 1e6:.0f} MB)")
    parse_article(decode_text(data, safe), safe)
    root = folder.resolve()
    if not root.is_dir():
        raise ArticleError(str(folder), "the articles folder does not exist (set QA_ARTICLES_DIR or --articles)")
    target = root / safe
    if target.resolve().parent != root:  # a symlink planted in the folder must not redirect the write
        raise ArticleError(safe, "refusing to write through a link that points outside the articles folder")
    if target.exists():
        if target.read_bytes() == data:
            return target
        if not replace:
            raise ArticleError(safe, "an article with this name already exists; tick 'replace existing' to update it, or rename the file")
    tmp = root / f".{safe}.{os.getpid()}.upload"
    try:
        tmp.write_bytes(data)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
