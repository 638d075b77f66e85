"""The read model: every live chunk (text, metadata, vector) and article record (with its quote spans) in flat files next to a local store.

What a factual question reads from the index, so that a reader under a current stamp (`qa.store.stamp`)
answers without importing or opening Chroma: the retriever's dense search, the chunks it returns, their
article records, an article's text (its chunks put together) and quote spans (the composer's subject
check). Chroma stays the source of truth; these files are derived from it at one state (keyed like the
keyword snapshot and the sentence file: stored generation + article and chunk counts), saved the same
way (`qa.store.keyword_file`: a new folder, renamed into place, then a pointer replaced), and any part
that is missing, stale or damaged sends the reader back to Chroma for that part.

Parts of a saved folder:

* ``rows.json``      the key, the chunk ids (sorted: the keyword snapshot's order), the record ids (sorted),
                     whether the store has a quotes collection
* ``vectors.npy``    float32 chunk vectors, exactly as Chroma returns them, one row per chunk id; memory-mapped
* ``norms.npy``      their norms (cosine as Chroma's cosine space computes it)
* ``chunks.npy``     per chunk, UTF-8 JSON ``[text, metadata]`` (Chroma's metadata as stored), concatenated;
                     ``chunk_offsets.npy`` where each starts. Read by row (`RowFile`), never mapped whole.
* ``records.npy``    per record, UTF-8 JSON ``{"meta": …, "quotes": [[start, end, raw speaker], …]}``, with
                     ``record_offsets.npy``; read by row.
* ``quotes.npy``     per live quote (ids in ``rows.json``, sorted), UTF-8 JSON ``[text, metadata]`` with
                     ``quote_offsets.npy``, and ``quote_vectors.npy`` / ``quote_norms.npy``: who-questions and
                     quote search read these instead of the quotes collection.

Dense search over the mapped matrix is exact cosine (one flat ``n × d`` float32 product, then a partial
sort), so Chroma's approximate-index workaround (`HybridSearch.exact_dense`) is not needed on this path.
Measured in the answering process on the shared 2-core machine: 10k × 384 p50 0.3 ms (einsum's loop;
OpenBLAS's threaded product took 8 ms there), 100k × 384 a few ms, memory-bandwidth bound. At 100k chunks the vectors are ~150 MB, mapped:
the page cache holds them once for every reader process, a fresh process pays the page faults of its
first product (a read from disk only when the page cache is cold), and the resident size counts the
mapped pages, shared. Beyond a few hundred thousand chunks an approximate index is the better trade
(Chroma's stays available: a store without a stamp, or a Chroma server, searches with it).
"""

from __future__ import annotations

import bisect
import json
import logging
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.models.rowfile import RowFile
from qa.store.keyword_file import KeywordFile
from qa.store.paging import IN_BATCH, READ_PAGE
from qa.store.records import ArticleRecord, record_from

if TYPE_CHECKING:
    import chromadb  # types only

log = logging.getLogger(__name__)

READ_FORMAT = 1
"""Version of the saved read model (a different one is rebuilt, never read)."""


def read_file(folder: Path | None, prefix: str) -> KeywordFile:
    return KeywordFile(folder, prefix, "read")


