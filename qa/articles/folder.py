"""A folder of article files → `Article`s: which files are articles, the reader for each format, per-file problems."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from qa.articles.docx import DOCX_SUFFIXES, load_docx_file
from qa.articles.exports import EXPORT_SUFFIXES, ExportColumns, ExportRead, load_export_file
from qa.articles.html import HTML_SUFFIXES, load_html_file
from qa.articles.model import Article, ArticleProblem, LoadResult
from qa.articles.pdf import PDF_SUFFIXES, load_pdf_file
from qa.articles.text import TEXT_SUFFIXES, load_text_file
from qa.errors import ArticleError

_SINGLE: dict[str, Callable[[Path], Article]] = {
    **{s: load_text_file for s in TEXT_SUFFIXES},
    **{s: load_html_file for s in HTML_SUFFIXES},
    **{s: load_pdf_file for s in PDF_SUFFIXES},
    **{s: load_docx_file for s in DOCX_SUFFIXES},
}
ARTICLE_SUFFIXES = tuple(_SINGLE) + EXPORT_SUFFIXES
"""Every suffix a file in the articles folder may have to be read (the others are ignored)."""


def is_export(path: Path | str) -> bool:
    """Does this file hold many articles (one per row)?"""
    return Path(path).suffix.lower() in EXPORT_SUFFIXES


def load_article(path: Path, article_id: str | None = None, columns: ExportColumns | None = None) -> Article:
    """One article: the file's, or for an export the row `article_id` (name.csv#row). Raises `ArticleError`."""
    suffix = path.suffix.lower()
    if suffix in EXPORT_SUFFIXES:
        if not article_id or article_id == path.name:
            raise ArticleError(path.name, "is an export holding one article per row: name the row (file.csv#3)")
        read = _export(path, columns)
        for article in read.articles:
            if article.id == article_id:
                return article
        problem = next((p.reason for p in read.problems if p.id == article_id), "no such row in the file")
        raise ArticleError(article_id, problem)
    reader = _SINGLE.get(suffix)
    if reader is None:
        raise ArticleError(path.name, f"{suffix or 'files without a suffix'} cannot be read as articles; "
                           f"use one of {', '.join(ARTICLE_SUFFIXES)}")
    return reader(path)


def _export(path: Path, columns: ExportColumns | None) -> ExportRead:
    """An export read whole, kept while the file is unchanged: the page opens one row at a time."""
    try:
        st = path.stat()
    except OSError:
        return load_export_file(path, columns)  # it raises the reason
    return _cached_export(path, st.st_size, st.st_mtime_ns, columns or ExportColumns())


@lru_cache(maxsize=2)
def _cached_export(path: Path, size: int, mtime_ns: int, columns: ExportColumns) -> ExportRead:
    return load_export_file(path, columns)


def read_file(path: Path, columns: ExportColumns | None = None) -> tuple[list[Article], list[ArticleProblem]]:
    """Every article in one file (one, or one per row of an export), and what could not be read."""
    try:
        if is_export(path):
            read = load_export_file(path, columns)
            return read.articles, read.problems
        return [load_article(path)], []
    except ArticleError as exc:
        return [], [ArticleProblem(path, exc.reason)]


def article_paths(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in ARTICLE_SUFFIXES and not p.name.startswith(".")
    )


def load_articles(folder: Path, read: Callable[[Path], Article] | None = None,
                  columns: ExportColumns | None = None) -> LoadResult:
    """Load every article in `folder`; a bad file (or row) is reported and skipped, never indexed wrong.

    `read`: how one single-article file becomes an `Article` (default `load_article`; the index
    passes one that skips files unchanged since they were indexed). Exports are always read whole."""
    read = read or load_article
    if not folder.is_dir():
        raise ArticleError(str(folder), "the articles folder does not exist (set QA_ARTICLES_DIR or --articles)")
    articles: list[Article] = []
    problems: list[ArticleProblem] = []
    duplicates: list[ArticleProblem] = []
    first_with: dict[str, str] = {}
    for path in article_paths(folder):
        if is_export(path):
            found, bad = read_file(path, columns)
            problems += bad
        else:
            try:
                found = [read(path)]
            except ArticleError as exc:
                problems.append(ArticleProblem(path, exc.reason))
                continue
        for article in found:
            # A copy would fill the top results with the same passage twice; index it once and say so.
            original = first_with.setdefault(article.content_hash, article.id)
            if original != article.id:
                duplicates.append(ArticleProblem(path, f"same text as {original}; indexed once, under {original}",
                                                 article.id if article.id != path.name else None))
                continue
            articles.append(article)
    return LoadResult(articles, problems, duplicates)
