"""The write protocol: an article version's rows first, then its record (the commit point), then old versions go.

Updating an article writes its new chunks, sentences and quotes under new ids first, then its
record, then deletes the old rows. A crash at any point leaves the previous version answering;
the next `qa index` finishes the job and removes orphans (`remove_orphans`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from qa.store.manifest import RECORD_DIM
from qa.store.paging import WRITE_BATCH, add_rows, get_all
from qa.store.quote_records import quotes_collection
from qa.store.records import ArticleRecord


@dataclass
class Rows:
    """Rows of one collection, as Chroma's `upsert` takes them."""

    ids: list[str] = field(default_factory=list)
    embeddings: list[Any] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    metadatas: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[Any]]:
        return {"ids": self.ids, "embeddings": self.embeddings, "documents": self.documents, "metadatas": self.metadatas}


@dataclass
class GroupWrite:
    """Everything a group of article versions writes: its rows, its records, and which articles it replaces."""

    sentences: Rows = field(default_factory=Rows)
    chunks: Rows = field(default_factory=Rows)
    quotes: Rows = field(default_factory=Rows)
    records: Rows = field(default_factory=Rows)
    """Record ids and metadata (their placeholder vectors are added on commit)."""
    versions: list[tuple[str, str]] = field(default_factory=list)
    """(article id, version) of every article in the group."""
    replaced: set[str] = field(default_factory=set)
    """Article ids indexed before: their other versions are deleted after the commit."""


class Writes:
    """Mixin of `ArticleIndex`: writing, deleting and cleaning up rows in protocol order."""

    def commit_group(self, group: GroupWrite) -> None:
        """Write a group: one write per collection (each Chroma write has a fixed cost of ~20-150 ms that
        dominated indexing at 10k+ articles), records after their rows."""
        self.remove_stamp()  # readers use Chroma until the writer stamps the new state (qa.store.stamp)
        add_rows(self.collection("sentences"), **group.sentences.as_dict())
        add_rows(self.collection("chunks"), **group.chunks.as_dict())
        if group.quotes.ids:
            add_rows(quotes_collection(self), **group.quotes.as_dict())
        # Commit point: from here on queries see the new versions.
        ids = group.records.ids
        self.collection("articles").upsert(ids=ids, embeddings=[[1.0] * RECORD_DIM] * len(ids), metadatas=group.records.metadatas)  # type: ignore[arg-type]
        # Earlier versions exist only for articles that were indexed before (crash leftovers: remove_orphans).
        for article_id, version in group.versions:
            if article_id in group.replaced:
                for kind in ("chunks", "sentences", "quotes"):
                    self.collection(kind).delete(where={"$and": [{"article_id": article_id}, {"version": {"$ne": version}}]})
        self._bump_generation()

    def update_records(self, ids: Sequence[str], metadatas: Sequence[dict[str, Any]]) -> None:
        """Change record metadata in place (no new version). A change readers see (a title, a source field,
        not just the file's stat or the quote extractor) gets a new generation: the read model holds the
        records, and would otherwise keep the old ones under an unchanged key."""
        if not ids:
            return
        self.remove_stamp()
        col = self.collection("articles")
        for i in range(0, len(ids), WRITE_BATCH):
            col.update(ids=list(ids[i : i + WRITE_BATCH]), metadatas=list(metadatas[i : i + WRITE_BATCH]))  # type: ignore[arg-type]
        if any(set(meta) - {"file_stat", "quotes_extractor"} for meta in metadatas):
            self._bump_generation()

    def delete_article(self, article_id: str) -> None:
        self.remove_stamp()
        self.collection("articles").delete(ids=[article_id])
        for kind in ("chunks", "sentences", "quotes"):
            self.collection(kind).delete(where={"article_id": article_id})

    def remove_orphans(self, scans: dict[str, dict[tuple[str, str], list[Any]]] | None = None,
                        records: dict[str, ArticleRecord] | None = None,
                        kinds: Sequence[str] = ("chunks", "sentences", "quotes")) -> int:
        """Chunks, sentences or quotes whose version no article record points at (left by a crash).

        `scans`: `_stored` results of this update when nothing was written since (saves a full scan);
        `records`: the records they were checked against. Chunks and sentences are scanned only when
        their counts differ from what the records promise (an orphan makes the count larger).
        """
        records = records if records is not None else self.records()
        live = {(r.id, r.version) for r in records.values()}
        counts_match = scans is None and "chunks" in kinds and self._counts_match(records)
        removed = 0
        for kind in kinds:
            col = self.collection(kind)
            if kind != "quotes" and counts_match:
                continue
            if scans and kind in scans:
                stale = [row[0] for key, rows in scans[kind].items() if key not in live for row in rows]
            else:
                got = get_all(col, ["metadatas"])
                stale = [
                    cid
                    for cid, meta in zip(got["ids"], got["metadatas"] or [])
                    if (str((meta or {}).get("article_id")), str((meta or {}).get("version"))) not in live
                ]
            for i in range(0, len(stale), WRITE_BATCH):
                col.delete(ids=stale[i : i + WRITE_BATCH])
            removed += len(stale)
        return removed
