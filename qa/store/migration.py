"""Migrating the article records of an older store to one-number placeholder vectors, crash-safely."""

from __future__ import annotations

import datetime as dt
import logging

from typing import TYPE_CHECKING

from qa.store.client import not_found
from qa.store.manifest import COSINE, RECORD_DIM
from qa.store.paging import WRITE_BATCH, get_all

if TYPE_CHECKING:
    import chromadb

log = logging.getLogger(__name__)


class RecordMigration:
    """Mixin of `ArticleIndex`: rewriting the records collection (see `_migrate_records`)."""

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
        except not_found():
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
        except not_found():
            return None
        if not (staging.metadata or {}).get("records_migrated"):
            return None  # incomplete: the old records are still there (or the store was removed)
        try:
            staging.modify(name=self.names["articles"])
        except Exception:  # another process renamed it first
            pass
        try:
            return self.client.get_collection(self.names["articles"])
        except not_found():
            return None
