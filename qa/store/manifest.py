"""The store's manifest and generation: which model and schema built it, and the stamp every committed write changes."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from qa.errors import IndexMismatchError, IndexMissingError

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
