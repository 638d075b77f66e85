"""The store's manifest and generation: which model and schema built it, and the stamp every committed write changes.

Under a stamp file (`qa.store.stamp`, next to a local store) the manifest's model and schema, the
generation and the derived-file key are read from it, so a reader need not open Chroma at all.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

from qa.errors import IndexMismatchError, IndexMissingError
from qa.store.stamp import Stamp, read_stamp, remove_stamp, store_file_size, write_stamp

SCHEMA_VERSION = 1
COSINE = {"hnsw": {"space": "cosine"}}
RECORD_DIM = 1
"""Article records live in a Chroma collection (it carries the manifest and is the commit point) but are
never searched by vector, so their placeholder vector has one dimension. Chroma loads a collection's
whole vector index into memory on first access: with model-sized placeholders the records of 62,000
articles held ~130 MB in every reader. Stores written before this are migrated by the next `qa index`."""


class Manifest:
    """Mixin of `ArticleIndex`: the manifest (on the article records' collection) and the generation."""

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

    # ------------------------------------------------------------------ the stamp file
    def _stamp_folder(self) -> Path | None:
        """Where the stamp and the derived files live: a local store's folder (a Chroma server has none of ours)."""
        return None if self.settings.chroma_url else Path(self.settings.vectorstore_dir)

    def stamp(self) -> Stamp | None:
        """The store's stamp when a reader may trust it (read each time: another process's `qa index` may
        have replaced or removed it since)."""
        folder = self._stamp_folder()
        return read_stamp(folder, self.settings.collection_prefix) if folder is not None else None

    def remove_stamp(self) -> None:
        """Before a write: from now until `write_stamp`, readers use Chroma (see `qa.store.stamp`)."""
        folder = self._stamp_folder()
        if folder is not None:
            remove_stamp(folder, self.settings.collection_prefix)

    def write_stamp(self) -> bool:
        """After a run's last committed write and its derived files: stamp what Chroma now holds. True if written."""
        folder = self._stamp_folder()
        if folder is None or not folder.is_dir() or self._articles_collection() is None:
            return False
        manifest = self.manifest()
        generation = str(manifest.get("generation", ""))
        if not generation:
            return False  # nothing committed yet: readers keep using Chroma
        counts = self.counts(("articles", "chunks"), reuse=True)
        write_stamp(folder, Stamp(generation=generation, articles=counts["articles"], chunks=counts["chunks"],
                                  embedding_model=str(manifest.get("embedding_model", "")),
                                  schema_version=int(manifest.get("schema_version", 0) or 0),
                                  prefix=self.settings.collection_prefix, store_size=store_file_size(folder)))
        return True

    def exists(self) -> bool:
        if self.stamp() is not None:
            return True
        return self._articles_collection() is not None

    def manifest(self) -> dict[str, Any]:
        col = self._articles_collection()
        return dict(col.metadata or {}) if col is not None else {}

    def check_compatible(self) -> None:
        """Raise unless the stored index was built by this model with this schema (from the stamp when there
        is one: the same errors, without opening Chroma)."""
        stamp = self.stamp()
        if stamp is not None:
            manifest: dict[str, Any] = {"embedding_model": stamp.embedding_model, "schema_version": stamp.schema_version}
        else:
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

    def generation(self) -> str:
        """Changes on every committed write; readers use it to refresh their caches.

        Two parts: the stored generation (writes by other processes, e.g. `qa index` while the page
        runs) and this object's own write count. Chroma may serve collection metadata from a cache for
        a moment after `modify`, so a reader in this process must not depend on it alone: an upload
        followed at once by a question about it found the old snapshot (a flaky page test). Under a
        stamp the stored part is the stamp's (a writer removes it before writing, so the page's own
        upload changes both parts at once). A third part says it came from a stamp: when a writer
        stamps its new state, a reader that built its caches from Chroma meanwhile rebuilds them from
        the read model."""
        stamp = self.stamp()
        if stamp is not None:
            return f"{stamp.generation}/{self._writes}/stamped"
        col = self._articles_collection()
        if col is None:
            return ""
        return f"{(col.metadata or {}).get('generation', '')}/{self._writes}"

    def stored_generation(self) -> str:
        """The committed-write stamp alone (shared by every process): keys files derived from the index."""
        stamp = self.stamp()
        if stamp is not None:
            return stamp.generation
        return str(self.manifest().get("generation", ""))

    def _bump_generation(self) -> None:
        self.remove_stamp()
        self._writes += 1
        col = self.collection("articles")
        meta = dict(col.metadata or {})
        meta["generation"] = f"{time.time_ns()}"
        col.modify(metadata=meta)
