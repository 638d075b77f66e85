"""Quotes at index time: extracted from each written article (qa.extraction.quotes), embedded, and backfilled."""

from __future__ import annotations

from collections.abc import Sequence

from qa.articles import Article
from qa.extraction.quotes import QUOTES_EXTRACTOR, extract_quotes
from qa.store.quote_records import quote_metadata, quote_record_id, quotes_collection
from qa.store.records import date_to_int
from qa.store.store import ArticleIndex
from qa.store.writes import Rows


class QuoteBatch:
    """Quotes of a group of articles being written, embedded in one call (as passages)."""

    def __init__(self, index: ArticleIndex, articles: Sequence[Article]) -> None:
        self.index = index
        self.quotes = {a.id: extract_quotes(a) for a in articles}
        texts = [q.text for qs in self.quotes.values() for q in qs]
        vectors = index.embeddings.embed_documents(texts) if texts else []
        self.vectors: dict[str, list[list[float]]] = {}
        i = 0
        for aid, qs in self.quotes.items():
            self.vectors[aid] = vectors[i : i + len(qs)]
            i += len(qs)

    def rows(self, article: Article, version: str, into: Rows | None = None) -> Rows:
        """The article's quote rows (added to `into`), written before its commit point (`commit_group`);
        old versions are deleted with its chunks."""
        rows = into if into is not None else Rows()
        qs = self.quotes.get(article.id, [])
        rows.ids += [quote_record_id(article.id, version, n) for n in range(len(qs))]
        rows.embeddings += self.vectors[article.id]
        rows.documents += [q.text for q in qs]
        rows.metadatas += [quote_metadata(q, version, date_to_int(article.date)) for q in qs]
        return rows

    def write(self, article: Article, version: str) -> int:
        """Write one article's quotes now (a backfill: its record is already committed)."""
        rows = self.rows(article, version)
        if rows.ids:
            quotes_collection(self.index).upsert(**rows.as_dict())  # type: ignore[arg-type]
        return len(rows.ids)



def sync_quotes(index: ArticleIndex, articles: Sequence[Article], versions: dict[str, str]) -> int:
    """Backfill quotes for live articles whose current version has none from this extractor
    (an index built before quotes existed, or after `QUOTES_EXTRACTOR` changed)."""
    col = quotes_collection(index)
    got = col.get(include=["metadatas"])
    have = {(str(m.get("article_id")), str(m.get("version"))) for m in (got["metadatas"] or []) if m and m.get("extractor") == QUOTES_EXTRACTOR}
    stale = [qid for qid, m in zip(got["ids"], got["metadatas"] or []) if not m or m.get("extractor") != QUOTES_EXTRACTOR]
    if stale:
        col.delete(ids=stale)
    todo = [a for a in articles if a.id in versions and (a.id, versions[a.id]) not in have]
    if not todo:
        return len(stale)
    batch = QuoteBatch(index, todo)
    return len(stale) + sum(batch.write(a, versions[a.id]) for a in todo)
