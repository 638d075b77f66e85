"""Adding articles from the page: validate, save into the articles folder, index incrementally.

Each file is judged on its own (one bad file never blocks the others) and the index is
updated with `remove_missing=False`, so nothing already indexed is dropped. The saved files
sit in the articles folder like any other, so a later `qa index` agrees with the page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from qa.articles import Article, load_article, save_upload
from qa.errors import ArticleError
from qa.pipeline import Pipeline


@dataclass
class UploadResult:
    name: str
    """The name the file was uploaded under."""
    article_id: str
    """The name it was saved as ("" when rejected)."""
    status: str
    """'added', 'updated', 'unchanged' or 'rejected'."""
    message: str
    chunks: int = 0

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
    results: list[UploadResult] = []
    articles: list[Article] = []
    for name, data in uploads:
        try:
            path = save_upload(pipeline.settings.articles_dir, name, data, replace=replace)
            article = load_article(path)
        except ArticleError as exc:
            results.append(UploadResult(name, "", "rejected", exc.reason))
            continue
        articles = [a for a in articles if a.id != article.id] + [article]
        results.append(UploadResult(name, article.id, "pending", ""))
    if not articles:
        return results
    with pipeline._lock:  # one writer at a time, shared with Pipeline.build
        report = pipeline.index.update(articles, remove_missing=False, progress=progress)
    records = pipeline.index.records()
    for result in results:
        if result.status != "pending":
            continue
        record = records.get(result.article_id)
        result.chunks = record.n_chunks if record else 0
        if result.article_id in report.added:
            result.status, result.message = "added", f"added as {result.article_id} ({result.chunks} passages)"
        elif result.article_id in report.updated:
            result.status, result.message = "updated", f"updated {result.article_id} ({result.chunks} passages)"
        else:
            result.status, result.message = "unchanged", f"{result.article_id} is already indexed with this content"
    return results
