"""Bringing the store in line with a list of articles: embed only what changed, write in protocol order."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from qa.articles import Article, ArticleProblem, load_article
from qa.errors import ArticleError
from qa.extraction.chunks import Chunk, chunk_article
from qa.extraction.quotes import QUOTES_EXTRACTOR
from qa.indexing.changed import FILE_STAT, STAND_IN, with_stat
from qa.indexing.quotes import QuoteBatch, sync_quotes
from qa.store.manifest import RECORD_DIM
from qa.store.records import ArticleRecord, article_version, date_to_int, source_fields
from qa.store.store import ArticleIndex
from qa.store.writes import GroupWrite
from qa.text.sentences import split_sentences

EMBED_BATCH = 64


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
    undated: list[tuple[str, str]] = field(default_factory=list)
    """(article id, why) for every article of the folder without a date (`qa index` lists them)."""
    vectors_repaired: int = 0
    """Chunk vectors re-added because Chroma's vector index did not return them (`repair_vector_index`)."""
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.removed)} removed, "
            f"{len(self.unchanged)} unchanged articles; {self.chunks_written} chunks and "
            f"{self.sentences_written} sentences embedded; {len(self.problems)} skipped; "
            + (f"{self.vectors_repaired} chunk vector{'s' * (self.vectors_repaired != 1)} re-added; " if self.vectors_repaired else "")
            + f"{self.seconds:.1f} s"
        )


