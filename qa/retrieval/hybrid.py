"""Hybrid search: dense (cosine: the read model's exact search, or Chroma's) + keyword (BM25 over jieba words), fused by RRF, into ranked chunk `Document`s."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
from langchain_core.documents import Document

from qa.retrieval.filters import Filters
from qa.retrieval.fusion import reciprocal_rank_fusion
from qa.retrieval.snapshot import KeywordSnapshot
from qa.store.store import ArticleIndex

FETCH_K = 30
"""Candidates taken from each side before fusion."""


class HybridSearch:
    """Dense + BM25 retrieval over the article index, fused with reciprocal rank fusion.

    Each returned `Document` is a chunk; its metadata carries the chunk's offsets into its
    article, the article's title and date, and the dense / keyword / fused scores. A plain
    object (the pipeline's retriever); `qa.retrieval.retriever.HybridRetriever` is the same
    search as a LangChain `BaseRetriever`."""

    def __init__(self, index: ArticleIndex, k: int = 5, *, fetch_k: int = FETCH_K, mode: str = "hybrid",
                 article_ids: Sequence[str] | None = None, since: dt.date | None = None,
                 until: dt.date | None = None) -> None:
        self.index, self.k, self.fetch_k, self.mode = index, k, fetch_k, mode
        self.article_ids = list(article_ids) if article_ids is not None else None
        self.since, self.until = since, until
        self._snapshot: KeywordSnapshot | None = None
        self._lock = threading.Lock()

    def snapshot(self) -> KeywordSnapshot:
        """Refreshed when the index's generation changes (e.g. an article was added)."""
        with self._lock:
            generation = self.index.generation()
            if self._snapshot is None or self._snapshot.generation != generation:
                self._snapshot = KeywordSnapshot(self.index)
            return self._snapshot

    def invoke(
        self,
        query: str,
        *,
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
        if not len(snap) or not query.strip():
            return []
        fetch = max(self.fetch_k, k)
        dense: list[tuple[str, float]] = []
        if mode in ("hybrid", "dense"):
            dense = self._dense(query, fetch, filters, snap)
        keyword: list[tuple[str, float]] = []
        if mode in ("hybrid", "keyword"):
            keyword = snap.keyword.search(query, fetch, snap.mask(filters))
        if mode == "hybrid" and not snap.exact:  # the read model's search is exact already
            dense = self.exact_dense(query, dense, [cid for cid, _ in keyword], fetch)
        fused = reciprocal_rank_fusion([[i for i, _ in dense], [i for i, _ in keyword]])
        dense_scores, keyword_scores = dict(dense), dict(keyword)
        rows = snap.rows([cid for cid, _ in fused[:k]])
        records = snap.records([str(meta["article_id"]) for _, meta in rows.values()])
        docs = []
        for cid, score in fused[:k]:
            if cid not in rows:
                continue  # deleted since the snapshot (the next question sees the new generation)
            text, meta = rows[cid]
            record = records.get(str(meta["article_id"]))
            if record is None or record.version != meta.get("version"):
                continue
            docs.append(
                Document(
                    id=cid,
                    page_content=text,
                    metadata={
                        "chunk_id": cid,
                        "article_id": record.id,
                        "title": record.title,
                        "date": record.date,
                        "path": record.path,
                        # Where the passage is in its file (page, row): citations name the supporting sentence's.
                        "source": record.source,
                        "location": record.location(int(meta["start"]), int(meta["end"])),
                        "url": record.url,
                        "version": record.version,
                        "start": int(meta["start"]),
                        "end": int(meta["end"]),
                        "sentence_numbers": json.loads(meta["sentences"]),
                        "dense_score": dense_scores.get(cid),
                        "keyword_score": keyword_scores.get(cid),
                        "rrf_score": score,
                        "rank": len(docs) + 1,
                    },
                )
            )
        return docs

    def exact_dense(self, query: str, dense: list[tuple[str, float]], candidates: Sequence[str], fetch: int) -> list[tuple[str, float]]:
        """The dense ranking completed with exact cosines for keyword hits Chroma's search left out.

        Chroma's vector index is approximate, and a freshly written vector is sometimes not found at
        all (seen on 2 of 14 fresh stores: an uploaded article's chunk, cosine 0.93 with the question,
        missing from every query, also from a new client). Fusion then ranks it below chunks that
        both sides found, however well the keyword side scores it. Its stored vector is exact, so a
        keyword hit missing from the dense list gets its real cosine and takes its place there."""
        have = {cid for cid, _ in dense}
        missing = [cid for cid in candidates if cid not in have]
        if not missing:
            return dense
        got = self.index.collection("chunks").get(ids=missing, include=["embeddings"])
        if got["embeddings"] is None or not len(got["embeddings"]):
            return dense
        q = np.asarray(self.index.embeddings.embed_query(query), dtype=np.float32)
        vectors = np.asarray(got["embeddings"], dtype=np.float32)
        floor = dense[-1][1] if len(dense) >= fetch else -np.inf  # a full list keeps only what beats its last
        extra = [(str(cid), float(score)) for cid, score in zip(got["ids"], vectors @ q) if score > floor]
        return sorted(dense + extra, key=lambda hit: -hit[1])[:fetch]

    def _dense(self, query: str, fetch: int, filters: Filters, snap: KeywordSnapshot) -> list[tuple[str, float]]:
        vector = self.index.embeddings.embed_query(query)
        if snap.exact:
            return snap.dense(vector, fetch, filters)
        # What LangChain's Chroma.similarity_search_by_vector_with_relevance_scores runs, without
        # importing LangChain's vector-store and tracing machinery (~1 s of a cold start).
        got = self.index.collection("chunks").query(query_embeddings=[vector], n_results=fetch, where=filters.chroma_where(),
                                                    include=["documents", "metadatas", "distances"])
        # Chroma returns cosine *distances*; the similarity is 1 - distance.
        out = []
        for cid, doc, meta, distance in zip(got["ids"][0], (got["documents"] or [[]])[0], (got["metadatas"] or [[]])[0],
                                            (got["distances"] or [[]])[0]):
            if cid in snap.row:
                snap.remember(str(cid), doc or "", dict(meta or {}))
                out.append((str(cid), 1.0 - float(distance)))
        return out
