"""Chunks and sentences → embeddings → Chroma, kept in step with the articles folder.

Three collections (names prefixed by `Settings.collection_prefix`):

* ``articles``  one record per indexed article: its fingerprint and display metadata. This is
  the commit point: a chunk counts only if its ``version`` equals its article record's.
* ``chunks``    retrieval passages, embedded.
* ``sentences`` every sentence of every article, embedded, for choosing answer sentences.

Updating an article writes its new chunks under new ids first, then its record, then
deletes the old chunks. A crash at any point leaves the previous version answering; the
next `qa index` finishes the job and removes orphans.
"""

from __future__ import annotations

import ctypes
import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import chromadb  # noqa: E402
from chromadb.config import Settings as ChromaSettings  # noqa: E402
from chromadb.errors import NotFoundError  # noqa: E402
from langchain_chroma import Chroma  # noqa: E402
from langchain_core.embeddings import Embeddings  # noqa: E402

from qa.articles import Article, ArticleProblem, LoadResult, load_article, load_articles  # noqa: E402
from qa.chunking import Chunk, chunk_article, split_sentences  # noqa: E402
from qa.embeddings import model_id_of  # noqa: E402
from qa.errors import ArticleError, IndexMismatchError, IndexMissingError, QAError  # noqa: E402
from qa.quotes import QUOTES_EXTRACTOR, QuoteBatch, sync_quotes  # noqa: E402
from qa.settings import Settings  # noqa: E402
from qa.rowfile import RowFile  # noqa: E402

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
COSINE = {"hnsw": {"space": "cosine"}}
RECORD_DIM = 1
"""Article records live in a Chroma collection (it carries the manifest and is the commit point) but are
never searched by vector, so their placeholder vector has one dimension. Chroma loads a collection's
whole vector index into memory on first access: with model-sized placeholders the records of 62,000
articles held ~130 MB in every reader. Stores written before this are migrated by the next `qa index`."""
EMBED_BATCH = 64
# Chroma caps one write; stay well below it.
WRITE_BATCH = 2000


@dataclass
class IndexReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    problems: list[ArticleProblem] = field(default_factory=list)
    chunks_written: int = 0
    sentences_written: int = 0
    orphans_removed: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.removed)} removed, "
            f"{len(self.unchanged)} unchanged articles; {self.chunks_written} chunks and "
            f"{self.sentences_written} sentences embedded; {len(self.problems)} skipped; {self.seconds:.1f} s"
        )


@dataclass(frozen=True)
class ArticleRecord:
    """What the index knows about one article (enough to cite it without the file)."""

    id: str
    title: str
    date: str
    version: str
    content_hash: str
    path: str
    n_chunks: int
    n_sentences: int
    photo_credit: str = ""
    quotes_extractor: int = 0
    """The quote extractor whose quotes were written with this version (0: unknown, an older index)."""
    file_stat: str = ""
    """The file's size, mtime, ctime and inode when it was read for this version ("" if unknown)."""

    @property
    def date_int(self) -> int:
        return date_to_int(self.date)


def date_to_int(date: str | dt.date | None) -> int:
    """YYYYMMDD as an int, 0 for unknown: Chroma filters compare numbers, not strings."""
    if not date:
        return 0
    text = date.isoformat() if isinstance(date, dt.date) else date
    return int(text.replace("-", ""))


def article_version(article: Article, settings: Settings, model_id: str) -> str:
    """Changes whenever the article's chunks or vectors would change."""
    key = f"{SCHEMA_VERSION}|{article.content_hash}|{settings.chunk_size}|{settings.chunk_overlap}|{model_id}"
    return hashlib.sha1(key.encode()).hexdigest()[:12]


