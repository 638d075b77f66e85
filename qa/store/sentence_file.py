"""The sentence file: every live sentence's id, span, text and vector in flat files next to a local store."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any

from qa.models.rowfile import RowFile
from qa.store.paging import IN_BATCH, READ_PAGE
from qa.store.records import ArticleRecord, RecordsAt, records_at

if TYPE_CHECKING:
    import chromadb  # types only: importing it costs a reader ~0.3 s

log = logging.getLogger(__name__)


class SentenceRows:
    """Mixin of `ArticleIndex`: sentences by id, from the sentence file when it is current."""

    def sentence_rows(self, ids: Sequence[str]) -> dict[str, Any]:
        """Sentences by id, as a Chroma `get` with embeddings, documents and metadatas would return them
        (metadata: article_id, version, n, start, end). Served from the sentence file next to a local
        store when it is current, so a reader never loads the sentences collection (see `counts`);
        from Chroma otherwise, or when the file lacks any of them."""
        wanted = list(dict.fromkeys(ids))
        sentence_file = self._current_sentence_file()
        if sentence_file is not None:
            got = sentence_file.rows(wanted)
            if len(got["ids"]) == len(wanted):
                return got
        return self.collection("sentences").get(ids=wanted, include=["embeddings", "documents", "metadatas"])  # type: ignore[return-value]

    def article_sentences(self, record: ArticleRecord) -> dict[str, Any]:
        """Every stored sentence of one article version, in order (as `sentence_rows` returns them)."""
        return self.sentence_rows([f"{record.id}#{record.version}#s{j}" for j in range(record.n_sentences)])

    def _sentence_folder(self) -> Any:
        return None if self.settings.chroma_url else self.settings.vectorstore_dir

    def _current_sentence_file(self) -> SentenceFile | None:
        folder = self._sentence_folder()
        if folder is None:
            return None
        generation = self.generation()
        cached = getattr(self, "_sentence_file", None)
        if cached is not None and cached[0] == generation:
            return cached[1]
        found = None
        try:
            found = SentenceFile.open(folder, self.settings.collection_prefix, self.derived_key())
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring the sentence file next to the store (%s: %s)", exc.__class__.__name__, exc)
        self._sentence_file = (generation, found)
        return found

    def warm_sentence_file(self, *, refresh: Collection[str] = (), full: bool = False,
                           records: RecordsAt | None = None) -> bool:
        """Write the sentence file (ids, spans, texts, vectors) unless a current one exists (`qa index`
        calls this after writing). True if written. Built from the previous file plus the sentences of
        new article versions (and of `refresh`: articles just re-embedded), unless `full` or there is
        no usable previous file: then the whole collection is exported. `records`: see `RecordsAt`."""
        folder = self._sentence_folder()
        if folder is None or not self.exists():
            return False
        key = self.derived_key(reuse_counts=True)
        if SentenceFile.current(folder, self.settings.collection_prefix, key):
            return False
        records = records_at(self, records, key.split("|", 1)[0])
        live = {(r.id, r.version): r.n_sentences for r in records.values()}
        prefix = self.settings.collection_prefix
        previous = None if full else SentenceFile.latest(folder, prefix)
        try:
            self.sentences_read = SentenceFile.write(folder, prefix, key, self.collection("sentences"), live,
                                                     previous=previous, refresh=refresh)
        finally:
            if previous is not None:
                previous.close()
        return True


class SentenceFile:
    """Every live sentence of the index in flat files next to a local store, memory-mapped: ids sorted
    (fixed-width UTF-8, binary search), float32 vectors (exactly the stored ones), spans and texts.

    Derived data, never the source of truth: keyed like the keyword snapshot (generation + counts),
    written to a new folder that is renamed into place before a pointer file is replaced (an interrupted
    write leaves the previous file, which a changed index no longer matches), and readers fall back to
    the sentences collection whenever it is missing, stale or lacks a sentence."""

    FORMAT = 1

    def __init__(self, folder: Any) -> None:
        import numpy as np
        from pathlib import Path

        folder = Path(folder)
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if meta.get("format") != self.FORMAT:
            raise ValueError(f"sentence file format {meta.get('format')}")
        self.key = str(meta["key"])
        self.folder = folder
        # The sorted ids are binary-searched and the small fixed-width columns read in place (mapped);
        # the vectors and texts, the bulk, are read by row (a mapped file read at random grows RSS by
        # read-ahead on every touch: see qa.models.rowfile).
        self.ids = np.load(folder / "ids.npy", mmap_mode="r")
        self.vectors = RowFile.npy(folder / "vectors.npy")
        self.spans = np.load(folder / "spans.npy", mmap_mode="r")
        self.offsets = np.load(folder / "text_offsets.npy", mmap_mode="r")
        self.texts = RowFile.npy(folder / "texts.npy")
        n = int(meta["n"])
        if not (len(self.ids) == len(self.vectors) == len(self.spans) == len(self.offsets) - 1 == n):
            raise ValueError("sentence file parts disagree in length")

    @staticmethod
    def _pointer(folder: Any, prefix: str) -> Any:
        from pathlib import Path

        return Path(folder) / f"{prefix}_sentences.json"

    @classmethod
    def current(cls, folder: Any, prefix: str, key: str) -> bool:
        try:
            pointer = json.loads(cls._pointer(folder, prefix).read_text(encoding="utf-8"))
            return pointer.get("key") == key and (cls._pointer(folder, prefix).parent / pointer["dir"] / "meta.json").is_file()
        except (OSError, ValueError, KeyError, TypeError):
            return False

    @classmethod
    def open(cls, folder: Any, prefix: str, key: str) -> SentenceFile | None:
        try:
            pointer = json.loads(cls._pointer(folder, prefix).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        if pointer.get("key") != key:
            return None
        opened = cls(cls._pointer(folder, prefix).parent / str(pointer["dir"]))
        return opened if opened.key == key else None

    def rows(self, ids: Sequence[str]) -> dict[str, Any]:
        import numpy as np

        out: dict[str, Any] = {"ids": [], "embeddings": [], "documents": [], "metadatas": []}
        if not len(self.ids) or not ids:
            out["embeddings"] = np.zeros((0, self.vectors.shape[1] if self.vectors.ndim == 2 else 0), np.float32)
            return out
        width = self.ids.dtype.itemsize
        encoded = [i.encode("utf-8") for i in ids]
        keys = np.array([e if len(e) <= width else b"" for e in encoded], dtype=self.ids.dtype)
        pos = np.minimum(np.searchsorted(self.ids, keys), len(self.ids) - 1)
        rows = [int(p) for p, k, e in zip(pos, keys, encoded) if len(e) <= width and self.ids[p] == k]
        for r in rows:
            sid = self.ids[r].decode("utf-8")
            article_id, version, n = sid.rsplit("#", 2)
            start, end = (int(x) for x in self.spans[r])
            out["ids"].append(sid)
            out["documents"].append(self.texts.read_bytes(int(self.offsets[r]), int(self.offsets[r + 1])).decode("utf-8"))
            out["metadatas"].append({"article_id": article_id, "version": version, "n": int(n.lstrip("s")), "start": start, "end": end})
        out["embeddings"] = np.asarray(self.vectors.take(np.asarray(rows, dtype=np.int64)), dtype=np.float32)
        return out

    @classmethod
    def latest(cls, folder: Any, prefix: str) -> SentenceFile | None:
        """The file the pointer names, whatever its key: what the next one is built from (None if
        there is none or it cannot be read)."""
        try:
            pointer = json.loads(cls._pointer(folder, prefix).read_text(encoding="utf-8"))
            return cls(cls._pointer(folder, prefix).parent / str(pointer["dir"]))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("not reusing the sentence file (%s: %s); exporting every sentence", exc.__class__.__name__, exc)
            return None

    def close(self) -> None:
        self.vectors.close()
        self.texts.close()

    @classmethod
    def write(cls, folder: Any, prefix: str, key: str, col: chromadb.Collection, live: dict[tuple[str, str], int], *,
              previous: SentenceFile | None = None, refresh: Collection[str] = ()) -> int:
        """Write the file of the live sentences (`live`: (article id, version) -> sentence count).

        With a `previous` file, its rows of article versions still live (and complete, and not in
        `refresh`: articles just re-embedded) are copied and only the other live versions' sentences
        are read from the collection; without one, the whole collection is exported. Either way the
        result is the same file. Returns the number of sentences read from the collection."""
        import numpy as np

        if previous is None:
            return cls._write_full(folder, prefix, key, col, set(live))
        prev_ids = np.asarray(previous.ids)
        heads = [sid.decode("utf-8").rsplit("#", 2)[:2] for sid in prev_ids.tolist()]
        runs: dict[tuple[str, str], list[int]] = {}
        for row, (article_id, version) in enumerate(heads):
            runs.setdefault((article_id, version), []).append(row)
        kept = {pair: rows for pair, rows in runs.items()
                if live.get(pair) == len(rows) and pair[0] not in refresh}  # complete, and not re-embedded
        kept_rows = np.array(sorted(r for rows in kept.values() for r in rows), dtype=np.int64)
        wanted = {pair for pair, n in live.items() if n and pair not in kept}
        if len(wanted) > len(live) // 2:  # mostly new (e.g. after --rebuild): one paged export reads faster
            return cls._write_full(folder, prefix, key, col, set(live))
        new_ids, new_spans, new_vectors, new_texts = _read_sentences(col, wanted)
        ids = [prev_ids[kept_rows], np.array(new_ids, dtype=f"S{max((len(i) for i in new_ids), default=1)}")]
        width = max([int(np.char.str_len(part).max()) for part in ids if len(part)], default=1)
        all_ids = np.concatenate([part.astype(f"S{width}") for part in ids])
        order = np.argsort(all_ids, kind="stable")
        n_kept = len(kept_rows)
        from_prev = order < n_kept
        # Each output row's source: a row of the previous file or a new one; copied in runs of
        # consecutive rows (a small change leaves a few long runs).
        src = order - n_kept
        src[from_prev] = kept_rows[order[from_prev]]
        prev_spans = np.asarray(previous.spans)
        spans = np.zeros((len(order), 2), np.int64)
        spans[from_prev] = prev_spans[src[from_prev]]
        spans[~from_prev] = np.asarray(new_spans, dtype=np.int64).reshape(-1, 2)[src[~from_prev]]
        prev_offsets = np.asarray(previous.offsets)
        new_lengths = np.array([len(t) for t in new_texts], dtype=np.int64)
        new_offsets = np.concatenate([[0], np.cumsum(new_lengths)]).astype(np.int64)
        lengths = np.zeros(len(order), np.int64)
        lengths[from_prev] = np.diff(prev_offsets)[src[from_prev]]
        lengths[~from_prev] = new_lengths[src[~from_prev]]
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        folder_prev = previous.folder
        dim = new_vectors.shape[1] if len(new_ids) else previous.vectors.shape[1] if n_kept else 0
        if n_kept and dim != previous.vectors.shape[1]:
            raise ValueError(f"new sentence vectors have {dim} dimensions, the previous file {previous.vectors.shape[1]}")
        new_blob = b"".join(new_texts)

        def fill(tmp: Any) -> None:
            m = len(order)
            vectors = np.lib.format.open_memmap(tmp / "vectors.npy", mode="w+", dtype=np.float32, shape=(m, dim if m else 0))
            texts = np.lib.format.open_memmap(tmp / "texts.npy", mode="w+", dtype=np.uint8, shape=(int(offsets[-1]),))
            prev_vectors = np.load(folder_prev / "vectors.npy", mmap_mode="r") if n_kept else None
            prev_texts = np.load(folder_prev / "texts.npy", mmap_mode="r") if n_kept else None
            if m:
                step = np.diff(src) != 1
                brk = np.flatnonzero((from_prev[1:] != from_prev[:-1]) | step) + 1
                for a, b in zip(np.concatenate([[0], brk]).tolist(), np.concatenate([brk, [m]]).tolist()):
                    r0, r1 = int(src[a]), int(src[a]) + (b - a)
                    if from_prev[a]:
                        vectors[a:b] = prev_vectors[r0:r1]  # type: ignore[index]
                        texts[offsets[a]:offsets[b]] = prev_texts[prev_offsets[r0]:prev_offsets[r1]]  # type: ignore[index]
                    else:
                        vectors[a:b] = new_vectors[r0:r1]
                        texts[offsets[a]:offsets[b]] = np.frombuffer(new_blob[new_offsets[r0]:new_offsets[r1]], np.uint8)
            vectors.flush()
            texts.flush()
            del vectors, texts
            np.save(tmp / "ids.npy", all_ids[order])
            np.save(tmp / "spans.npy", spans)
            np.save(tmp / "text_offsets.npy", offsets)

        cls._commit(folder, prefix, key, len(order), fill)
        return len(new_ids)

    @classmethod
    def _write_full(cls, folder: Any, prefix: str, key: str, col: chromadb.Collection, live: set[tuple[str, str]]) -> int:
        """Export the live rows of the sentences collection, page by page (no per-float Python objects)."""
        import numpy as np

        total = col.count()
        ids: list[bytes] = []
        spans = np.zeros((total, 2), np.int64)
        vectors: Any = None
        texts: list[bytes] = []
        offset = m = 0
        while True:
            got = col.get(include=["embeddings", "documents", "metadatas"], limit=READ_PAGE, offset=offset)  # type: ignore[list-item]
            page_vectors = np.asarray(got["embeddings"], dtype=np.float32) if len(got["ids"]) else None
            for j, (sid, doc, meta) in enumerate(zip(got["ids"], got["documents"] or [], got["metadatas"] or [])):
                meta = meta or {}
                if (str(meta.get("article_id")), str(meta.get("version"))) not in live or m >= total:
                    continue
                if vectors is None:
                    vectors = np.zeros((total, page_vectors.shape[1]), np.float32)  # type: ignore[union-attr]
                vectors[m] = page_vectors[j]  # type: ignore[index]
                spans[m] = (int(meta["start"]), int(meta["end"]))
                ids.append(sid.encode("utf-8"))
                texts.append((doc or "").encode("utf-8"))
                m += 1
            if len(got["ids"]) < READ_PAGE:
                break
            offset += READ_PAGE
        order = np.argsort(np.array(ids, dtype=f"S{max((len(i) for i in ids), default=1)}"), kind="stable") if ids else np.zeros(0, np.int64)
        sorted_ids = np.array([ids[i] for i in order], dtype=f"S{max((len(i) for i in ids), default=1)}")
        lengths = np.array([len(texts[i]) for i in order], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        blob = np.frombuffer(b"".join(texts[i] for i in order), dtype=np.uint8)

        def fill(tmp: Any) -> None:
            np.save(tmp / "ids.npy", sorted_ids)
            np.save(tmp / "vectors.npy", vectors[:m][order] if vectors is not None else np.zeros((0, 0), np.float32))
            np.save(tmp / "spans.npy", spans[:m][order])
            np.save(tmp / "text_offsets.npy", offsets)
            np.save(tmp / "texts.npy", blob)

        cls._commit(folder, prefix, key, m, fill)
        return m

    @classmethod
    def _commit(cls, folder: Any, prefix: str, key: str, n: int, fill: Callable[[Any], None]) -> None:
        """Write the parts (`fill`) into a new folder, rename it into place, switch the pointer to it
        (the commit point), then remove older folders: an interrupted write leaves the previous file."""
        import tempfile
        import uuid
        from pathlib import Path

        folder = Path(folder)
        tmp = Path(tempfile.mkdtemp(prefix=f".{prefix}_sentences.tmp-", dir=folder))
        try:
            fill(tmp)
            (tmp / "meta.json").write_text(json.dumps({"format": cls.FORMAT, "key": key, "n": n}), encoding="utf-8")
            final = folder / f"{prefix}_sentences-{uuid.uuid4().hex[:12]}"
            os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        pointer = cls._pointer(folder, prefix)
        staged = pointer.with_name(f".{pointer.name}.{os.getpid()}.{uuid.uuid4().hex[:6]}")
        staged.write_text(json.dumps({"key": key, "dir": final.name}), encoding="utf-8")
        os.replace(staged, pointer)  # commit point
        for old in folder.glob(f"{prefix}_sentences-*"):
            if old != final and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
        for stale in folder.glob(f".{prefix}_sentences.tmp-*"):
            if time.time() - stale.stat().st_mtime > 3600:
                shutil.rmtree(stale, ignore_errors=True)


def _read_sentences(col: chromadb.Collection, versions: Collection[tuple[str, str]]) -> tuple[list[bytes], list[tuple[int, int]], Any, list[bytes]]:
    """Ids, spans, vectors and texts (UTF-8) of every sentence of these (article id, version) pairs,
    read by article id in batches and pages (a long `$in` or an unpaged read exceeds Chroma's
    SQL-variable limit)."""
    import numpy as np

    wanted = dict(versions)
    ids: list[bytes] = []
    spans: list[tuple[int, int]] = []
    vectors: list[Any] = []
    texts: list[bytes] = []
    articles = sorted(wanted)
    for i in range(0, len(articles), IN_BATCH):
        batch = articles[i : i + IN_BATCH]
        offset = 0
        while True:
            got = col.get(where={"article_id": {"$in": batch}}, include=["embeddings", "documents", "metadatas"],  # type: ignore[list-item]
                          limit=READ_PAGE, offset=offset)
            page = np.asarray(got["embeddings"], dtype=np.float32) if len(got["ids"]) else None
            for j, (sid, doc, meta) in enumerate(zip(got["ids"], got["documents"] or [], got["metadatas"] or [])):
                meta = meta or {}
                if wanted.get(str(meta.get("article_id"))) == str(meta.get("version")):
                    ids.append(sid.encode("utf-8"))
                    spans.append((int(meta["start"]), int(meta["end"])))
                    vectors.append(page[j])  # type: ignore[index]
                    texts.append((doc or "").encode("utf-8"))
            if len(got["ids"]) < READ_PAGE:
                break
            offset += READ_PAGE
    return ids, spans, (np.stack(vectors) if vectors else np.zeros((0, 0), np.float32)), texts
