"""Fetching a web page (or a PDF) by URL and saving it as an article file in the folder: `qa add URL…`."""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from qa.articles.html import MAX_HTML_BYTES
from qa.articles.uploads import check_upload, safe_article_name, save_upload
from qa.errors import ArticleError

FETCH_TIMEOUT_S = 20.0
USER_AGENT = "article-qa/0.1 (+https://pypi.org/project/article-qa/; saving one article for offline questions)"
_KINDS = {"text/html": ".html", "application/xhtml+xml": ".html", "application/pdf": ".pdf", "text/plain": ".txt"}


@dataclass(frozen=True)
class Fetched:
    url: str
    path: Path
    status: str
    """'added', 'updated' or 'unchanged'."""


def name_for(url: str, suffix: str) -> str:
    """A file name from the URL: host and last path part (news.example.com-2015-berlin-deal.html)."""
    parts = urllib.parse.urlsplit(url)
    tail = [p for p in parts.path.split("/") if p]
    last = re.sub(r"\.(s?html?|php|aspx?|jsp|pdf|txt)$", "", tail[-1], flags=re.IGNORECASE) if tail else "index"
    if parts.query and not tail:
        last = parts.query
    stem = re.sub(r"[^\w.-]+", "-", f"{parts.hostname or 'page'}-{urllib.parse.unquote(last)}").strip("-.")
    return safe_article_name(stem[:100] + suffix)


def fetch(url: str, *, timeout: float = FETCH_TIMEOUT_S, limit: int = MAX_HTML_BYTES) -> tuple[bytes, str, str]:
    """(body, suffix for its type, final URL after redirects). Raises `ArticleError` with the reason."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise ArticleError(url, "only http:// and https:// addresses can be added")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "text/html,application/pdf;q=0.9,*/*;q=0.1"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (scheme checked above)
            kind = (response.headers.get_content_type() or "").lower()
            suffix = _KINDS.get(kind)
            if suffix is None:
                raise ArticleError(url, f"the address serves {kind or 'an unknown type'}, not a web page, PDF or text")
            body = response.read(limit + 1)
            final = response.geturl() or url
    except urllib.error.HTTPError as exc:
        raise ArticleError(url, f"the server answered {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise ArticleError(url, f"cannot fetch it ({exc.reason}); check the address and the connection") from None
    except (TimeoutError, OSError) as exc:
        raise ArticleError(url, f"cannot fetch it ({exc}); check the address and the connection") from None
    if len(body) > limit:
        raise ArticleError(url, f"the page is larger than {limit / 1e6:.0f} MB")
    return body, suffix, final


def add_url(folder: Path, url: str, *, timeout: float = FETCH_TIMEOUT_S) -> Fetched:
    """Fetch `url` and save it into `folder` as an article file the readers accept; a page fetched
    again replaces its earlier copy. A saved page keeps its address in its first line (as browsers'
    "Save page as" does), so citations can show it."""
    body, suffix, final = fetch(url, timeout=timeout)
    if suffix == ".html":
        body = f"<!-- saved from url=({len(final):04d}){final} -->\n".encode() + body
    name = name_for(final, suffix)
    check_upload(name, body)
    target = folder / name
    before = target.read_bytes() if target.is_file() else None
    path = save_upload(folder, name, body, replace=True)
    status = "added" if before is None else ("unchanged" if before == body else "updated")
    return Fetched(final, path, status)
