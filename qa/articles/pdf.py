"""PDF articles → `Article` with pypdf: text in reading order, lines rejoined into paragraphs, pages kept.

pypdf returns each page's text in the order the page draws it (reading order for what word
processors and publishing tools write) with a line break at every wrapped line; since every line
break ends a sentence downstream, wrapped lines are joined back into paragraphs. Running headers,
footers and page numbers repeated on the pages are dropped. `Source.page_starts` records where each
page begins in the text, so a citation can say "p. 3".
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
from collections import Counter
from pathlib import Path

from qa.articles.model import TITLE_LINE_MAX_CHARS, Article, Source, check_text_size, content_hash
from qa.articles.model import read_bytes, shorten
from qa.articles.text import read_front
from qa.errors import ArticleError

PDF_SUFFIXES = (".pdf",)
MAX_PDF_BYTES = 100 * 1024 * 1024
"""Scanned pages and photos make PDFs heavy; the text limit still applies to what is extracted."""

_PAGE_NUMBER = re.compile(r"^\W*(?:(?:page|p\.|seite|стр\.?)\s*)?\d{1,4}(?:\s*(?:/|of|von|из)\s*\d{1,4})?\W*$|^第\s*\d{1,4}\s*页(?:\s*共\s*\d+\s*页)?$", re.IGNORECASE)
_CJK = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
_JUNK_TITLES = re.compile(r"^(untitled|microsoft word\b|document\d*$|doc\d*$|.*\.(docx?|pdf|indd|tex)$)", re.IGNORECASE)


def parse_pdf(raw: bytes, name: str, path: Path | None = None) -> Article:
    """Build an `Article` from PDF bytes. Raises `ArticleError` with the reason."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings about damage become our one reason
    if not raw.strip():
        raise ArticleError(name, "the file is empty")
    if not raw.lstrip()[:5] == b"%PDF-":
        raise ArticleError(name, "this is not a PDF file (it does not start with %PDF-)")
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ArticleError(name, "the PDF is password-protected (encrypted); save an unprotected copy and add that")
        pages = [_page_text(page) for page in reader.pages]
        meta = reader.metadata or {}
        meta_title = str(meta.get("/Title") or "").strip()
        meta_author = str(meta.get("/Author") or "").strip()
        created = getattr(reader.metadata, "creation_date", None) if reader.metadata else None
    except ArticleError:
        raise
    except (FileNotDecryptedError, DependencyError):
        raise ArticleError(name, "the PDF is password-protected (encrypted); save an unprotected copy and add that") from None
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as exc:
        raise ArticleError(name, f"the PDF is damaged and cannot be read ({type(exc).__name__}: {exc}); "
                           "open it and save or print it to PDF again") from None
    if not any(p.strip() for p in pages):
        images = sum(_has_images(page) for page in reader.pages)
        if images:
            raise ArticleError(name, f"the PDF has no text layer ({images} of {len(pages)} page(s) are images: "
                               "a scan); run OCR on it first (e.g. ocrmypdf) and add the result")
        raise ArticleError(name, "the PDF contains no text")
    text, starts = _assemble(_drop_running_lines([p.split("\n") for p in pages]))
    title = meta_title if meta_title and not _JUNK_TITLES.match(meta_title) else None
    front = read_front(text, name, title=shorten(title, TITLE_LINE_MAX_CHARS) if title else None)
    starts = _shift_starts(text, front.text, starts)
    if isinstance(created, dt.datetime):
        front = front.dated_otherwise(created.date(), "PDF creation date (no date in the text)")
    check_text_size(name, front.text)
    return front.article(name, path, Source(kind="pdf", page_starts=starts),
                         content_hash("pdf", front.title, front.date, meta_author, starts, front.text), author=meta_author)


def _shift_starts(before: str, after: str, starts: tuple[int, ...]) -> tuple[int, ...]:
    """Page starts in `after`, the text with its date line removed from the top."""
    removed = len(before) - len(after)
    out = [0]
    for s in starts[1:]:
        moved = max(0, s - removed)
        probe = before[s : s + 40]
        if after[moved : moved + len(probe)] != probe:  # the removed line was not above this page
            found = after.find(probe, max(0, moved - 200)) if probe else -1
            moved = found if found >= 0 else min(s, len(after))
        out.append(moved)
    return tuple(out)


def _page_text(page) -> str:  # type: ignore[no-untyped-def]
    text = page.extract_text() or ""
    # Some producers' font maps yield NULs or other control characters between letters.
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _has_images(page) -> bool:  # type: ignore[no-untyped-def]
    try:
        return bool(page.images)
    except Exception:  # an unreadable image stream still means an image is there
        return True


def _drop_running_lines(pages: list[list[str]]) -> list[list[str]]:
    """Remove page numbers, and headers/footers that repeat at the top or bottom of most pages."""
    pages = [[line.strip() for line in lines if line.strip()] for lines in pages]
    repeated: set[str] = set()
    if len(pages) >= 2:
        # On every page of a short document, on most pages of a long one.
        edges = Counter(line for lines in pages for line in {*lines[:2], *lines[-2:]})
        need = len(pages) if len(pages) < 4 else len(pages) // 2 + 1
        repeated = {line for line, n in edges.items() if n >= need}
    out = []
    for lines in pages:
        keep = [line for line in lines if line not in repeated]
        while keep and _PAGE_NUMBER.match(keep[-1]):
            keep.pop()
        while keep and _PAGE_NUMBER.match(keep[0]):
            keep.pop(0)
        out.append(keep)
    return out


def _assemble(pages: list[list[str]]) -> tuple[str, tuple[int, ...]]:
    """Join wrapped lines into paragraphs; returns the text and where each page starts in it.

    A line shorter than most full lines ends its paragraph (a heading, a date, a paragraph's last
    line); a full-width line continues on the next, across a page break too."""
    lengths = sorted(len(line) for lines in pages for line in lines)
    width = lengths[int(len(lengths) * 0.9)] if lengths else 0
    text = ""
    starts = []
    for lines in pages:
        if text and not text.endswith("\n"):
            text += "" if _CJK.search(text[-1]) else " "
        starts.append(len(text))
        for line in lines:
            text = _join(text, line)
            if len(line) < 0.8 * width:
                text += "\n"
    return text.strip(), tuple(starts)


def _join(text: str, line: str) -> str:
    if not text or text.endswith("\n"):
        return text + line
    if text.endswith(" "):
        return text + line
    if text[-1] == "-" and len(text) > 1 and text[-2].islower() and line[:1].islower():
        return text[:-1] + line  # "eco-" + "nomy"
    if _CJK.search(text[-1]) or _CJK.search(line[0]):
        return text + line
    return text + " " + line


def load_pdf_file(path: Path) -> Article:
    return parse_pdf(read_bytes(path, MAX_PDF_BYTES), path.name, path)
