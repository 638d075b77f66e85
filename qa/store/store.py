"""The store: Chroma collections of one index (article records, chunks, sentences, quotes) and reading them.

Four collections (names prefixed by `Settings.collection_prefix`):

* ``articles``  one record per indexed article: its fingerprint and display metadata. This is
  the commit point: a chunk counts only if its ``version`` equals its article record's.
* ``chunks``    retrieval passages, embedded.
* ``sentences`` every sentence of every article, embedded, for choosing answer sentences.
* ``quotes``    who said what, embedded.

`ArticleIndex` is assembled from one mixin per concern: the manifest and generation
(`qa.store.manifest`), record migration, the write protocol (`qa.store.writes`), consistency
checks and the vector-index repair (`qa.store.check`), the sentence file and quote records.

Readers: under a current stamp (`qa.store.stamp`) the records, chunks, an article's text and its quote
spans come from the read model (`qa.store.read_model`), the sentences from the sentence file, and Chroma
is neither imported nor opened; without one (a writer running or crashed, an older store, a Chroma
server) or when a derived file is stale or damaged, every read goes to Chroma as before.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from qa.models.embeddings import model_id_of  # noqa: E402
from qa.settings import Settings  # noqa: E402
from qa.store.check import Checks  # noqa: E402
from qa.store.client import make_client, not_found  # noqa: E402
from qa.store.heap import give_back_heap  # noqa: E402
from qa.store.manifest import COSINE, Manifest  # noqa: E402
from qa.store.migration import RecordMigration  # noqa: E402
from qa.store.paging import get_all  # noqa: E402
from qa.store.quote_records import QuoteRecords  # noqa: E402
from qa.store.read_model import ReadModel, write_read_model  # noqa: E402
from qa.store.records import ArticleRecord, record_from, records_at  # noqa: E402
from qa.store.sentence_file import SentenceRows  # noqa: E402
from qa.store.writes import Writes  # noqa: E402

if TYPE_CHECKING:
    import chromadb
    from langchain_core.embeddings import Embeddings

log = logging.getLogger(__name__)


class ArticleIndex(Manifest, RecordMigration, Writes, Checks, SentenceRows, QuoteRecords):
    """The persisted index: its collections, records, counts and the derived-file key (the write side
    is `qa.indexing`, through the protocol in `qa.store.writes`)."""

    def __init__(self, settings: Settings, embeddings: Embeddings, client: chromadb.ClientAPI | None = None) -> None:
        self.settings = settings
        self.embeddings = embeddings
        self.model_id = model_id_of(embeddings)
        self._client = client
        prefix = settings.collection_prefix
        self.names = {kind: f"{prefix}_{kind}" for kind in ("articles", "chunks", "sentences", "quotes")}
        self._stores: dict[str, Any] = {}
        self._writes = 0

    @property
    def client(self) -> chromadb.ClientAPI:
        """Opened on first use, so that `qa index --rebuild` can still replace a store that cannot be opened."""
        if self._client is None:
            self._client = make_client(self.settings)
        return self._client

    def _existing(self) -> set[str]:
        return {c.name if hasattr(c, "name") else str(c) for c in self.client.list_collections()}

    def _articles_collection(self) -> chromadb.Collection | None:
        """The commit-point collection, or None before the first `qa index`. One Chroma call (listing
        the collections costs twice as much, and this runs several times per question)."""
        try:
            return self.client.get_collection(self.names["articles"])
        except not_found():
            return self._finish_record_migration()

    @property
    def location(self) -> str:
        return self.settings.chroma_url or str(self.settings.vectorstore_dir)

    def collection(self, kind: str) -> chromadb.Collection:
        if kind == "articles" and (col := self._articles_collection()) is not None:
            return col
        return self.client.get_collection(self.names[kind])

    def article_text(self, article_id: str, version: str) -> str:
        """An indexed article's text put back together from its chunks (their offsets are exact;
        a gap, which chunking never leaves, would read as newlines). From the read model when it has them."""
        read = self.read_model()
        record = read.records([article_id]).get(article_id) if read is not None else None
        found = read.article_chunks(article_id, version, record.n_chunks) if read and record and record.version == version else None
        if found is not None:
            got: dict[str, Any] = {"documents": [doc for doc, _ in found], "metadatas": [meta for _, meta in found]}
        else:
            got = self.collection("chunks").get(  # type: ignore[assignment]
                where={"$and": [{"article_id": article_id}, {"version": version}]}, include=["documents", "metadatas"])
        size = max((int(m["end"]) for m in got["metadatas"] or []), default=0)
        chars = ["\n"] * size
        for doc, meta in zip(got["documents"] or [], got["metadatas"] or []):
            chars[int(meta["start"]):int(meta["end"])] = list(doc)
        return "".join(chars)

    def vectorstore(self, kind: str = "chunks") -> Any:
        """A LangChain `Chroma` over one of our collections, embedding with our model only.

        Built once per collection and kept: constructing one costs ~0.1 s (it re-reads chromadb's
        settings), far too much per query. `reset` forgets them with the collections."""
        from langchain_chroma import Chroma  # imported here: questions do not need it (~1 s of a cold start)

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

    def records(self, ids: Sequence[str] | None = None) -> dict[str, ArticleRecord]:
        """Every article record, or only those of `ids` (one read by id). From the read model under a
        current stamp (it holds every live record of that state); from Chroma otherwise."""
        read = self.read_model()
        if read is not None:
            return read.records(ids)
        return self.stored_records(ids)

    def stored_records(self, ids: Sequence[str] | None = None) -> dict[str, ArticleRecord]:
        """`records` from Chroma itself (what `qa index --check` compares the collections with)."""
        if ids is not None:
            if not ids:
                return {}
            col = self._articles_collection()
            got = col.get(ids=list(ids), include=["metadatas"]) if col is not None else {"ids": [], "metadatas": []}
        elif not self.exists():
            return {}
        else:
            got = get_all(self.collection("articles"), ["metadatas"])
        out = {rid: record_from(rid, dict(meta or {})) for rid, meta in zip(got["ids"], got["metadatas"] or [])}
        if ids is None:
            del got
            give_back_heap()
        return out

    def reset(self) -> None:
        """Drop every collection (and, for a local store that cannot be opened, the folder)."""
        self._stores.clear()
        for name in [*self.names.values(), self._staging_name]:
            if name in self._existing():
                self.client.delete_collection(name)

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
        its stamp would otherwise leave the stamp unchanged). Under a stamp file, the figures it holds."""
        stamp = self.stamp()
        if stamp is not None:
            return stamp.derived_key
        counts = self.counts(("articles", "chunks"), reuse=reuse_counts)
        return f"{self.stored_generation()}|{counts['articles']}|{counts['chunks']}"

    # ------------------------------------------------------------------ the read model
    def read_model(self) -> ReadModel | None:
        """The read model of the stamped state, or None: no stamp (a writer is running, or an older store,
        or a Chroma server), or no current and readable read model. Opened once per stamp."""
        stamp = self.stamp()
        if stamp is None:
            return None
        cached = getattr(self, "_read_model", None)
        if cached is not None and cached[0] == stamp.derived_key:
            return cached[1]
        found = None
        try:
            found = ReadModel.open(self._stamp_folder(), self.settings.collection_prefix, stamp.derived_key)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring the read model next to the store (%s: %s)", exc.__class__.__name__, exc)
        self._read_model = (stamp.derived_key, found)
        return found

    def warm_read_model(self, records: Any = None) -> bool:
        """Write the read model of the current state unless a current one exists (`qa index` and uploads
        call this after writing, before `write_stamp`). True if written. `records`: a `RecordsAt`."""
        folder = self._stamp_folder()
        if folder is None or not self.exists():
            return False
        key = self.derived_key(reuse_counts=True)
        try:  # opened, not only its pointer checked: a damaged one is written again
            current = ReadModel.open(folder, self.settings.collection_prefix, key)
        except (OSError, ValueError, KeyError, TypeError):
            current = None
        if current is not None:
            current.close()
            return False
        live = records_at(self, records, key.split("|", 1)[0])
        previous = ReadModel.latest(folder, self.settings.collection_prefix)
        quotes = self.collection("quotes") if self.has_quotes() else None
        try:
            self.chunks_read = write_read_model(folder, self.settings.collection_prefix, key, self.collection("chunks"),
                                                quotes, live, previous)
        finally:
            if previous is not None:
                previous.close()
        return True
