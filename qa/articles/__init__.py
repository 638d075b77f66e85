"""Article files of every format (text, web pages, PDF, Word, exports) → `Article` records with their source.

One module per format (`text`, `html`, `pdf`, `docx`, `exports`), the dates written in text
(`dates`), the folder scan (`folder`), page uploads (`uploads`) and fetching a URL (`web`).
The public names are re-exported here: `from qa.articles import Article, load_articles`.
"""

from qa.articles.dates import find_dateline, parse_date_line
from qa.articles.exports import EXPORT_SUFFIXES, ExportColumns, parse_export
from qa.articles.folder import ARTICLE_SUFFIXES, article_paths, is_export, load_article, load_articles, read_file
from qa.articles.html import parse_html
from qa.articles.model import (
    MAX_ARTICLE_BYTES,
    READER_VERSION,
    TITLE_MAX_CHARS,
    Article,
    ArticleProblem,
    LoadResult,
    Source,
    make_title,
)
from qa.articles.pdf import parse_pdf
from qa.articles.docx import parse_docx
from qa.articles.text import decode_text, parse_article, read_front
from qa.articles.uploads import MAX_UPLOAD_BYTES, safe_article_name, save_upload

__all__ = [
    "ARTICLE_SUFFIXES", "EXPORT_SUFFIXES", "MAX_ARTICLE_BYTES", "MAX_UPLOAD_BYTES", "READER_VERSION", "TITLE_MAX_CHARS",
    "Article", "ArticleProblem", "ExportColumns", "LoadResult", "Source",
    "article_paths", "decode_text", "find_dateline", "is_export", "load_article", "load_articles", "make_title",
    "parse_article", "parse_date_line", "parse_docx", "parse_export", "parse_html", "parse_pdf", "read_file",
    "read_front", "safe_article_name", "save_upload",
]
