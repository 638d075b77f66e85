"""Saved web pages (.html/.htm) → `Article`: main text, title, date and author by trafilatura (dates by htmldate).

Navigation, ads, related links and comments are left out by trafilatura's main-text extraction.
The page's date comes from its markup (meta tags, JSON-LD, <time>, the URL) through htmldate; when
the markup has none, the extracted text is read like a text article (date line, dateline). The URL
is the page's canonical URL, or the one a browser's "Save page as" writes into its first line
(<!-- saved from url=(0040)https://… -->), which `qa add URL` writes too.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from qa.articles.model import Article, Source, check_text_size, content_hash, read_bytes, shorten
from qa.articles.model import TITLE_LINE_MAX_CHARS
from qa.articles.text import read_front
from qa.errors import ArticleError

HTML_SUFFIXES = (".html", ".htm")
MAX_HTML_BYTES = 20 * 1024 * 1024
"""Saved pages carry inline scripts and styles: allow far more than the text limit."""

MIN_TEXT_CHARS = 20
"""Less than this is a menu entry ("Home") that the fallback extractors found, not an article."""
_SAVED_FROM = re.compile(rb"<!--\s*saved from url=\(\d+\)(?P<url>[^\s>]+)\s*-->", re.IGNORECASE)


def saved_from_url(raw: bytes) -> str | None:
    """The URL a saved page records in its first line (browsers' "mark of the web")."""
    match = _SAVED_FROM.search(raw[:4096])
    if not match:
        return None
    url = match["url"].decode("utf-8", "replace")
    return url if url.startswith(("http://", "https://")) else None


MIN_EXTRACTED_CHARS = 80
"""Below this much main text trafilatura falls back to whole-page extractors, menus included. Its default
(250 characters) is a short English article; a short Chinese one (two paragraphs, 70 characters) says
as much and was being padded with the navigation."""


@lru_cache(maxsize=1)
def _config():  # type: ignore[no-untyped-def]
    from trafilatura.settings import use_config

    config = use_config()
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", str(MIN_EXTRACTED_CHARS))
    return config


def parse_html(raw: bytes, name: str, path: Path | None = None) -> Article:
    """Build an `Article` from a saved page's bytes. Raises `ArticleError` with the reason."""
    import trafilatura

    if not raw.strip():
        raise ArticleError(name, "the file is empty")
    if b"\x00" in raw[:8192]:
        raise ArticleError(name, "the file is binary, not a web page (it contains NUL bytes)")
    if b"<" not in raw[:65536]:
        raise ArticleError(name, "this is not a web page (no HTML tags); save it as .txt if it is plain text")
    saved_url = saved_from_url(raw)
    try:
        doc = trafilatura.bare_extraction(
            raw, url=saved_url, with_metadata=True, include_comments=False, include_tables=True, config=_config(),
            # Markup only (meta tags, JSON-LD, <time>, the URL): a date merely mentioned in the text
            # is not the publication date; the text's own date line and dateline are read below.
            date_extraction_params={"original_date": True, "extensive_search": False},
        )
    except Exception as exc:  # lxml and trafilatura raise many kinds on broken markup
        raise ArticleError(name, f"the page cannot be parsed ({type(exc).__name__}: {exc}); save it again from the browser") from None
    body = (getattr(doc, "text", None) or "").strip() if doc is not None else ""
    if len("".join(body.split())) < MIN_TEXT_CHARS:
        raise ArticleError(
            name, "no article text found in the page (only navigation or scripts: it may need JavaScript to "
            "show its text); copy the article into a .txt file instead")
    title = shorten(doc.title, TITLE_LINE_MAX_CHARS) if doc.title else None
    date, date_source = None, ""
    if doc.date:
        try:
            date, date_source = dt.date.fromisoformat(doc.date[:10]), "page metadata (htmldate)"
        except ValueError:
            pass
    url = doc.url or saved_url
    front = read_front(body.replace("\r\n", "\n"), name, date=date, date_source=date_source, title=title)
    # The title is the article's first paragraph, as in every other format (it is searchable and citable).
    if front.title and not front.text.startswith(front.title):
        front = replace(front, text=f"{front.title}\n{front.text}")
    check_text_size(name, front.text)
    return front.article(name, path, Source(kind="html", url=url),
                         content_hash("html", front.title, front.date, doc.author, url, front.text), author=doc.author)


def load_html_file(path: Path) -> Article:
    return parse_html(read_bytes(path, MAX_HTML_BYTES), path.name, path)
