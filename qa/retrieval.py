"""Hybrid retrieval: dense (Chroma, cosine) + keyword (BM25 over jieba words), fused by RRF.

Exposed as a LangChain `BaseRetriever`, so it composes with any chain.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field, PrivateAttr

from qa.index import ArticleIndex, ArticleRecord, date_to_int, get_all
from qa.keywords import KeywordIndex

RRF_K = 60
"""Reciprocal rank fusion constant (Cormack et al. 2009): 1 / (RRF_K + rank)."""

FETCH_K = 30
"""Candidates taken from each side before fusion."""


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: int = RRF_K, weights: Sequence[float] | None = None) -> list[tuple[str, float]]:
    """Fuse ranked id lists: score(id) = Σ weight / (k + rank), ranks from 1. Best first; ties keep first-seen order."""
    weights = weights or [1.0] * len(rankings)
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, doc_id in enumerate(ranking, start=1):
            scores[doc_id] = scores.get(doc_id, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda item: -item[1])


@dataclass(frozen=True)
class Filters:
    article_ids: tuple[str, ...] | None = None
    since: dt.date | None = None
    until: dt.date | None = None

    def chroma_where(self) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = []
        if self.article_ids is not None:
            clauses.append({"article_id": {"$in": list(self.article_ids)}})
        if self.since:
            clauses.append({"date_int": {"$gte": date_to_int(self.since)}})
        if self.until:
            clauses.append({"date_int": {"$lte": date_to_int(self.until)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def allows(self, record: ArticleRecord) -> bool:
        if self.article_ids is not None and record.id not in self.article_ids:
            return False
        if self.since and record.date_int < date_to_int(self.since):
            return False
        if self.until and record.date_int > date_to_int(self.until):
            return False
        return True


class _Snapshot:
    """What the retriever needs from the index at one generation: live records and the BM25 index."""

    def __init__(self, index: ArticleIndex) -> None:
        # The generation is read first: a write that lands while we read makes the *next* query
        # rebuild (read last, a stale snapshot could be labelled current and kept until the next write).
        self.generation = index.generation()
        chunks = index.collection("chunks")
        got = get_all(chunks, ["documents", "metadatas"])
        # Records after chunks: a record is committed only after all its chunks are written, so a
        # version missing from the chunks read above can be fetched now (a concurrent update).
        self.records: dict[str, ArticleRecord] = index.records()
        rows = list(zip(got["ids"], got["documents"] or [], got["metadatas"] or []))
        seen = {(str(m.get("article_id")), m.get("version")) for _, _, m in rows}
        for rec in self.records.values():
            if rec.n_chunks and (rec.id, rec.version) not in seen:
                late = chunks.get(where={"$and": [{"article_id": rec.id}, {"version": rec.version}]},
                                  include=["documents", "metadatas"])
                rows += zip(late["ids"], late["documents"] or [], late["metadatas"] or [])
        ids, docs, metas = [], [], []
        for cid, doc, meta in rows:
            rec = self.records.get(str(meta.get("article_id")))
            if rec is not None and rec.version == meta.get("version"):  # skip orphans of a crashed run
                ids.append(cid)
                docs.append(doc)
                metas.append(meta)
        self.metadata: dict[str, dict[str, Any]] = dict(zip(ids, metas))
        self.texts: dict[str, str] = dict(zip(ids, docs))
        self.keyword = KeywordIndex(ids, docs)
        self._article_of = np.array([m["article_id"] for m in metas], dtype=object)
        self._date_of = np.array([int(m.get("date_int", 0)) for m in metas], dtype=np.int64)

    def mask(self, filters: Filters) -> np.ndarray | None:
        if filters.chroma_where() is None:
            return None
        mask = np.ones(len(self._article_of), dtype=bool)
        if filters.article_ids is not None:
            mask &= np.isin(self._article_of, list(filters.article_ids))
        if filters.since:
            mask &= self._date_of >= date_to_int(filters.since)
        if filters.until:
            mask &= self._date_of <= date_to_int(filters.until)
        return mask


class HybridRetriever(BaseRetriever):
    """Dense + BM25 retrieval over the article index, fused with reciprocal rank fusion.

    Each returned `Document` is a chunk; its metadata carries the chunk's offsets into its
    article, the article's title and date, and the dense / keyword / fused scores.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: ArticleIndex
    k: int = 5
    fetch_k: int = FETCH_K
    mode: Literal["hybrid", "dense", "keyword"] = "hybrid"
    article_ids: list[str] | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    tags: list[str] | None = Field(default=None)

    _snapshot: _Snapshot | None = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def snapshot(self) -> _Snapshot:
        """Refreshed when the index's generation changes (e.g. an article was added)."""
        with self._lock:
            generation = self.index.generation()
            if self._snapshot is None or self._snapshot.generation != generation:
                self._snapshot = _Snapshot(self.index)
            return self._snapshot

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun | None = None,
        k: int | None = None,
        article_ids: Sequence[str] | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
        mode: str | None = None,
        **_: Any,
    ) -> list[Document]:
        k = k or self.k
        mode = mode or self.mode
        ids = article_ids if article_ids is not None else self.article_ids
        filters = Filters(tuple(ids) if ids is not None else None, since or self.since, until or self.until)
        snap = self.snapshot()
        if not snap.metadata or not query.strip():
            return []
        fetch = max(self.fetch_k, k)
        dense: list[tuple[str, float]] = []
        if mode in ("hybrid", "dense"):
            dense = self._dense(query, fetch, filters, snap)
        keyword: list[tuple[str, float]] = []
        if mode in ("hybrid", "keyword"):
            keyword = snap.keyword.search(query, fetch, snap.mask(filters))
        fused = reciprocal_rank_fusion([[i for i, _ in dense], [i for i, _ in keyword]])
        dense_scores, keyword_scores = dict(dense), dict(keyword)
        docs = []
        for rank, (cid, score) in enumerate(fused[:k], start=1):
            meta = snap.metadata[cid]
            record = snap.records[meta["article_id"]]
            docs.append(
                Document(
                    id=cid,
                    page_content=snap.texts[cid],
                    metadata={
                        "chunk_id": cid,
                        "article_id": record.id,
                        "title": record.title,
                        "date": record.date,
                        "path": record.path,
                        "version": record.version,
                        "start": int(meta["start"]),
                        "end": int(meta["end"]),
                        "sentence_numbers": json.loads(meta["sentences"]),
                        "dense_score": dense_scores.get(cid),
                        "keyword_score": keyword_scores.get(cid),
                        "rrf_score": score,
                        "rank": rank,
                    },
                )
            )
        return docs

    def _dense(self, query: str, fetch: int, filters: Filters, snap: _Snapshot) -> list[tuple[str, float]]:
        vector = self.index.embeddings.embed_query(query)
        hits = self.index.vectorstore("chunks").similarity_search_by_vector_with_relevance_scores(
            vector, k=fetch, filter=filters.chroma_where()
        )
        # Chroma returns cosine *distances* here; the similarity is 1 - distance.
        return [(str(doc.id), 1.0 - float(distance)) for doc, distance in hits if doc.id in snap.metadata]
