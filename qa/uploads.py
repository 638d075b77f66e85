"""Adding articles from the page or by URL: validate, save into the articles folder, index incrementally.

Each file is judged on its own (one bad file never blocks the others) and the index is
updated with `remove_missing=False`, so nothing already indexed is dropped. The saved files
sit in the articles folder like any other, so a later `qa index` agrees with the page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from qa.articles import Article, ExportColumns, read_file, save_upload
from qa.articles.web import add_url
from qa.errors import ArticleError
from qa.pipeline import Pipeline


@dataclass
class UploadResult:
    name: str
    """The name the file was uploaded under (or the URL it was fetched from)."""
    article_id: str
    """The name it was saved as ("" when rejected); an export's first row."""
    status: str
    """'added', 'updated', 'unchanged' or 'rejected'."""
    message: str
    chunks: int = 0
    rows: int = 1
    """Articles the file holds (an export: one per row)."""
    problems: list[str] = field(default_factory=list)
    """Rows of an export that could not be read (the others were added)."""
    article_ids: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status != "rejected"


def add_uploads(
    pipeline: Pipeline,
    uploads: Sequence[tuple[str, bytes]],
    *,
    replace: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> list[UploadResult]:
    """Save and index `(file name, bytes)` pairs; returns one result per upload, in order."""
    columns = ExportColumns.from_settings(pipeline.settings)
    saved: list[tuple[str, Path | str]] = []
    for name, data in uploads:
        try:
            saved.append((name, save_upload(pipeline.settings.articles_dir, name, data, replace=replace, columns=columns)))
        except ArticleError as exc:
            saved.append((name, exc.reason))
    return _index_saved(pipeline, saved, columns, progress)


def add_urls(pipeline: Pipeline, urls: Sequence[str], *, progress: Callable[[int, int], None] | None = None) -> list[UploadResult]:
    """Fetch each URL into the articles folder (`qa add URL…`) and index what was saved."""
    columns = ExportColumns.from_settings(pipeline.settings)
    saved: list[tuple[str, Path | str]] = []
    for url in urls:
        try:
            saved.append((url, add_url(pipeline.settings.articles_dir, url).path))
        except ArticleError as exc:
            saved.append((url, exc.reason))
    return _index_saved(pipeline, saved, columns, progress)


def _index_saved(pipeline: Pipeline, saved: Sequence[tuple[str, Path | str]], columns: ExportColumns,
                 progress: Callable[[int, int], None] | None) -> list[UploadResult]:
    """Index the files saved (a path) and report the rejected (a reason) in the same order."""
    results: list[UploadResult] = []
    articles: list[Article] = []
    for name, path in saved:
        if isinstance(path, str):
            results.append(UploadResult(name, "", "rejected", path))
            continue
        found, problems = read_file(path, columns)
        if not found:
            results.append(UploadResult(name, "", "rejected", problems[0].reason if problems else "no article in it"))
            continue
        ids = {a.id for a in found}
        articles = [a for a in articles if a.id not in ids] + found
        # An export holds many articles: its result is its first row's, with the count in the message.
        results.append(UploadResult(name, found[0].id, "pending", "", rows=len(found),
                                    problems=[p.reason for p in problems], article_ids=[a.id for a in found]))
    if not articles:
        return results
    with pipeline._lock:  # one writer at a time, shared with Pipeline.build
        report = pipeline.update(articles, remove_missing=False, progress=progress)
    records = pipeline.index.records()
    for result in results:
        if result.status != "pending":
            continue
        ids = result.article_ids or [result.article_id]
        result.chunks = sum(records[i].n_chunks for i in ids if i in records)
        added = [i for i in ids if i in report.added]
        updated = [i for i in ids if i in report.updated]
        what = result.article_id if len(ids) == 1 else f"{len(ids)} articles of {Path(result.article_id.split('#')[0]).name}"
        if added or updated:
            result.status = "added" if added and not updated else "updated"
            verb = "added as" if len(ids) == 1 and added else ("updated" if not added else "added")
            result.message = f"{verb} {what} ({result.chunks} passages)"
        else:
            result.status, result.message = "unchanged", f"{what} {'is' if len(ids) == 1 else 'are'} already indexed with this content"
        if result.problems:
            result.message += f"; {len(result.problems)} row(s) skipped: " + "; ".join(result.problems[:3])
    return results
