"""`qa index`: the articles folder → the store, then the vector-index repair, the derived files and the stamp."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from qa.articles import ExportColumns
from qa.indexing.changed import load_changed_articles
from qa.indexing.update import IndexReport, update_index
from qa.settings import Settings
from qa.store.client import client_for_rebuild
from qa.store.records import RecordsAt
from qa.store.store import ArticleIndex

log = logging.getLogger(__name__)

DerivedFile = Callable[[ArticleIndex, RecordsAt], bool]
"""Builds a file derived from the store unless a current one exists; True if it wrote one."""

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings


def build_index(settings: Settings, embeddings: Embeddings, *, rebuild: bool = False,
                progress: Callable[[int, int], None] | None = None, index: ArticleIndex | None = None,
                derived: Sequence[DerivedFile] = ()) -> IndexReport:
    """`qa index`: load the articles folder and bring the index up to date.

    `index`: an open index to update (so its readers see the write at once); a rebuild always opens
    a fresh one, since the old store may be unreadable. `derived`: builders of files derived from the
    store that readers need at once (the retriever's keyword snapshot, passed in by `qa.pipeline`:
    this layer does not know the retriever); the sentence file and the read model are built here, then
    the stamp that lets readers use them without opening Chroma (`qa.store.stamp`)."""
    if rebuild or index is None:
        index = ArticleIndex(settings, embeddings, client=client_for_rebuild(settings) if rebuild else None)
    index.remove_stamp()  # before anything is read or written: this run's readers use Chroma until it stamps
    if rebuild:
        index.reset()
    records = index.records() if index.exists() else {}
    if records and not index.has_quotes():
        # The quotes collection is gone (an index from before quotes, or a damaged store): no record's
        # quotes are current, so every file is read and its quotes backfilled.
        records = {rid: replace(rec, quotes_extractor=0) for rid, rec in records.items()}
    # First the chunks the last `qa index --check` found unreachable in the vector index, then the update,
    # then the first chunks of the articles it wrote (a vector written under load can be unreachable).
    repaired = repair_vector_index(index, index.noted_unfound() if records else [])
    loaded = load_changed_articles(settings.articles_dir, records, ExportColumns.from_settings(settings))
    report = update_index(index, loaded.articles, problems=loaded.problems, progress=progress, records=records)
    report.undated = [(a.id, a.undated_reason) for a in loaded.undated]
    written = [*report.added, *report.updated]
    written_records = index.records(written) if written else {}
    report.vectors_repaired = repaired + repair_vector_index(
        index, [f"{rid}#{written_records[rid].version}#0" for rid in written if rid in written_records])
    started = time.perf_counter()
    if save_derived(index, derived, refresh=set(report.added) | set(report.updated)):
        report.seconds += time.perf_counter() - started
    # Reported with the problems, but not passed to update(): a copy's old record must go.
    report.problems.extend(loaded.duplicates)
    return report


def save_derived(index: ArticleIndex, derived: Sequence[DerivedFile], *, refresh: set[str]) -> bool:
    """After a writer's last write: the files derived from the new state, saved next to the store
    (otherwise the first question after a start tokenizes every chunk, ~15 s at 10k chunks), then the
    stamp. `refresh`: articles just re-embedded (their sentences are read again even if their version
    is unchanged, as after a repair). A no-op finds them current. True if any was written."""
    records_now = RecordsAt(index)
    warmed = False
    for build in derived:
        warmed = build(index, records_now) or warmed
    for name, warm in (("sentence file", lambda: index.warm_sentence_file(refresh=refresh, records=records_now)),
                       ("read model", lambda: index.warm_read_model(records_now))):
        try:
            warmed = warm() or warmed
        except OSError as exc:
            log.warning("could not write the %s next to the store (%s); readers use the collections", name, exc)
    try:
        index.write_stamp()
    except OSError as exc:
        log.warning("could not write the stamp next to the store (%s); readers open the store", exc)
    return warmed


def repair_vector_index(index: ArticleIndex, chunk_ids: Sequence[str]) -> int:
    """Re-add the vectors of those of `chunk_ids` that Chroma's vector index does not return; the ones
    still unreachable afterwards are noted for the next run. Returns how many were re-added."""
    if not chunk_ids:
        return 0
    unfound = index.unfound_chunks(chunk_ids)
    repaired = index.repair_vectors(unfound)
    if repaired:
        log.warning("re-added %d chunk vector(s) the vector index did not return", repaired)
    index.note_unfound(index.unfound_chunks(unfound) if unfound else [])
    return repaired
