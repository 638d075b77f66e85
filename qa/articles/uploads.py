"""Files added from the page: a safe name inside the articles folder, the readers' own checks, an atomic write."""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from pathlib import Path

from qa.articles.exports import ExportColumns
from qa.articles.folder import ARTICLE_SUFFIXES, is_export, read_file
from qa.errors import ArticleError

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
"""Text uploads (.txt/.md) from the page: the article text limit."""
MAX_BINARY_UPLOAD_BYTES = 50 * 1024 * 1024
"""Pages, PDFs, Word files and exports weigh more than their text; each article's text is still held to 5 MB."""
UPLOAD_NAME_MAX_CHARS = 120
_UNSAFE_NAME_CHARS = re.compile(r"[^\w.\- ]+", re.UNICODE)
_TEXT_SUFFIXES = (".txt", ".md")


def safe_article_name(name: str) -> str:
    """A file name that can only land directly inside the articles folder.

    Directory parts (``../``, ``C:\\``, absolute paths) are dropped, anything but letters,
    digits (any script), ``-``, ``_``, ``.`` and spaces becomes ``_``, and the suffix must
    be one the readers know (`ARTICLE_SUFFIXES`). Raises `ArticleError` when nothing usable is left.
    """
    base = unicodedata.normalize("NFC", str(name or "")).replace("\\", "/").rsplit("/", 1)[-1]
    base = re.sub(r"\.{2,}", ".", _UNSAFE_NAME_CHARS.sub("_", base)).strip(" .")
    stem, dot, suffix = base.rpartition(".")
    if not dot or f".{suffix.lower()}" not in ARTICLE_SUFFIXES:
        raise ArticleError(str(name), f"only {', '.join(ARTICLE_SUFFIXES)} files can be added")
    stem = stem.strip(" ._")[: UPLOAD_NAME_MAX_CHARS - len(suffix) - 1]
    if not stem:
        raise ArticleError(str(name), "the file name has no usable characters; rename it (e.g. my-article.txt)")
    return f"{stem}.{suffix.lower()}"


def upload_limit(name: str) -> int:
    return MAX_UPLOAD_BYTES if Path(name).suffix.lower() in _TEXT_SUFFIXES else MAX_BINARY_UPLOAD_BYTES


def check_upload(name: str, data: bytes, columns: ExportColumns | None = None) -> None:
    """Run the format's reader on the bytes: a file that passes is a file `qa index` accepts.

    A single-article file must read; an export must yield at least one article (its bad rows are
    reported when it is indexed, like any other file's)."""
    with tempfile.TemporaryDirectory(prefix="qa-upload-") as tmp:
        probe = Path(tmp) / name
        probe.write_bytes(data)
        articles, problems = read_file(probe, columns)
    if not articles:
        reason = problems[0].reason if problems else "no article could be read from it"
        if is_export(name) and len(problems) > 1:
            reason = f"no row could be read ({len(problems)} rows; the first: {reason})"
        raise ArticleError(name, reason)


def save_upload(folder: Path, name: str, data: bytes, *, replace: bool = False,
                columns: ExportColumns | None = None) -> Path:
    """Validate an uploaded article file and write it into `folder`; returns the saved path.

    The bytes must pass the loader's own checks (the reader for its format), so a file saved
    here is a file `qa index` accepts. An existing article of the same name is replaced only
    when `replace` is true (an intended update); identical content is a no-op. The write is
    atomic (temp file + rename), so a failed upload never leaves half a file.
    """
    safe = safe_article_name(name)
    limit = upload_limit(safe)
    if len(data) > limit:
        raise ArticleError(safe, f"too large ({len(data) / 1e6:.1f} MB; uploads are limited to {limit / 1e6:.0f} MB)")
    check_upload(safe, data, columns)
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