def make_client(settings: Settings) -> chromadb.ClientAPI:
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=True)
    if settings.chroma_url:
        from urllib.parse import urlparse

        url = urlparse(settings.chroma_url)
        if not url.hostname:
            raise QAError(f"bad Chroma URL {settings.chroma_url!r}: expected http://host:port")
        try:
            client = chromadb.HttpClient(
                host=url.hostname, port=url.port or 8000, ssl=url.scheme == "https", settings=chroma_settings
            )
            client.heartbeat()
        except Exception as exc:
            raise QAError(
                f"cannot reach the Chroma server at {settings.chroma_url} ({exc.__class__.__name__}); "
                "start it with `chroma run --path <dir> --port <port>` or unset QA_CHROMA_URL"
            ) from None
        return client
    path = settings.vectorstore_dir
    path.mkdir(parents=True, exist_ok=True)
    try:
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:
        # Chroma caches the half-started system per path; drop it so a rebuilt store can be opened.
        from chromadb.api.shared_system_client import SharedSystemClient

        SharedSystemClient._identifier_to_system.pop(str(path), None)
        raise QAError(
            f"the index in {path} cannot be opened ({exc.__class__.__name__}: {exc}); "
            "rebuild it with `qa index --rebuild`"
        ) from None


class ArticleIndex:
    """The persisted index: write side (`update`) and read side (records, vector store)."""

    def __init__(self, settings: Settings, embeddings: Embeddings, client: chromadb.ClientAPI | None = None) -> None:
        self.settings = settings
        self.embeddings = embeddings
        self.model_id = model_id_of(embeddings)
        self._client = client
        prefix = settings.collection_prefix
        self.names = {kind: f"{prefix}_{kind}" for kind in ("articles", "chunks", "sentences", "quotes")}
        self._stores: dict[str, Chroma] = {}
        self._writes = 0

    @property
    def client(self) -> chromadb.ClientAPI:
        """Opened on first use, so that `qa index --rebuild` can still replace a store that cannot be opened."""
        if self._client is None:
            self._client = make_client(self.settings)
        return self._client

    # ----------------------------------------------------------------- state
    def _existing(self) -> set[str]:
        return {c.name if hasattr(c, "name") else str(c) for c in self.client.list_collections()}

    def _articles_collection(self) -> chromadb.Collection | None:
        """The commit-point collection, or None before the first `qa index`. One Chroma call (listing
        the collections costs twice as much, and this runs several times per question)."""
        try:
            return self.client.get_collection(self.names["articles"])
        except (NotFoundError, ValueError):
            return self._finish_record_migration()

    # ----------------------------------------------------------------- record migration
    @property
    def _staging_name(self) -> str:
        return f"{self.names['articles']}_next"

    def _migrate_records(self) -> None:
        """Rewrite the article records of a store that predates `RECORD_DIM` with 1-dim placeholders.

        Chroma cannot change a collection's dimension, so the records are copied to a staging
        collection, which is marked complete (`records_migrated` in its metadata), then the old one is
        dropped and the staging one renamed. Interrupted before the mark: the old collection is intact
        and the next run starts over. After it: any process that finds no records collection finishes
        the rename (`_finish_record_migration`), so the index is never lost. Only `qa index` migrates."""
        old = self._articles_collection()
        if old is None:
            return
        manifest = dict(old.metadata or {})
        try:
            self.client.delete_collection(self._staging_name)  # an earlier, interrupted attempt
        except (NotFoundError, ValueError):
            pass
        staging = self.client.create_collection(
            name=self._staging_name, configuration=COSINE,  # type: ignore[arg-type]
            metadata={**manifest, "record_dim": RECORD_DIM}, embedding_function=None)
        got = get_all(old, ["metadatas"])
        for i in range(0, len(got["ids"]), WRITE_BATCH):
            ids = got["ids"][i : i + WRITE_BATCH]
            staging.upsert(ids=ids, embeddings=[[1.0] * RECORD_DIM] * len(ids), metadatas=got["metadatas"][i : i + WRITE_BATCH])  # type: ignore[arg-type,index]
        migrated = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        staging.modify(metadata={**manifest, "record_dim": RECORD_DIM, "records_migrated": migrated})
        self.client.delete_collection(self.names["articles"])
        self._finish_record_migration()
        log.info("article records rewritten with %d-dimensional placeholders (%d records)", RECORD_DIM, len(got["ids"]))

    def _finish_record_migration(self) -> chromadb.Collection | None:
        """The records collection of a migration that was complete when it stopped, renamed into
        place (None if there is none): the fix-forward for a stop between dropping the old records
        and renaming the new ones."""
        try:
            staging = self.client.get_collection(self._staging_name)
        except (NotFoundError, ValueError):
            return None
        if not (staging.metadata or {}).get("records_migrated"):
            return None  # incomplete: the old records are still there (or the store was removed)
        try:
            staging.modify(name=self.names["articles"])
        except Exception:  # another process renamed it first
            pass
        try:
            return self.client.get_collection(self.names["articles"])
        except (NotFoundError, ValueError):
            return None

    def exists(self) -> bool:
        return self._articles_collection() is not None

    def manifest(self) -> dict[str, Any]:
        col = self._articles_collection()
        return dict(col.metadata or {}) if col is not None else {}

    def check_compatible(self) -> None:
        """Raise unless the stored index was built by this model with this schema."""
        col = self._articles_collection()
        if col is None:
            raise IndexMissingError(
                f"no index yet in {self.location}: run `qa index` to build it from {self.settings.articles_dir}"
            )
        manifest = dict(col.metadata or {})
        built_with = manifest.get("embedding_model")
        if built_with != self.model_id:
            raise IndexMismatchError(
                f"the index was built with the embedding model {built_with!r} but the current model is "
                f"{self.model_id!r}; rebuild it with `qa index --rebuild` (or set QA_EMBEDDER back)"
            )
        if manifest.get("schema_version") != SCHEMA_VERSION:
            raise IndexMismatchError(
                f"the index uses schema {manifest.get('schema_version')} but this version of article-qa needs "
                f"{SCHEMA_VERSION}; rebuild it with `qa index --rebuild`"
            )

    @property
    def location(self) -> str:
        return self.settings.chroma_url or str(self.settings.vectorstore_dir)

    def collection(self, kind: str) -> chromadb.Collection:
        if kind == "articles" and (col := self._articles_collection()) is not None:
            return col
        return self.client.get_collection(self.names[kind])

    def article_text(self, article_id: str, version: str) -> str:
        """An indexed article's text put back together from its chunks (their offsets are exact;
        a gap, which chunking never leaves, would read as newlines)."""
        got = self.collection("chunks").get(
            where={"$and": [{"article_id": article_id}, {"version": version}]}, include=["documents", "metadatas"])
        size = max((int(m["end"]) for m in got["metadatas"] or []), default=0)
        chars = ["\n"] * size
        for doc, meta in zip(got["documents"] or [], got["metadatas"] or []):
            chars[int(meta["start"]):int(meta["end"])] = list(doc)
        return "".join(chars)

    def vectorstore(self, kind: str = "chunks") -> Chroma:
        """A LangChain `Chroma` over one of our collections, embedding with our model only.

        Built once per collection and kept: constructing one costs ~0.1 s (it re-reads chromadb's
        settings), far too much per query. `reset` forgets them with the collections."""
        store = self._stores.get(kind)
        if store is None:
            store = self._stores[kind] = Chroma(
                client=self.client,
                collection_name=self.names[kind],
                embedding_function=self.embeddings,
                collection_configuration=COSINE,  # type: ignore[arg-type]
                create_collection_if_not_exists=False,
            )
        return store

    def generation(self) -> str:
        """Changes on every committed write; readers use it to refresh their caches.

        Two parts: the stored generation (writes by other processes, e.g. `qa index` while the page
        runs) and this object's own write count. Chroma may serve collection metadata from a cache for
        a moment after `modify`, so a reader in this process must not depend on it alone: an upload
        followed at once by a question about it found the old snapshot (a flaky page test)."""
        col = self._articles_collection()
        if col is None:
            return ""
        return f"{(col.metadata or {}).get('generation', '')}/{self._writes}"

    def stored_generation(self) -> str:
        """The committed-write stamp alone (shared by every process): keys files derived from the index."""
        return str(self.manifest().get("generation", ""))

    def _bump_generation(self) -> None:
        self._writes += 1
        col = self.collection("articles")
        meta = dict(col.metadata or {})
        meta["generation"] = f"{time.time_ns()}"
        col.modify(metadata=meta)

    def records(self, ids: Sequence[str] | None = None) -> dict[str, ArticleRecord]:
        """Every article record, or only those of `ids` (one read by id)."""
        if ids is not None:
            if not ids:
                return {}
            col = self._articles_collection()
            got = col.get(ids=list(ids), include=["metadatas"]) if col is not None else {"ids": [], "metadatas": []}
        elif not self.exists():
            return {}
        else:
            got = get_all(self.collection("articles"), ["metadatas"])
        out: dict[str, ArticleRecord] = {}
        for rid, meta in zip(got["ids"], got["metadatas"] or []):
            meta = dict(meta or {})
            out[rid] = ArticleRecord(
                id=rid,
                title=str(meta.get("title", "")),
                date=str(meta.get("date", "")),
                version=str(meta.get("version", "")),
                content_hash=str(meta.get("content_hash", "")),
                path=str(meta.get("path", "")),
                n_chunks=int(meta.get("n_chunks", 0)),
                n_sentences=int(meta.get("n_sentences", 0)),
                photo_credit=str(meta.get("photo_credit", "")),
                quotes_extractor=int(meta.get("quotes_extractor", 0)),
                file_stat=str(meta.get("file_stat", "")),
            )
        if ids is None:
            del got
            give_back_heap()
        return out

    # ----------------------------------------------------------------- write
    def _create_collections(self) -> None:
        manifest = {
            "embedding_model": self.model_id,
            "schema_version": SCHEMA_VERSION,
            "record_dim": RECORD_DIM,
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        }
        for kind, name in self.names.items():
            self.client.get_or_create_collection(
                name=name,
                configuration=COSINE,  # type: ignore[arg-type]
                metadata=manifest if kind == "articles" else {"schema_version": SCHEMA_VERSION},
                embedding_function=None,
            )

    def reset(self) -> None:
        """Drop every collection (and, for a local store that cannot be opened, the folder)."""
        self._stores.clear()
        for name in [*self.names.values(), self._staging_name]:
            if name in self._existing():
                self.client.delete_collection(name)

    def update(
        self,
        articles: Sequence[Article],
        *,
        problems: Sequence[ArticleProblem] = (),
        remove_missing: bool = True,
        progress: Callable[[int, int], None] | None = None,
        records: dict[str, ArticleRecord] | None = None,
    ) -> IndexReport:
        """Bring the index in line with `articles`: embed only what changed.

        `records`: the index's records if the caller just read them (`build_index`); articles may then
        be stand-ins for files unchanged since they were indexed (`load_changed_articles`): one that
        must be written after all is read for real first."""
        started = time.perf_counter()
        report = IndexReport(problems=list(problems))
        if self.exists():
            self.check_compatible()
            if self.manifest().get("record_dim") != RECORD_DIM:
                self._migrate_records()
        else:
            self._create_collections()
        records = records if records is not None else self.records()
        # The damage check: when the stored chunk and sentence counts are exactly what the records
        # promise, nothing is missing or orphaned and the per-article scan is skipped (it reads every
        # chunk's and sentence's metadata: ~10 s at 10k chunks). Otherwise one metadata-only scan
        # serves both the damage check and, if nothing is written, orphan removal.
        scans = None
        if records and not self._counts_match(records):
            scans = {kind: self._stored(kind, documents=False) for kind in ("chunks", "sentences")}
        broken = self.incomplete(scans, records) if scans else set()  # e.g. a damaged store: re-embed, don't trust
        current = {a.id: a for a in articles}
        pending: list[tuple[Article, str]] = []
        for article in articles:
            version = article_version(article, self.settings, self.model_id)
            old = records.get(article.id)
            if old is not None and old.version == version and article.id not in broken:
                report.unchanged.append(article.id)
            else:
                pending.append((article, version))
                (report.updated if old is not None else report.added).append(article.id)
        pending = self._read_stand_ins(pending, report)
        # An unreadable file must not remove the article it replaces: keep its last good version.
        skipped = {p.path.name for p in report.problems}
        if remove_missing:
            report.removed = sorted(rid for rid in records if rid not in current and rid not in skipped)
        # Quotes of unchanged articles, if this index predates them or the extractor changed (a record
        # written with the current extractor had its quotes written before it: nothing to check).
        synced = sync_quotes(self, articles, {rid: records[rid].version for rid in report.unchanged
                                              if records[rid].quotes_extractor != QUOTES_EXTRACTOR})
        self._note_unchanged(articles, records, report)
        self._write(pending, report, progress)
        for rid in report.removed:
            self._delete_article(rid)
        written = bool(pending or report.removed)
        if written or scans:
            report.orphans_removed = self._remove_orphans(None if written else scans, None if written else records)
        else:  # the counts matched above and nothing was written: only quotes can be orphaned
            report.orphans_removed = self._remove_orphans(None, records, kinds=("quotes",))
        if pending or report.removed or report.orphans_removed or synced:
            self._bump_generation()
        report.seconds = time.perf_counter() - started
        return report

    def _note_unchanged(self, articles: Sequence[Article], records: dict[str, ArticleRecord], report: IndexReport) -> None:
        """Record, for unchanged articles read in full, their file's stat (so the next run need not read
        them) and that their quotes are current (sync_quotes just made sure). Metadata only: readers
        see no change, so the generation stays."""
        unchanged = set(report.unchanged)
        ids, metas = [], []
        for article in articles:
            rec = records.get(article.id)
            key = article.metadata.get(FILE_STAT, "")
            if article.id in unchanged and rec is not None and not article.metadata.get(STAND_IN) and (
                    (key and rec.file_stat != key) or rec.quotes_extractor != QUOTES_EXTRACTOR):
                ids.append(article.id)
                metas.append({"file_stat": key or rec.file_stat, "quotes_extractor": QUOTES_EXTRACTOR})
        col = self.collection("articles") if ids else None
        for i in range(0, len(ids), WRITE_BATCH):
            col.update(ids=ids[i : i + WRITE_BATCH], metadatas=metas[i : i + WRITE_BATCH])  # type: ignore[union-attr, arg-type]

    @staticmethod
    def _read_stand_ins(pending: list[tuple[Article, str]], report: IndexReport) -> list[tuple[Article, str]]:
        """Stand-ins (unchanged files not read) that must be written after all, e.g. damaged in the
        store: read them now. A file that fails to read keeps its indexed version."""
        out = []
        for article, version in pending:
            if article.metadata.get(STAND_IN):
                try:
                    article = load_article(article.path)
                except ArticleError as exc:
                    report.problems.append(ArticleProblem(article.path, exc.reason))
                    for kind in (report.added, report.updated):
                        if article.id in kind:
                            kind.remove(article.id)
                    report.unchanged.append(article.id)
                    continue
                article = _with_stat(article)
            out.append((article, version))
        return out

    def _write(
        self, pending: list[tuple[Article, str]], report: IndexReport, progress: Callable[[int, int], None] | None
    ) -> None:
        total = len(pending)
        group: list[tuple[Article, str, list[Chunk], list[tuple[int, int]]]] = []
        group_texts = 0
        done = 0
        for article, version in pending:
            chunks = chunk_article(article, self.settings.chunk_size, self.settings.chunk_overlap)
            sentences = [(s.start, s.end) for s in split_sentences(article.text, self.settings.chunk_size)]
            group.append((article, version, chunks, sentences))
            group_texts += len(chunks) + len(sentences)
            if group_texts >= EMBED_BATCH * 4:
                self._write_group(group, report)
                done += len(group)
                group, group_texts = [], 0
                if progress:
                    progress(done, total)
        if group:
            self._write_group(group, report)
            done += len(group)
            if progress:
                progress(done, total)

    def _write_group(self, group: list[tuple[Article, str, list[Chunk], list[tuple[int, int]]]], report: IndexReport) -> None:
        chunk_texts = [c.text for _, _, chunks, _ in group for c in chunks]
        sentence_texts = [a.text[s:e] for a, _, _, sents in group for s, e in sents]
        vectors = self.embeddings.embed_documents(chunk_texts + sentence_texts)
        chunk_vecs, sent_vecs = vectors[: len(chunk_texts)], vectors[len(chunk_texts) :]
        ci = si = 0
        chunks_col, sents_col, arts_col = self.collection("chunks"), self.collection("sentences"), self.collection("articles")
        quote_batch = QuoteBatch(self, [article for article, _, _, _ in group])
        # One write per collection per group, not per article: each Chroma write has a fixed cost
        # (~20-150 ms) that dominated indexing at 10k+ articles. Records still follow their chunks.
        sent_rows: dict[str, list[Any]] = {"ids": [], "embeddings": [], "documents": [], "metadatas": []}
        chunk_rows: dict[str, list[Any]] = {"ids": [], "embeddings": [], "documents": [], "metadatas": []}
        record_ids: list[str] = []
        record_metas: list[dict[str, Any]] = []
        for article, version, chunks, sentences in group:
            base = {"article_id": article.id, "version": version, "date": article.date_str, "date_int": date_to_int(article.date)}
            sent_index = {span: j for j, span in enumerate(sentences)}
            sent_rows["ids"] += [f"{article.id}#{version}#s{j}" for j in range(len(sentences))]
            sent_rows["embeddings"] += sent_vecs[si : si + len(sentences)]
            sent_rows["documents"] += [article.text[s:e] for s, e in sentences]
            sent_rows["metadatas"] += [{**base, "start": s, "end": e, "n": j} for j, (s, e) in enumerate(sentences)]
            si += len(sentences)
            chunk_rows["ids"] += [f"{article.id}#{version}#{c.index}" for c in chunks]
            chunk_rows["embeddings"] += chunk_vecs[ci : ci + len(chunks)]
            chunk_rows["documents"] += [c.text for c in chunks]
            chunk_rows["metadatas"] += [
                {
                    **base,
                    "title": article.title,
                    "index": c.index,
                    "start": c.start,
                    "end": c.end,
                    "sentences": json.dumps([sent_index[(s.start, s.end)] for s in c.sentences]),
                }
                for c in chunks
            ]
            ci += len(chunks)
            record_ids.append(article.id)
            record_metas.append(
                {
                    **base,
                    "title": article.title,
                    "content_hash": article.content_hash,
                    "path": str(article.path),
                    "n_chunks": len(chunks),
                    "n_sentences": len(sentences),
                    "photo_credit": article.photo_credit or "",
                    "quotes_extractor": QUOTES_EXTRACTOR,
                    "file_stat": article.metadata.get(FILE_STAT, ""),
                    "indexed_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                }
            )
            report.chunks_written += len(chunks)
            report.sentences_written += len(sentences)
        _add(sents_col, **sent_rows)
        _add(chunks_col, **chunk_rows)
        for article, version, _, _ in group:
            quote_batch.write(article, version)
        # Commit point: from here on queries see the new versions.
        arts_col.upsert(ids=record_ids, embeddings=[[1.0] * RECORD_DIM] * len(record_ids), metadatas=record_metas)  # type: ignore[arg-type]
        # Earlier versions exist only for articles that were indexed before (crash leftovers: _remove_orphans).
        replaced = set(report.updated)
        for article, version, _, _ in group:
            if article.id in replaced:
                for kind in ("chunks", "sentences", "quotes"):
                    self.collection(kind).delete(where={"$and": [{"article_id": article.id}, {"version": {"$ne": version}}]})
        self._bump_generation()

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

    def _delete_article(self, article_id: str) -> None:
        self.collection("articles").delete(ids=[article_id])
        for kind in ("chunks", "sentences", "quotes"):
            self.collection(kind).delete(where={"article_id": article_id})

    def _counts_match(self, records: dict[str, ArticleRecord]) -> bool:
        """The chunks and sentences collections hold exactly as many rows as the records promise."""
        counts = self.counts()
        return (counts["chunks"] == sum(r.n_chunks for r in records.values())
                and counts["sentences"] == sum(r.n_sentences for r in records.values()))

    def counts(self, kinds: Sequence[str] = ("articles", "chunks", "sentences"), *, reuse: bool = False) -> dict[str, int]:
        """Rows per collection. `reuse`: take the counts the last `update` read if nothing was written
        since (once; `qa index` needs them twice and the first count of a collection in a process costs
        ~1 s at 50k rows). Never reused otherwise: a damaged store changes counts without a new generation.

        Readers never count (or otherwise touch) the sentences collection: Chroma loads a collection's
        whole vector index into memory on first access, ~2.4 KB per sentence (1.2 GB at 500k)."""
        cached, self._counts = getattr(self, "_counts", None), None
        if reuse and cached is not None and cached[0] == self.generation() and all(k in cached[1] for k in kinds):
            return {k: cached[1][k] for k in kinds}
        counts = {kind: self.collection(kind).count() for kind in kinds}
        self._counts = (self.generation(), counts)
        return dict(counts)

    def derived_key(self, *, reuse_counts: bool = False) -> str:
        """What a file derived from the index (keyword snapshot, sentence file) must match to be used:
        the committed-write stamp plus the article and chunk counts (a crash between a record write and
        its stamp would otherwise leave the stamp unchanged)."""
        counts = self.counts(("articles", "chunks"), reuse=reuse_counts)
        return f"{self.stored_generation()}|{counts['articles']}|{counts['chunks']}"

    # ----------------------------------------------------------------- sentence file
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

    def _remove_orphans(self, scans: dict[str, dict[tuple[str, str], list[Any]]] | None = None,
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
        records = self.records()
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
        col = self.collection("chunks")
        for r in records.values():
            first = f"{r.id}#{r.version}#0"
            got = col.get(ids=[first], include=["embeddings"])
            if not got["ids"]:
                continue  # already reported as missing above
            if not self._vector_index_finds(col, first, got["embeddings"][0]):
                problems.append(f"{r.id}: its first chunk is stored but the vector index does not find it")
        return problems


STAND_IN = "qa-stand-in"
"""Article.metadata key marking an article built from its index record, its file not read."""
FILE_STAT = "qa-file-stat"
"""Article.metadata key: the file's stat fingerprint when it was read."""


def _stat_key(path: Any) -> str:
    st = os.stat(path)
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"


def _with_stat(article: Article, key: str | None = None) -> Article:
    """The article with the stat fingerprint of its file as read (taken before reading: a write
    during the read changes the file's stat, so the next run reads it again)."""
    try:
        key = key or _stat_key(article.path)
    except OSError:
        return article
    return dataclasses.replace(article, metadata={**article.metadata, FILE_STAT: key})


def load_changed_articles(folder: Any, records: dict[str, ArticleRecord]) -> LoadResult:
    """`load_articles`, except that a file whose size, mtime, ctime and inode are exactly those
    recorded when its indexed version was read is not read again: a stand-in is made from the record
    (same id, content hash, title and date; no text). Any difference, even a `touch`, means the file
    is read and hashed as usual (then only a changed hash re-embeds). ctime cannot be set by users,
    so a file replaced with its old mtime kept (cp -p, rsync -t) is still read.

    A no-op `qa index` then costs a stat per file instead of a read, decode and hash (~0.4 ms each)."""
    from pathlib import Path

    def read(path: Path) -> Article:
        rec = records.get(path.name)
        try:
            key = _stat_key(path)
        except OSError:
            key = ""
        if rec is not None and key and rec.file_stat == key and rec.quotes_extractor == QUOTES_EXTRACTOR:
            return Article(id=rec.id, path=path, title=rec.title, date=_parse_date(rec.date), text="",
                           content_hash=rec.content_hash, photo_credit=rec.photo_credit or None,
                           metadata={STAND_IN: "1", FILE_STAT: key})
        return _with_stat(load_article(path), key or None)

    return load_articles(Path(folder), read)


def _parse_date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


class RecordsAt:
    """Every article record with the committed-write stamp read just before them, read once on first
    use: `qa index` hands one to both derived files, which otherwise read all records each (~1.5 s
    per 6k articles)."""

    def __init__(self, index: ArticleIndex) -> None:
        self.index = index
        self._got: tuple[str, dict[str, ArticleRecord]] | None = None

    def __call__(self) -> tuple[str, dict[str, ArticleRecord]]:
        if self._got is None:
            generation = self.index.stored_generation()
            self._got = (generation, self.index.records())
        return self._got


def records_at(index: ArticleIndex, given: RecordsAt | None, generation: str) -> dict[str, ArticleRecord]:
    """The records `given` holds if they were read at `generation` (the one a derived file is keyed
    by: nothing was committed between), else read now."""
    if given is not None:
        read_at, records = given()
        if read_at == generation:
            return records
    return index.records()


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
        # read-ahead on every touch: see qa.rowfile).
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


IN_BATCH = 500
"""Article ids per `$in` filter (each is an SQL variable; Chroma's SQLite allows 32,766 per statement)."""
READ_PAGE = 5000
"""Rows per read: one unpaged `get` of a large collection fails in Chroma ("too many SQL variables", >32k rows)."""


def give_back_heap() -> None:
    """Return free heap pages to the OS after reading a whole collection. Its rows arrive as many small
    objects, freed together, but glibc keeps the pages (also in the arenas of Chroma's threads): listing
    the records of 62,000 articles left ~220 MB of free heap counted in the page's RSS. No-op elsewhere."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def get_all(col: chromadb.Collection, include: list[str]) -> dict[str, list[Any]]:
    """Every row of `col` (ids plus `include` fields), read in pages."""
    out: dict[str, list[Any]] = {"ids": [], **{key: [] for key in include}}
    offset = 0
    while True:
        got = col.get(include=include, limit=READ_PAGE, offset=offset)  # type: ignore[arg-type]
        out["ids"] += got["ids"]
        for key in include:
            out[key] += got.get(key) or []  # type: ignore[operator]
        if len(got["ids"]) < READ_PAGE:
            return out
        offset += READ_PAGE


def _add(col: chromadb.Collection, *, ids: list[str], embeddings: list[list[float]], documents: list[str], metadatas: list[dict[str, Any]]) -> None:
    for i in range(0, len(ids), WRITE_BATCH):
        sl = slice(i, i + WRITE_BATCH)
        if ids[sl]:
            col.upsert(ids=ids[sl], embeddings=embeddings[sl], documents=documents[sl], metadatas=metadatas[sl])  # type: ignore[arg-type]


def build_index(settings: Settings, embeddings: Embeddings, *, rebuild: bool = False,
                progress: Callable[[int, int], None] | None = None, index: ArticleIndex | None = None) -> IndexReport:
    """`qa index`: load the articles folder and bring the index up to date.

    `index`: an open index to update (so its readers see the write at once); a rebuild always opens
    a fresh one, since the old store may be unreadable."""
    if rebuild or index is None:
        index = ArticleIndex(settings, embeddings, client=_client_for_rebuild(settings) if rebuild else None)
    if rebuild:
        index.reset()
    records = index.records() if index.exists() else {}
    if records and index.names["quotes"] not in index._existing():
        # The quotes collection is gone (an index from before quotes, or a damaged store): no record's
        # quotes are current, so every file is read and its quotes backfilled.
        records = {rid: replace(rec, quotes_extractor=0) for rid, rec in records.items()}
    loaded = load_changed_articles(settings.articles_dir, records)
    report = index.update(loaded.articles, problems=loaded.problems, progress=progress, records=records)
    # The keyword (BM25) snapshot of the new state, saved next to the store: otherwise the first
    # question after a start tokenizes every chunk (~15 s at 10k chunks). A no-op finds it current.
    from qa.retrieval import warm_snapshot

    started = time.perf_counter()
    records_now = RecordsAt(index)
    warmed = warm_snapshot(index, records=records_now)
    try:
        # Re-embedded articles' rows are read again (a repaired article keeps its id and version).
        warmed = index.warm_sentence_file(refresh=set(report.added) | set(report.updated), records=records_now) or warmed
    except OSError as exc:
        log.warning("could not write the sentence file next to the store (%s); readers use the collection", exc)
    if warmed:
        report.seconds += time.perf_counter() - started
    # Reported with the problems, but not passed to update(): a copy's old record must go.
    report.problems.extend(loaded.duplicates)
    return report


def _client_for_rebuild(settings: Settings) -> chromadb.ClientAPI:
    """A store that cannot even be opened is moved aside, so `--rebuild` always recovers."""
    try:
        return make_client(settings)
    except QAError:
        if settings.chroma_url:
            raise
        broken = settings.vectorstore_dir.with_name(settings.vectorstore_dir.name + f".broken-{int(time.time())}")
        shutil.move(str(settings.vectorstore_dir), broken)
        log.warning("moved the unreadable index to %s", broken)
        return make_client(settings)

