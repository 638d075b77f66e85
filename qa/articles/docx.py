"""Word documents (.docx) → `Article` with python-docx: paragraphs and tables in document order.

The title is the document's Title/Heading paragraph or its core title property, else the first
line as in text articles; the date is the text's date line or dateline, else the document's
`created` property (labelled so). Old binary .doc files are refused with what to do.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

from qa.articles.model import TITLE_LINE_MAX_CHARS, Article, Source, check_text_size, content_hash
from qa.articles.model import read_bytes, shorten
from qa.articles.text import read_front
from qa.errors import ArticleError

DOCX_SUFFIXES = (".docx", ".doc")
MAX_DOCX_BYTES = 100 * 1024 * 1024
_TITLE_STYLES = ("title", "heading 1", "heading1", "标题", "标题 1")
_TEMPLATE_CREATED = dt.datetime(2013, 12, 23, 23, 15)
"""python-docx's template's `created`: a document that never set its own says nothing about its date."""
_DEFAULT_AUTHORS = {"python-docx", "administrator", "user", "admin"}


def parse_docx(raw: bytes, name: str, path: Path | None = None) -> Article:
    """Build an `Article` from .docx bytes. Raises `ArticleError` with the reason."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    if not raw.strip():
        raise ArticleError(name, "the file is empty")
    if name.lower().endswith(".doc") or raw[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ArticleError(name, "old Word .doc files cannot be read; open it in Word (or LibreOffice) and save it as .docx")
    try:
        document = docx.Document(io.BytesIO(raw))
        paragraphs = list(_blocks(document))
        props = document.core_properties
        prop_title, author, created = (props.title or "").strip(), (props.author or "").strip(), props.created
    except (zipfile.BadZipFile, PackageNotFoundError, KeyError, ValueError) as exc:
        raise ArticleError(name, f"this is not a readable .docx file ({type(exc).__name__}: {exc}); open it in Word and save it again") from None
    except Exception as exc:  # lxml's XMLSyntaxError and friends: a damaged document part
        raise ArticleError(name, f"the .docx file is damaged ({type(exc).__name__}: {exc}); open it in Word and save it again") from None
    text = "\n".join(p for _, p in paragraphs if p.strip())
    if not text.strip():
        raise ArticleError(name, "the document contains no text")
    styled = next((p.strip() for style, p in paragraphs if p.strip() and style.lower() in _TITLE_STYLES), None)
    title = styled or prop_title or None
    front = read_front(text, name, title=shorten(title, TITLE_LINE_MAX_CHARS) if title else None)
    if created is not None and created.replace(tzinfo=None) != _TEMPLATE_CREATED:
        front = front.dated_otherwise(created.date(), "document creation date (no date in the text)")
    author = author if author.lower() not in _DEFAULT_AUTHORS else ""
    check_text_size(name, front.text)
    return front.article(name, path, Source(kind="docx"), content_hash("docx", front.title, front.date, author, front.text),
                         author=author)


def _blocks(document):  # type: ignore[no-untyped-def]
    """(style name, text) of each paragraph, and of each table row (cells joined by tabs), in order."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            yield (block.style.name if block.style is not None else ""), block.text
        elif isinstance(block, Table):
            for row in block.rows:
                cells = []
                for cell in row.cells:
                    if not cells or cell.text != cells[-1]:  # a merged cell repeats in every column it spans
                        cells.append(cell.text)
                yield "table", "\t".join(c.strip() for c in cells)


def load_docx_file(path: Path) -> Article:
    return parse_docx(read_bytes(path, MAX_DOCX_BYTES), path.name, path)
