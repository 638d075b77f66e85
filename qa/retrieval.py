"""Hybrid retrieval: dense (Chroma, cosine) + keyword (BM25 over jieba words), fused by RRF.

Exposed as a LangChain `BaseRetriever`, so it composes with any chain.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field, PrivateAttr

from qa.index import IN_BATCH, READ_PAGE, ArticleIndex, ArticleRecord, RecordsAt, date_to_int, get_all, records_at
from qa.keywords import KeywordIndex, Tokens

log = logging.getLogger(__name__)
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


KEYWORD_FORMAT = 1
"""Version of the saved keyword snapshot (a different one is rebuilt, never read)."""
ROW_CACHE = 20000
"""Chunk rows (text + metadata) a snapshot keeps after fetching them for results."""


def _snapshot_key(index: ArticleIndex, *, reuse_counts: bool = False) -> str:
    """What a saved keyword snapshot must match to be used: the committed-write stamp plus the row
    counts (a crash between a record write and its stamp would otherwise leave the stamp unchanged)."""
    return f"{KEYWORD_FORMAT}|{index.derived_key(reuse_counts=reuse_counts)}"


def _keyword_dir(index: ArticleIndex) -> Path | None:
    """Where the keyword snapshot is saved: next to a local store (a Chroma server has no folder of ours)."""
    if index.settings.chroma_url:
        return None
    return index.settings.vectorstore_dir


class _Snapshot:
    """What the retriever needs from the index at one generation: the live chunk ids, their article
    ids and dates (for filters), and the BM25 index. Chunk texts and metadata are not held: the few
    a question returns are fetched by id (and kept, up to `ROW_CACHE`).

    Building it means tokenizing every chunk (~1.5 ms each with jieba), so a built snapshot is saved
    next to a local store, keyed by the index generation and row counts, and the next process memory-
    maps it instead (`qa index` builds and saves it after a change). The saved one keeps its chunks'
    tokens, so the next build tokenizes only chunks of new article versions. Writes are atomic: a new
    folder is renamed into place, then a pointer file replaced; an interrupted save leaves the previous one."""

    def __init__(self, index: ArticleIndex, *, records: RecordsAt | None = None) -> None:
        self.index = index
        self._given_records = records
        self.tokenized = 0
        """Chunks this snapshot tokenized (0 when loaded; fewer than all when built from a previous one)."""
        # The generation is read first: a write that lands while we read makes the *next* query
        # rebuild (read last, a stale snapshot could be labelled current and kept until the next write).
        self.generation = index.generation()
        self.key = _snapshot_key(index) if index.exists() else ""
        self.loaded = self._load()
        if not self.loaded:
            self._build()
            self._save()
        self.row = {cid: i for i, cid in enumerate(self.ids)}
        self._article_of = np.array(self.article_ids, dtype=object)
        self._date_of = np.asarray(self.dates, dtype=np.int64)
        self._rows: dict[str, tuple[str, dict[str, Any]]] = {}
        self._records: dict[str, ArticleRecord | None] = {}
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- build / save / load
    def _build(self) -> None:
        """Every live chunk, sorted by id (the same snapshot however it was assembled). Chunks of the
        previous saved snapshot whose article version is still live keep their tokens; only the rest
        are read from Chroma and tokenized."""
        previous = self._previous()
        if previous is None:
            self._build_full()
            return
        index = self.index
        prev_rows, prev_tokens = previous
        records = records_at(index, self._given_records, self.key.split("|")[1] if self.key else "")
        live = {(rec.id, rec.version): rec for rec in records.values()}
        kept: dict[tuple[str, str], list[int]] = {}
        for row, cid in enumerate(prev_rows["ids"]):
            article_id, version, _ = cid.rsplit("#", 2)
            if (article_id, version) in live:
                kept.setdefault((article_id, version), []).append(row)
        for pair, rows in list(kept.items()):
            if len(rows) != live[pair].n_chunks:  # not what the record promises: read it again
                del kept[pair]
        entries: list[tuple[str, str, int, int, str]] = []  # id, article id, date, previous row, text
        for rows in kept.values():
            entries += [(prev_rows["ids"][r], prev_rows["article_ids"][r], int(prev_rows["dates"][r]), r, "") for r in rows]
        wanted = [pair for pair, rec in live.items() if rec.n_chunks and pair not in kept]
        for cid, doc, meta in _chunks_of(index, wanted):
            entries.append((cid, str(meta["article_id"]), int(meta.get("date_int", 0)), -1, doc or ""))
        entries.sort(key=lambda e: e[0])
        self.ids = [e[0] for e in entries]
        self.article_ids = [e[1] for e in entries]
        self.dates = [e[2] for e in entries]
        self.tokenized = sum(1 for e in entries if e[3] < 0)
        self.keyword = KeywordIndex.merged(self.ids, prev_tokens, [e[3] for e in entries],
                                           {i: e[4] for i, e in enumerate(entries) if e[3] < 0})

    def _build_full(self) -> None:
        index = self.index
        chunks = index.collection("chunks")
        got = get_all(chunks, ["documents", "metadatas"])
        # Records after chunks: a record is committed only after all its chunks are written, so a
        # version missing from the chunks read above can be fetched now (a concurrent update).
        records = index.records()
        rows = list(zip(got["ids"], got["documents"] or [], got["metadatas"] or []))
        seen = {(str(m.get("article_id")), m.get("version")) for _, _, m in rows}
        late = [(rec.id, rec.version) for rec in records.values() if rec.n_chunks and (rec.id, rec.version) not in seen]
        rows += _chunks_of(index, late)
        ids, docs, article_ids, dates = [], [], [], []
        for cid, doc, meta in sorted(rows, key=lambda row: row[0]):
            rec = records.get(str(meta.get("article_id")))
            if rec is not None and rec.version == meta.get("version"):  # skip orphans of a crashed run
                ids.append(cid)
                docs.append(doc)
                article_ids.append(str(meta["article_id"]))
                dates.append(int(meta.get("date_int", 0)))
        self.ids, self.article_ids, self.dates = ids, article_ids, dates
        self.tokenized = len(ids)
        self.keyword = KeywordIndex(ids, docs)

    def _previous(self) -> tuple[dict[str, Any], Tokens] | None:
        """The saved snapshot's rows and tokens, whatever its key (None: none, or not reusable)."""
        folder = _keyword_dir(self.index)
        if folder is None:
            return None
        try:
            pointer = json.loads(self._pointer(folder).read_text(encoding="utf-8"))
            saved = folder / str(pointer["dir"])
            tokens = Tokens.load(saved)
            if tokens is None:
                return None
            rows = json.loads((saved / "rows.json").read_text(encoding="utf-8"))
            if not (len(rows["ids"]) == len(rows["article_ids"]) == len(rows["dates"]) == len(tokens)):
                raise ValueError("saved rows and tokens disagree in length")
            return rows, tokens
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("not reusing the saved keyword index (%s: %s); tokenizing every chunk", exc.__class__.__name__, exc)
            return None

    def _pointer(self, folder: Path) -> Path:
        return folder / f"{self.index.settings.collection_prefix}_keyword.json"

    def _load(self) -> bool:
        folder = _keyword_dir(self.index)
        if folder is None or not self.key:
            return False
        try:
            pointer = json.loads(self._pointer(folder).read_text(encoding="utf-8"))
            if pointer.get("key") != self.key:
                return False
            saved = folder / str(pointer["dir"])
            rows = json.loads((saved / "rows.json").read_text(encoding="utf-8"))
            if rows.get("key") != self.key:
                return False
            self.ids, self.article_ids, self.dates = rows["ids"], rows["article_ids"], rows["dates"]
            self.keyword = KeywordIndex.load(saved, self.ids)
            return True
        except FileNotFoundError:
            return False
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring the saved keyword index (%s: %s); rebuilding it", exc.__class__.__name__, exc)
            return False

    def _save(self) -> None:
        folder = _keyword_dir(self.index)
        if folder is None or not self.key or not folder.is_dir():
            return
        prefix = f"{self.index.settings.collection_prefix}_keyword"
        try:
            tmp = Path(tempfile.mkdtemp(prefix=f".{prefix}.tmp-", dir=folder))
            try:
                self.keyword.save(tmp)
                rows = {"key": self.key, "ids": self.ids, "article_ids": self.article_ids, "dates": self.dates}
                (tmp / "rows.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
                final = folder / f"{prefix}-{uuid.uuid4().hex[:12]}"
                os.replace(tmp, final)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            pointer = self._pointer(folder)
            staged = pointer.with_name(f".{pointer.name}.{os.getpid()}.{uuid.uuid4().hex[:6]}")
            staged.write_text(json.dumps({"key": self.key, "dir": final.name}), encoding="utf-8")
            os.replace(staged, pointer)  # the commit point: readers now find the new snapshot
            for old in folder.glob(f"{prefix}-*"):
                if old != final and old.is_dir():
                    shutil.rmtree(old, ignore_errors=True)
            for stale in folder.glob(f".{prefix}.tmp-*"):
                if time.time() - stale.stat().st_mtime > 3600:  # left by a crash long ago
                    shutil.rmtree(stale, ignore_errors=True)
        except OSError as exc:
            log.warning("could not save the keyword index next to the store (%s); it is rebuilt per process", exc)

    # ---------------------------------------------------------------- query-time reads
    def __len__(self) -> int:
        return len(self.ids)

    def remember(self, cid: str, text: str, meta: dict[str, Any]) -> None:
        with self._lock:
            if len(self._rows) >= ROW_CACHE:
                self._rows.clear()
            self._rows[cid] = (text, meta)

    def rows(self, ids: Sequence[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        """Text and metadata of live chunks, fetched by id when not already known."""
        with self._lock:
            missing = [cid for cid in ids if cid not in self._rows]
        if missing:
            got = self.index.collection("chunks").get(ids=missing, include=["documents", "metadatas"])
            for cid, doc, meta in zip(got["ids"], got["documents"] or [], got["metadatas"] or []):
                self.remember(cid, doc or "", dict(meta or {}))
        with self._lock:
            return {cid: self._rows[cid] for cid in ids if cid in self._rows}

    def records(self, article_ids: Sequence[str]) -> dict[str, ArticleRecord]:
        with self._lock:
            missing = [a for a in dict.fromkeys(article_ids) if a not in self._records]
        if missing:
            got = self.index.records(missing)
            with self._lock:
                for a in missing:
                    self._records[a] = got.get(a)
        with self._lock:
            return {a: r for a in article_ids if (r := self._records.get(a)) is not None}

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


def _chunks_of(index: ArticleIndex, versions: Sequence[tuple[str, str]]) -> list[tuple[str, str, dict[str, Any]]]:
    """(id, text, metadata) of every chunk of these (article id, version) pairs, read by article id in
    batches and pages (a long `$in` or an unpaged read exceeds Chroma's SQL-variable limit)."""
    wanted = dict(versions)
    out: list[tuple[str, str, dict[str, Any]]] = []
    col = index.collection("chunks") if wanted else None
    ids = sorted(wanted)
    for i in range(0, len(ids), IN_BATCH):
        batch = ids[i : i + IN_BATCH]
        offset = 0
        while True:
            got = col.get(where={"article_id": {"$in": batch}}, include=["documents", "metadatas"],  # type: ignore[union-attr]
                          limit=READ_PAGE, offset=offset)
            for cid, doc, meta in zip(got["ids"], got["documents"] or [], got["metadatas"] or []):
                meta = dict(meta or {})
                if wanted.get(str(meta.get("article_id"))) == meta.get("version"):
                    out.append((cid, doc or "", meta))
            if len(got["ids"]) < READ_PAGE:
                break
            offset += READ_PAGE
    return out


def warm_snapshot(index: ArticleIndex, *, records: RecordsAt | None = None) -> bool:
    """Build and save the keyword snapshot now unless a current one is saved (`qa index` calls this
    after writing, so the first question after a start does not tokenize the corpus). True if built.
    `records`: the article records, if the caller has them (see `RecordsAt`)."""
    folder = _keyword_dir(index)
    if folder is None or not index.exists():
        return False
    try:
        pointer = json.loads((folder / f"{index.settings.collection_prefix}_keyword.json").read_text(encoding="utf-8"))
        if pointer.get("key") == _snapshot_key(index, reuse_counts=True) and (folder / str(pointer["dir"]) / "rows.json").is_file():
            return False
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return not _Snapshot(index, records=records).loaded


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
        if not len(snap) or not query.strip():
            return []
        fetch = max(self.fetch_k, k)
        dense: list[tuple[str, float]] = []
        if mode in ("hybrid", "dense"):
            dense = self._dense(query, fetch, filters, snap)
        keyword: list[tuple[str, float]] = []
        if mode in ("hybrid", "keyword"):
            keyword = snap.keyword.search(query, fetch, snap.mask(filters))
        if mode == "hybrid":
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

    def _dense(self, query: str, fetch: int, filters: Filters, snap: _Snapshot) -> list[tuple[str, float]]:
        vector = self.index.embeddings.embed_query(query)
        hits = self.index.vectorstore("chunks").similarity_search_by_vector_with_relevance_scores(
            vector, k=fetch, filter=filters.chroma_where()
        )
        # Chroma returns cosine *distances* here; the similarity is 1 - distance.
        out = []
        for doc, distance in hits:
            if doc.id in snap.row:
                snap.remember(str(doc.id), doc.page_content, dict(doc.metadata))
                out.append((str(doc.id), 1.0 - float(distance)))
        return out
