"""Consistency of the stored index: what `qa index --check` reports, and the vector-index repair.

Chroma's HNSW index now and then does not return a chunk that is stored with its vector (seen
under load, right after a write from another thread). `unfound_chunks` finds such chunks (each
article's first chunk, searched with its own vector) and `repair_vectors` re-adds their vectors,
which puts them back into the vector index.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from qa.errors import QAError
from qa.store.paging import IN_BATCH, get_all
from qa.store.records import ArticleRecord

if TYPE_CHECKING:
    import chromadb  # types only: importing it costs a reader ~0.3 s


class Checks:
    """Mixin of `ArticleIndex`: counts against records, per-article scans, the full check, the HNSW repair."""

    @staticmethod
    def _vector_index_finds(col: chromadb.Collection, chunk_id: str, vector: Any) -> bool:
        """Does a search with the chunk's own vector return it? Asked twice, a moment apart and the
        second time with a wider search: right after a write from another thread the approximate index
        was seen not to return it among the first 10 (a flaky concurrency test; Chroma's HNSW searches
        with ef = max(ef_search 10, n_results), and a poorly connected new node can be missed), while a
        vector that is not in the index at all is missed by any search."""
        for attempt, wanted in enumerate((10, 200)):
            hits = col.query(query_embeddings=[vector], n_results=min(wanted, col.count()), include=[])
            if chunk_id in hits["ids"][0]:
                return True
            if attempt == 0:
                time.sleep(0.5)
        return False

    def _counts_match(self, records: dict[str, ArticleRecord]) -> bool:
        """The chunks and sentences collections hold exactly as many rows as the records promise."""
        counts = self.counts()
        return (counts["chunks"] == sum(r.n_chunks for r in records.values())
                and counts["sentences"] == sum(r.n_sentences for r in records.values()))

    def _stored(self, kind: str, *, documents: bool = True) -> dict[tuple[str, str], list[tuple[str, dict[str, Any], str]]]:
        """(article_id, version) → [(id, metadata, document)] of one collection (document "" if not asked for)."""
        got = get_all(self.collection(kind), ["metadatas", "documents"] if documents else ["metadatas"])
        out: dict[tuple[str, str], list[tuple[str, dict[str, Any], str]]] = {}
        for rid, meta, doc in zip(got["ids"], got["metadatas"] or [], got.get("documents") or [""] * len(got["ids"])):
            meta = dict(meta or {})
            out.setdefault((str(meta.get("article_id")), str(meta.get("version"))), []).append((rid, meta, doc or ""))
        return out

    def incomplete(self, scans: dict[str, dict[tuple[str, str], list[Any]]] | None = None,
                   records: dict[str, ArticleRecord] | None = None) -> set[str]:
        """Article ids whose committed version lacks chunks or sentences (`update` re-embeds them)."""
        records = records if records is not None else self.records()
        scans = scans or {kind: self._stored(kind, documents=False) for kind in ("chunks", "sentences")}
        chunks, sentences = scans["chunks"], scans["sentences"]
        return {
            r.id for r in records.values()
            if len(chunks.get((r.id, r.version), [])) != r.n_chunks
            or len(sentences.get((r.id, r.version), [])) != r.n_sentences
        }

    def check(self) -> list[str]:
        """Consistency problems of the stored index, one line each (empty list: consistent).

        Checks the manifest, that every article record's chunks and sentences are all present
        under its committed version with offsets that agree with each other, that nothing is
        orphaned, and that the vector index finds each article's first chunk.
        """
        try:
            self.check_compatible()
        except QAError as exc:
            return [str(exc)]
        problems: list[str] = []
        records = self.stored_records()
        chunks, sentences = self._stored("chunks"), self._stored("sentences")
        for r in sorted(records.values(), key=lambda r: r.id):
            have_c, have_s = chunks.get((r.id, r.version), []), sentences.get((r.id, r.version), [])
            if len(have_c) != r.n_chunks:
                problems.append(f"{r.id}: {len(have_c)} of {r.n_chunks} chunks present")
            if len(have_s) != r.n_sentences:
                problems.append(f"{r.id}: {len(have_s)} of {r.n_sentences} sentences present")
            sents = {int(m["n"]): (int(m["start"]), int(m["end"]), d) for _, m, d in have_s}
            for cid, meta, doc in have_c:
                c_start, c_end = int(meta["start"]), int(meta["end"])
                if c_end - c_start != len(doc):
                    problems.append(f"{cid}: offsets {c_start}-{c_end} do not match its text ({len(doc)} chars)")
                for n in json.loads(str(meta.get("sentences", "[]"))):
                    got = sents.get(int(n))
                    if got is None:
                        problems.append(f"{cid}: refers to missing sentence {n}")
                    elif not (c_start <= got[0] < got[1] <= c_end and doc[got[0] - c_start : got[1] - c_start] == got[2]):
                        problems.append(f"{cid}: sentence {n} does not lie in the chunk text")
        live = {(r.id, r.version) for r in records.values()}
        for kind, stored in (("chunks", chunks), ("sentences", sentences)):
            orphans = sum(len(v) for key, v in stored.items() if key not in live)
            if orphans:
                problems.append(f"{orphans} orphaned {kind} (left by an interrupted run)")
        unfound = self.unfound_chunks(f"{r.id}#{r.version}#0" for r in sorted(records.values(), key=lambda r: r.id))
        self.note_unfound(unfound)
        for cid in unfound:
            problems.append(f"{cid.split('#', 1)[0]}: its first chunk is stored but the vector index does not find it"
                            " (`qa index` re-adds its vector)")
        return problems

    def unfound_chunks(self, chunk_ids: Iterable[str]) -> list[str]:
        """Those of `chunk_ids` that are stored but that a search with their own stored vector does not
        return (one batched search first; each miss is then asked again, see `_vector_index_finds`)."""
        ids = list(dict.fromkeys(chunk_ids))
        if not ids:
            return []
        col = self.collection("chunks")
        n = col.count()
        vectors: dict[str, Any] = {}
        missed: set[str] = set()
        for i in range(0, len(ids), IN_BATCH):
            got = col.get(ids=ids[i : i + IN_BATCH], include=["embeddings"])
            if not got["ids"]:
                continue
            batch = dict(zip(got["ids"], got["embeddings"]))
            vectors.update(batch)
            hits = col.query(query_embeddings=list(batch.values()), n_results=min(10, n), include=[])
            missed |= {cid for cid, found in zip(batch, hits["ids"]) if cid not in found}
        return [cid for cid in ids if cid in missed and not self._vector_index_finds(col, cid, vectors[cid])]

    def note_unfound(self, chunk_ids: Sequence[str]) -> None:
        """Remember chunks the vector index does not return (in the manifest; no new generation), so
        that the next `qa index` re-adds them."""
        col = self._articles_collection()
        if col is None:
            return
        meta = dict(col.metadata or {})
        wanted = json.dumps(sorted(chunk_ids))
        if meta.get("unfound_chunks", "[]") == wanted:
            return
        col.modify(metadata={**meta, "unfound_chunks": wanted})

    def noted_unfound(self) -> list[str]:
        return [str(c) for c in json.loads(str(self.manifest().get("unfound_chunks") or "[]"))]

    def repair_vectors(self, chunk_ids: Iterable[str]) -> int:
        """Re-add the stored vectors of these chunks: deleting and adding a row again inserts it into the
        HNSW graph anew (an upsert of an unchanged vector may leave the graph as it is). Same ids, texts,
        metadata and vectors, so nothing else changes. Returns how many were re-added."""
        ids = list(dict.fromkeys(chunk_ids))
        if not ids:
            return 0
        col = self.collection("chunks")
        got = col.get(ids=ids, include=["embeddings", "documents", "metadatas"])
        if not got["ids"]:
            return 0
        rows: dict[str, Any] = {"ids": list(got["ids"]), "embeddings": [list(map(float, e)) for e in got["embeddings"]],
                                "documents": list(got["documents"] or []), "metadatas": list(got["metadatas"] or [])}
        col.delete(ids=rows["ids"])
        col.add(**rows)
        return len(rows["ids"])