def update_index(
    index: ArticleIndex,
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
    index.remove_stamp()  # before the first write: readers use Chroma until the writer stamps (qa.store.stamp)
    if index.exists():
        index.check_compatible()
        if index.manifest().get("record_dim") != RECORD_DIM:
            index._migrate_records()
    else:
        index._create_collections()
    records = records if records is not None else index.records()
    # The damage check: when the stored chunk and sentence counts are exactly what the records
    # promise, nothing is missing or orphaned and the per-article scan is skipped (it reads every
    # chunk's and sentence's metadata: ~10 s at 10k chunks). Otherwise one metadata-only scan
    # serves both the damage check and, if nothing is written, orphan removal.
    scans = None
    if records and not index._counts_match(records):
        scans = {kind: index._stored(kind, documents=False) for kind in ("chunks", "sentences")}
    broken = index.incomplete(scans, records) if scans else set()  # e.g. a damaged store: re-embed, don't trust
    current = {a.id: a for a in articles}
    pending: list[tuple[Article, str]] = []
    for article in articles:
        version = article_version(article, index.settings, index.model_id)
        old = records.get(article.id)
        if old is not None and old.version == version and article.id not in broken:
            report.unchanged.append(article.id)
        else:
            pending.append((article, version))
            (report.updated if old is not None else report.added).append(article.id)
    pending = _read_stand_ins(pending, report)
    # An unreadable file (or export row) must not remove the article it replaces: keep its last good
    # version. A whole export that cannot be read keeps all of its rows.
    skipped = {p.id for p in report.problems}
    if remove_missing:
        report.removed = sorted(rid for rid in records if rid not in current and rid not in skipped
                                and rid.split("#", 1)[0] not in skipped)
    # Quotes of unchanged articles, if this index predates them or the extractor changed (a record
    # written with the current extractor had its quotes written before it: nothing to check).
    synced = sync_quotes(index, articles, {rid: records[rid].version for rid in report.unchanged
                                          if records[rid].quotes_extractor != QUOTES_EXTRACTOR})
    _note_unchanged(index, articles, records, report)
    _write(index, pending, report, progress)
    for rid in report.removed:
        index.delete_article(rid)
    written = bool(pending or report.removed)
    if written or scans:
        report.orphans_removed = index.remove_orphans(None if written else scans, None if written else records)
    else:  # the counts matched above and nothing was written: only quotes can be orphaned
        report.orphans_removed = index.remove_orphans(None, records, kinds=("quotes",))
    if pending or report.removed or report.orphans_removed or synced:
        index._bump_generation()
    report.seconds = time.perf_counter() - started
    return report


def _note_unchanged(index: ArticleIndex, articles: Sequence[Article], records: dict[str, ArticleRecord], report: IndexReport) -> None:
    """Record, for unchanged articles read in full, their file's stat (so the next run need not read
    them) and that their quotes are current (sync_quotes just made sure). Metadata only: readers
    see no change, so the generation stays."""
    unchanged = set(report.unchanged)
    ids, metas = [], []
    for article in articles:
        rec = records.get(article.id)
        key = article.metadata.get(FILE_STAT, "")
        if article.id not in unchanged or rec is None or article.metadata.get(STAND_IN):
            continue
        # A reader that now finds a title or source where an older one did not: same chunks, new record fields.
        described = {"title": article.title, **source_fields(article)}
        stale = {k: v for k, v in described.items() if getattr(rec, k) != v}
        if (key and rec.file_stat != key) or rec.quotes_extractor != QUOTES_EXTRACTOR or stale:
            ids.append(article.id)
            metas.append({"file_stat": key or rec.file_stat, "quotes_extractor": QUOTES_EXTRACTOR, **stale})
    index.update_records(ids, metas)


def _read_stand_ins(pending: list[tuple[Article, str]], report: IndexReport) -> list[tuple[Article, str]]:
    """Stand-ins (unchanged files not read) that must be written after all, e.g. damaged in the
    store: read them now. A file that fails to read keeps its indexed version."""
    out = []
    for article, version in pending:
        if article.metadata.get(STAND_IN):
            try:
                article = load_article(article.path, article.id)
            except ArticleError as exc:
                report.problems.append(ArticleProblem(article.path, exc.reason, article.id))
                for kind in (report.added, report.updated):
                    if article.id in kind:
                        kind.remove(article.id)
                report.unchanged.append(article.id)
                continue
            article = with_stat(article)
        out.append((article, version))
    return out


def _write(
    index: ArticleIndex, pending: list[tuple[Article, str]], report: IndexReport, progress: Callable[[int, int], None] | None
) -> None:
    total = len(pending)
    group: list[tuple[Article, str, list[Chunk], list[tuple[int, int]]]] = []
    group_texts = 0
    done = 0
    for article, version in pending:
        chunks = chunk_article(article, index.settings.chunk_size, index.settings.chunk_overlap)
        sentences = [(s.start, s.end) for s in split_sentences(article.text, index.settings.chunk_size)]
        group.append((article, version, chunks, sentences))
        group_texts += len(chunks) + len(sentences)
        if group_texts >= EMBED_BATCH * 4:
            _write_group(index, group, report)
            done += len(group)
            group, group_texts = [], 0
            if progress:
                progress(done, total)
    if group:
        _write_group(index, group, report)
        done += len(group)
        if progress:
            progress(done, total)


def _write_group(index: ArticleIndex, group: list[tuple[Article, str, list[Chunk], list[tuple[int, int]]]], report: IndexReport) -> None:
    """Embed a group of article versions (chunks and sentences in one call, quotes in another) and
    hand their rows to the store's write protocol (`ArticleIndex.commit_group`)."""
    chunk_texts = [c.text for _, _, chunks, _ in group for c in chunks]
    sentence_texts = [a.text[s:e] for a, _, _, sents in group for s, e in sents]
    vectors = index.embeddings.embed_documents(chunk_texts + sentence_texts)
    chunk_vecs, sent_vecs = vectors[: len(chunk_texts)], vectors[len(chunk_texts) :]
    ci = si = 0
    quote_batch = QuoteBatch(index, [article for article, _, _, _ in group])
    rows = GroupWrite(replaced=set(report.updated))
    for article, version, chunks, sentences in group:
        base = {"article_id": article.id, "version": version, "date": article.date_str, "date_int": date_to_int(article.date)}
        sent_index = {span: j for j, span in enumerate(sentences)}
        rows.sentences.ids += [f"{article.id}#{version}#s{j}" for j in range(len(sentences))]
        rows.sentences.embeddings += sent_vecs[si : si + len(sentences)]
        rows.sentences.documents += [article.text[s:e] for s, e in sentences]
        rows.sentences.metadatas += [{**base, "start": s, "end": e, "n": j} for j, (s, e) in enumerate(sentences)]
        si += len(sentences)
        rows.chunks.ids += [f"{article.id}#{version}#{c.index}" for c in chunks]
        rows.chunks.embeddings += chunk_vecs[ci : ci + len(chunks)]
        rows.chunks.documents += [c.text for c in chunks]
        rows.chunks.metadatas += [
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
        quote_batch.rows(article, version, into=rows.quotes)
        rows.records.ids.append(article.id)
        rows.records.metadatas.append(
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
                **source_fields(article),
                "indexed_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            }
        )
        rows.versions.append((article.id, version))
        report.chunks_written += len(chunks)
        report.sentences_written += len(sentences)
    index.commit_group(rows)
