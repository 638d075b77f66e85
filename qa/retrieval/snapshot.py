"""The retriever's view of the store at one generation: live chunk ids, dates and the BM25 index, saved next to the store."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from qa.retrieval.filters import Filters
from qa.retrieval.keywords import KeywordIndex, Tokens
from qa.store.keyword_file import KeywordFile
from qa.store.paging import IN_BATCH, READ_PAGE, get_all
from qa.store.records import ArticleRecord, RecordsAt, date_to_int, records_at
from qa.store.store import ArticleIndex

log = logging.getLogger(__name__)


KEYWORD_FORMAT = 1
"""Version of the saved keyword snapshot (a different one is rebuilt, never read)."""
ROW_CACHE = 20000
"""Chunk rows (text + metadata) a snapshot keeps after fetching them for results."""
EXACT_SEARCH_MAX = 200_000
"""Up to this many chunks the dense search is the read model's exact one (a flat product over its mapped
vectors: ~9 ms and ~150 MB of shared page cache at 100k); above it, Chroma's approximate index."""


def _snapshot_key(index: ArticleIndex, *, reuse_counts: bool = False) -> str:
    """What a saved keyword snapshot must match to be used: the committed-write stamp plus the row
    counts (a crash between a record write and its stamp would otherwise leave the stamp unchanged)."""
    return f"{KEYWORD_FORMAT}|{index.derived_key(reuse_counts=reuse_counts)}"


def keyword_file(index: ArticleIndex) -> KeywordFile:
    """Where the keyword snapshot is saved: next to a local store (a Chroma server has no folder of ours)."""
    return KeywordFile(None if index.settings.chroma_url else index.settings.vectorstore_dir, index.settings.collection_prefix)


class KeywordSnapshot:
    """What the retriever needs from the index at one generation: the live chunk ids, their article
    ids and dates (for filters), and the BM25 index. Chunk texts and metadata are not held: the few
    a question returns are fetched by id (and kept, up to `ROW_CACHE`).

    Building it means tokenizing every chunk (~1.5 ms each with jieba), so a built snapshot is saved
    next to a local store, keyed by the index generation and row counts, and the next process memory-
    maps it instead (`qa index` builds and saves it after a change). The saved one keeps its chunks'
    tokens, so the next build tokenizes only chunks of new article versions. Writes are atomic: a new
    folder is renamed into place, then a pointer file replaced; an interrupted save leaves the previous one.

    Under a current stamp the store's read model (`qa.store.read_model`, same rows in the same order)
    serves the dense search (exact cosine over its mapped vectors, `dense`, up to `EXACT_SEARCH_MAX`
    chunks), the chunk rows and the records, so a question opens no Chroma; `read` is None otherwise and
    each of them asks Chroma."""

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
        read = index.read_model()
        self.read = read if read is not None and read.ids == self.ids else None
        """The store's read model when it holds exactly these chunks (rows aligned with `ids`)."""
        self.exact = self.read is not None and len(self.ids) <= EXACT_SEARCH_MAX
        """Dense search by `dense` (exact, no Chroma) rather than Chroma's index."""

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

    def _file(self) -> KeywordFile:
        return keyword_file(self.index)

    def _previous(self) -> tuple[dict[str, Any], Tokens] | None:
        """The saved snapshot's rows and tokens, whatever its key (None: none, or not reusable)."""
        try:
            latest = self._file().latest()
            if latest is None:
                return None
            rows, saved = latest
            tokens = Tokens.load(saved)
            if tokens is None:
                return None
            if not (len(rows["ids"]) == len(rows["article_ids"]) == len(rows["dates"]) == len(tokens)):
                raise ValueError("saved rows and tokens disagree in length")
            return rows, tokens
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("not reusing the saved keyword index (%s: %s); tokenizing every chunk", exc.__class__.__name__, exc)
            return None

    def _load(self) -> bool:
        try:
            current = self._file().current(self.key)
            if current is None:
                return False
            rows, saved = current
            self.ids, self.article_ids, self.dates = rows["ids"], rows["article_ids"], rows["dates"]
            self.keyword = KeywordIndex.load(saved, self.ids)
            return True
        except FileNotFoundError:
            return False
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring the saved keyword index (%s: %s); rebuilding it", exc.__class__.__name__, exc)
            return False

    def _save(self) -> None:
        rows = {"ids": self.ids, "article_ids": self.article_ids, "dates": self.dates}
        self._file().save(self.key, rows, self.keyword.save)

    # ---------------------------------------------------------------- query-time reads
    def __len__(self) -> int:
        return len(self.ids)

    def remember(self, cid: str, text: str, meta: dict[str, Any]) -> None:
        with self._lock:
            if len(self._rows) >= ROW_CACHE:
                self._rows.clear()
            self._rows[cid] = (text, meta)

    def rows(self, ids: Sequence[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        """Text and metadata of live chunks (from the read model, else fetched by id when not already known)."""
        if self.read is not None:
            return {cid: self.read.chunk(self.row[cid]) for cid in ids if cid in self.row}
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

    def dense(self, vector: Sequence[float], fetch: int, filters: Filters) -> list[tuple[str, float]]:
        """The `fetch` live chunks nearest to `vector` by exact cosine within `filters` (needs `exact`)."""
        assert self.read is not None
        return [(self.ids[row], score) for row, score in self.read.search(vector, fetch, self.mask(filters))]

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


def warm_snapshot(index: ArticleIndex, records: RecordsAt | None = None) -> bool:
    """Build and save the keyword snapshot now unless a current one is saved (`qa index` calls this
    after writing, so the first question after a start does not tokenize the corpus). True if built.
    `records`: the article records, if the caller has them (see `RecordsAt`)."""
    file = keyword_file(index)
    if file.folder is None or not index.exists():
        return False
    if file.is_current(_snapshot_key(index, reuse_counts=True)):
        return False
    return not KeywordSnapshot(index, records=records).loaded