class ReadModel:
    """One saved read model, opened: ids in memory, vectors mapped, texts and records read by row."""

    def __init__(self, rows: dict[str, Any], folder: Path) -> None:
        if rows.get("format") != READ_FORMAT:
            raise ValueError(f"read model format {rows.get('format')}")
        self.key = str(rows["key"])
        self.folder = folder
        self.ids: list[str] = list(rows["ids"])
        self.record_ids: list[str] = list(rows["record_ids"])
        self.has_quotes = bool(rows["has_quotes"])
        self.quote_ids: list[str] = list(rows["quote_ids"])
        self.vectors = np.load(folder / "vectors.npy", mmap_mode="r")
        self.norms = np.load(folder / "norms.npy")
        self.chunk_offsets = np.load(folder / "chunk_offsets.npy")
        self.chunks = RowFile.npy(folder / "chunks.npy")
        self.record_offsets = np.load(folder / "record_offsets.npy")
        self.records_file = RowFile.npy(folder / "records.npy")
        self.quote_offsets = np.load(folder / "quote_offsets.npy")
        self.quotes_file = RowFile.npy(folder / "quotes.npy")
        self.quote_vectors = np.load(folder / "quote_vectors.npy", mmap_mode="r")
        self.quote_norms = np.load(folder / "quote_norms.npy")
        if not (len(self.quote_offsets) - 1 == len(self.quote_vectors) == len(self.quote_norms) == len(self.quote_ids)
                and int(self.quote_offsets[-1]) == len(self.quotes_file)):
            raise ValueError("read model quote parts disagree in length")
        n = len(self.ids)
        if not (len(self.vectors) == len(self.norms) == len(self.chunk_offsets) - 1 == n
                and len(self.record_offsets) - 1 == len(self.record_ids)):
            raise ValueError("read model parts disagree in length")
        if int(self.chunk_offsets[-1]) != len(self.chunks) or int(self.record_offsets[-1]) != len(self.records_file):
            raise ValueError("read model blobs disagree with their offsets")

    @classmethod
    def open(cls, folder: Path | None, prefix: str, key: str) -> ReadModel | None:
        """The saved read model if it has this key (None otherwise). Raises OSError / ValueError /
        KeyError / TypeError when it is damaged."""
        current = read_file(folder, prefix).current(key)
        return cls(*current) if current is not None else None

    @classmethod
    def latest(cls, folder: Path | None, prefix: str) -> ReadModel | None:
        """The saved read model whatever its key (what the next one is built from), None if there is none
        or it cannot be read."""
        try:
            latest = read_file(folder, prefix).latest()
            return cls(*latest) if latest is not None else None
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("not reusing the read model (%s: %s); reading every chunk", exc.__class__.__name__, exc)
            return None

    def __len__(self) -> int:
        return len(self.ids)

    # ------------------------------------------------------------------ chunks
    def chunk_bytes(self, row: int) -> bytes:
        return self.chunks.read_bytes(int(self.chunk_offsets[row]), int(self.chunk_offsets[row + 1]))

    def chunk(self, row: int) -> tuple[str, dict[str, Any]]:
        """(text, metadata) of the chunk in row `row`."""
        text, meta = json.loads(self.chunk_bytes(row))
        return str(text), dict(meta)

    def search(self, query: Sequence[float], fetch: int, mask: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The `fetch` chunk rows nearest to `query` by exact cosine (among `mask`'s rows), best first."""
        return _nearest(self.vectors, self.norms, query, fetch, mask)

    # ------------------------------------------------------------------ quotes
    def quote_bytes(self, row: int) -> bytes:
        return self.quotes_file.read_bytes(int(self.quote_offsets[row]), int(self.quote_offsets[row + 1]))

    def quote_rows(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(id, text, metadata) of every live quote."""
        blob = self.quotes_file.read_bytes(0, len(self.quotes_file))
        out = []
        for row, qid in enumerate(self.quote_ids):
            text, meta = json.loads(blob[int(self.quote_offsets[row]) : int(self.quote_offsets[row + 1])])
            out.append((qid, str(text), dict(meta)))
        return out

    def nearest_quotes(self, query: Sequence[float], n: int) -> list[tuple[str, float]]:
        """The `n` live quotes nearest to `query` by exact cosine, best first."""
        return [(self.quote_ids[r], score) for r, score in _nearest(self.quote_vectors, self.quote_norms, query, n, None)]

    def quote_vector_rows(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        out = {}
        for qid in ids:
            i = bisect.bisect_left(self.quote_ids, qid)
            if i < len(self.quote_ids) and self.quote_ids[i] == qid:
                out[qid] = np.asarray(self.quote_vectors[i], dtype=np.float32)
        return out

    def article_chunks(self, article_id: str, version: str, n_chunks: int) -> list[tuple[str, dict[str, Any]]] | None:
        """Every chunk of one article version (ids sharing a prefix are one run of the sorted ids); None
        unless exactly `n_chunks` are here."""
        rows = _prefix_rows(self.ids, f"{article_id}#{version}#")
        return [self.chunk(r) for r in rows] if len(rows) == n_chunks else None

    # ------------------------------------------------------------------ records
    def _record_entry(self, rid: str) -> dict[str, Any] | None:
        i = bisect.bisect_left(self.record_ids, rid)
        if i >= len(self.record_ids) or self.record_ids[i] != rid:
            return None
        return json.loads(self.records_file.read_bytes(int(self.record_offsets[i]), int(self.record_offsets[i + 1])))

    def records(self, ids: Sequence[str] | None = None) -> dict[str, ArticleRecord]:
        """The records of `ids` that are live (all of them when None), as `ArticleIndex.records` returns them."""
        wanted = self.record_ids if ids is None else list(dict.fromkeys(ids))
        out = {}
        for rid in wanted:
            entry = self._record_entry(rid)
            if entry is not None:
                out[rid] = record_from(rid, entry["meta"])
        return out

    def quote_spans(self, article_id: str, version: str) -> list[tuple[int, int, str]] | None:
        """(start, end, raw speaker) of the quotes of one live article version; None if that version is not here."""
        entry = self._record_entry(article_id)
        if entry is None or entry["meta"].get("version") != version:
            return None
        return [(int(s), int(e), str(spk)) for s, e, spk in entry["quotes"]]

    def close(self) -> None:
        self.chunks.close()
        self.records_file.close()


def _nearest(vectors: np.ndarray, norms: np.ndarray, query: Sequence[float], fetch: int,
             mask: np.ndarray | None) -> list[tuple[int, float]]:
    """The `fetch` rows of `vectors` nearest to `query` by exact cosine (among `mask`'s rows), best first:
    one flat float32 product over the mapped matrix."""
    n = len(vectors)
    if not n or fetch <= 0:
        return []
    q = np.asarray(query, dtype=np.float32)
    # einsum's own loop, not BLAS: OpenBLAS runs this matrix-vector product on its thread pool, and in the
    # answering process (ONNX Runtime's threads on the same cores) each product then took 8 ms instead of
    # 0.2-0.3 ms single-threaded (10k × 384, measured).
    scores = np.einsum("ij,j->i", np.asarray(vectors), q)
    scores /= np.maximum(norms, 1e-12) * max(float(np.linalg.norm(q)), 1e-12)
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
        fetch = min(fetch, int(mask.sum()))
    fetch = min(fetch, n)
    if fetch <= 0:
        return []
    top = np.argpartition(-scores, fetch - 1)[:fetch] if fetch < n else np.arange(n)
    top = top[np.argsort(-scores[top], kind="stable")]
    return [(int(r), float(scores[r])) for r in top]


# ---------------------------------------------------------------------- writing
def write_read_model(folder: Path, prefix: str, key: str, chunks: chromadb.Collection, quotes: chromadb.Collection | None,
                     records: dict[str, ArticleRecord], previous: ReadModel | None) -> int:
    """Save the read model of the live state `records` describes. Rows of the `previous` model whose
    article version is still live and complete are copied (their vectors and texts as saved), and a
    record's quote spans are reused when its stored metadata is unchanged; only the rest is read from
    Chroma. The result is the same files either way. Returns the number of chunks read from Chroma."""
    live = {(r.id, r.version): r for r in records.values()}
    kept: dict[tuple[str, str], list[int]] = {}
    if previous is not None:
        for row, cid in enumerate(previous.ids):
            article_id, version, _ = cid.rsplit("#", 2)
            if (article_id, version) in live:
                kept.setdefault((article_id, version), []).append(row)
        kept = {pair: rows for pair, rows in kept.items() if len(rows) == live[pair].n_chunks}
    wanted = {pair for pair, rec in live.items() if rec.n_chunks and pair not in kept}
    new_rows = _read_versions(chunks, wanted, ["documents", "metadatas", "embeddings"])
    # Each output row: ("p", previous row) or ("n", index into new_rows), in id order.
    entries: list[tuple[str, str, int]] = [(previous.ids[r], "p", r) for rows in kept.values() for r in rows]  # type: ignore[union-attr]
    entries += [(cid, "n", j) for j, (cid, _, _, _) in enumerate(new_rows)]
    entries.sort(key=lambda e: e[0])
    dim = (len(new_rows[0][3]) if new_rows else previous.vectors.shape[1] if previous is not None and kept else 0)
    vectors = np.zeros((len(entries), dim), np.float32)
    blobs: list[bytes] = []
    prev_vectors = np.asarray(previous.vectors) if previous is not None and kept else None
    for out_row, (_, source, j) in enumerate(entries):
        if source == "p":
            vectors[out_row] = prev_vectors[j]  # type: ignore[index]
            blobs.append(previous.chunk_bytes(j))  # type: ignore[union-attr]
        else:
            cid, doc, meta, emb = new_rows[j]
            if len(emb) != dim:
                raise ValueError(f"chunk {cid} has a {len(emb)}-dimensional vector, the others {dim}")
            vectors[out_row] = emb
            blobs.append(json.dumps([doc, meta], ensure_ascii=False, sort_keys=True).encode("utf-8"))
    record_ids = sorted(records)
    quote_rows = _quote_rows(quotes, records, previous)
    spans: dict[str, list[tuple[int, tuple[int, int, str]]]] = {}
    for qid, _, _, span in quote_rows:
        spans.setdefault(qid.rsplit("#", 2)[0], []).append((_quote_number(qid), span))
    spans = {rid: [span for _, span in sorted(got)] for rid, got in spans.items()}  # type: ignore[misc]
    quote_dim = len(quote_rows[0][2]) if quote_rows else 0
    quote_vectors = np.zeros((len(quote_rows), quote_dim), np.float32)
    for row, (_, _, emb, _) in enumerate(quote_rows):
        quote_vectors[row] = emb
    record_blobs = [json.dumps({"meta": _record_meta(records[rid]), "quotes": spans.get(rid, [])},
                               ensure_ascii=False).encode("utf-8") for rid in record_ids]

    def fill(tmp: Path) -> None:
        np.save(tmp / "vectors.npy", vectors)
        np.save(tmp / "norms.npy", np.linalg.norm(vectors, axis=1).astype(np.float32) if dim else np.zeros(len(entries), np.float32))
        _save_blob(tmp, "chunks", blobs)
        _save_blob(tmp, "records", record_blobs)
        _save_blob(tmp, "quotes", [raw for _, raw, _, _ in quote_rows])
        np.save(tmp / "quote_vectors.npy", quote_vectors)
        np.save(tmp / "quote_norms.npy", np.linalg.norm(quote_vectors, axis=1).astype(np.float32) if quote_dim
                else np.zeros(len(quote_rows), np.float32))

    rows = {"format": READ_FORMAT, "ids": [e[0] for e in entries], "record_ids": record_ids, "has_quotes": quotes is not None,
            "quote_ids": [qid for qid, _, _, _ in quote_rows]}
    read_file(folder, prefix).save(key, rows, fill)
    return len(new_rows)


def _record_meta(record: ArticleRecord) -> dict[str, Any]:
    meta = asdict(record)
    del meta["id"]
    return meta


def _save_blob(tmp: Path, name: str, parts: list[bytes]) -> None:
    lengths = np.array([len(p) for p in parts], dtype=np.int64)
    np.save(tmp / f"{name[:-1]}_offsets.npy", np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))
    np.save(tmp / f"{name}.npy", np.frombuffer(b"".join(parts), dtype=np.uint8))


def _quote_rows(quotes: chromadb.Collection | None, records: dict[str, ArticleRecord], previous: ReadModel | None
                ) -> list[tuple[str, bytes, Any, tuple[int, int, str]]]:
    """(id, saved JSON, vector, span) of every live quote, sorted by id: the previous model's rows of a
    record whose stored metadata is unchanged (a quote backfill changes its `quotes_extractor`), read from
    the quotes collection otherwise."""
    if quotes is None:
        return []
    out: list[tuple[str, bytes, Any, tuple[int, int, str]]] = []
    todo: set[tuple[str, str]] = set()
    reuse = previous is not None and previous.has_quotes
    for rid, rec in records.items():
        entry = previous._record_entry(rid) if reuse else None  # type: ignore[union-attr]
        if entry is None or entry["meta"] != _record_meta(rec):
            todo.add((rid, rec.version))
            continue
        rows = _prefix_rows(previous.quote_ids, f"{rid}#{rec.version}#q")  # type: ignore[union-attr]
        if len(rows) != len(entry["quotes"]):
            todo.add((rid, rec.version))
            continue
        for r in rows:
            raw = previous.quote_bytes(r)  # type: ignore[union-attr]
            meta = json.loads(raw)[1]
            out.append((previous.quote_ids[r], raw, np.asarray(previous.quote_vectors[r]),  # type: ignore[union-attr]
                        (int(meta["start"]), int(meta["end"]), str(meta["raw_speaker"]))))
    for qid, doc, meta, emb in _read_versions(quotes, todo, ["documents", "metadatas", "embeddings"]):
        out.append((qid, json.dumps([doc, meta], ensure_ascii=False, sort_keys=True).encode("utf-8"), emb,
                    (int(meta["start"]), int(meta["end"]), str(meta["raw_speaker"]))))
    out.sort(key=lambda row: row[0])
    return out


def _prefix_rows(ids: list[str], prefix: str) -> list[int]:
    """Rows of the sorted `ids` that start with `prefix` and have no more '#' than it (one article version)."""
    lo = hi = bisect.bisect_left(ids, prefix)
    while hi < len(ids) and ids[hi].startswith(prefix):
        hi += 1
    depth = prefix.count("#")
    return [r for r in range(lo, hi) if ids[r].count("#") == depth]


def _quote_number(qid: str) -> int:
    return int(qid.rsplit("#q", 1)[1])


def _read_versions(col: chromadb.Collection, versions: set[tuple[str, str]], include: list[str]
                   ) -> list[tuple[str, str, dict[str, Any], Any]]:
    """(id, document, metadata, embedding) of every row of these (article id, version) pairs, in the
    collection's order within an article; one paged export when most articles are wanted, else read by
    article id in batches (a long `$in` or an unpaged read exceeds Chroma's SQL-variable limit)."""
    if not versions:
        return []
    wanted = dict(versions)
    out: list[tuple[str, str, dict[str, Any], Any]] = []

    def take(got: Any) -> None:
        docs = got.get("documents") or [""] * len(got["ids"])
        embs = got.get("embeddings")
        embs = embs if embs is not None else [None] * len(got["ids"])
        for cid, doc, meta, emb in zip(got["ids"], docs, got["metadatas"] or [], embs):
            meta = dict(meta or {})
            if wanted.get(str(meta.get("article_id"))) == meta.get("version"):
                out.append((str(cid), doc or "", meta, None if emb is None else np.asarray(emb, dtype=np.float32)))

    if len(wanted) > 1000:
        batches: list[list[str] | None] = [None]
    else:
        ids = sorted(wanted)
        batches = [ids[i : i + IN_BATCH] for i in range(0, len(ids), IN_BATCH)]
    for batch in batches:
        offset = 0
        while True:
            where = {"article_id": {"$in": batch}} if batch is not None else None
            got = col.get(where=where, include=include, limit=READ_PAGE, offset=offset)  # type: ignore[arg-type]
            take(got)
            if len(got["ids"]) < READ_PAGE:
                break
            offset += READ_PAGE
    return out
