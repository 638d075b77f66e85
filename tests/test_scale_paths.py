"""The paths that keep a large index fast: the saved keyword (BM25) snapshot and the no-op
`qa index` that does not re-read unchanged files. Real embedder, real Chroma, real files."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import qa.index
from qa.pipeline import Pipeline
from qa.retrieval import HybridRetriever, _Snapshot
from qa.settings import Settings

QUESTIONS = ["InDrive在巴基斯坦出租车市场的份额", "哈萨克斯坦与巴基斯坦的贸易额目标", "What share of the taxi market does InDrive hold?"]


def _results(retriever: HybridRetriever, mode: str = "hybrid") -> list[list[tuple[str, float | None, float | None, int]]]:
    out = []
    for q in QUESTIONS:
        docs = retriever.invoke(q, k=6, mode=mode)
        out.append([(d.metadata["chunk_id"], d.metadata["keyword_score"], d.metadata["dense_score"], d.metadata["rank"]) for d in docs])
    return out


def _pointer(settings: Settings) -> Path:
    return settings.vectorstore_dir / f"{settings.collection_prefix}_keyword.json"


@pytest.mark.slow
def test_saved_keyword_snapshot_is_loaded_and_answers_identically(fresh_settings: Settings, embeddings) -> None:  # type: ignore[no-untyped-def]
    pipeline = Pipeline(fresh_settings, embeddings)
    pipeline.build()
    assert _pointer(fresh_settings).is_file(), "qa index saves the keyword snapshot next to the store"
    # A new process's view: loads the saved snapshot instead of tokenizing every chunk.
    loaded = HybridRetriever(index=Pipeline(fresh_settings, embeddings).index)
    assert loaded.snapshot().loaded
    # The same results as a snapshot built from the collections (no saved one).
    _pointer(fresh_settings).unlink()
    built = HybridRetriever(index=Pipeline(fresh_settings, embeddings).index)
    assert not built.snapshot().loaded
    for mode in ("hybrid", "keyword", "dense"):
        assert _results(loaded, mode) == _results(built, mode)
    assert loaded.snapshot().keyword.idf("贸易额") == built.snapshot().keyword.idf("贸易额")
    assert _pointer(fresh_settings).is_file(), "a reader that had to build it saves it for the next one"


@pytest.mark.slow
def test_saved_snapshot_follows_the_index_and_survives_damage(fresh_settings: Settings, embeddings) -> None:  # type: ignore[no-untyped-def]
    pipeline = Pipeline(fresh_settings, embeddings)
    pipeline.build()
    before = _pointer(fresh_settings).read_text()
    (fresh_settings.articles_dir / "panda.txt").write_text(" date 2026-03-01\n阿斯塔纳举办了国际熊猫节。熊猫节吸引了五万名游客。",
                                                           encoding="utf-8")
    pipeline.build()
    assert _pointer(fresh_settings).read_text() != before, "a write re-keys the saved snapshot"
    fresh = HybridRetriever(index=Pipeline(fresh_settings, embeddings).index)
    assert fresh.snapshot().loaded
    assert fresh.invoke("熊猫节 游客", k=1, mode="keyword")[0].metadata["article_id"] == "panda.txt"
    # Only one saved snapshot is kept.
    assert len(list(fresh_settings.vectorstore_dir.glob(f"{fresh_settings.collection_prefix}_keyword-*"))) == 1
    # A damaged saved snapshot is ignored and rebuilt, never trusted.
    saved = next(fresh_settings.vectorstore_dir.glob(f"{fresh_settings.collection_prefix}_keyword-*"))
    (saved / "rows.json").write_text("{not json", encoding="utf-8")
    again = HybridRetriever(index=Pipeline(fresh_settings, embeddings).index)
    assert not again.snapshot().loaded
    assert _results(again) == _results(fresh)


@pytest.mark.slow
def test_noop_index_does_not_read_unchanged_files_but_sees_every_change(fresh_settings: Settings, embeddings,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    pipeline = Pipeline(fresh_settings, embeddings)
    pipeline.build()
    reads: list[str] = []
    real = qa.index.load_article
    monkeypatch.setattr(qa.index, "load_article", lambda path: reads.append(path.name) or real(path))
    report = pipeline.build()
    assert reads == [] and len(report.unchanged) == 2 and report.chunks_written == 0

    folder = fresh_settings.articles_dir
    target = next(folder.glob("003_*"))
    # Same size, mtime put back: the ctime still differs, so the file is read and the change found.
    text = target.read_text(encoding="utf-8")
    stat = target.stat()
    swapped = text.replace("40亿美元", "50亿美元")
    assert swapped != text and len(swapped.encode()) == len(text.encode())
    time.sleep(0.05)
    target.write_text(swapped, encoding="utf-8")
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    report = pipeline.build()
    assert reads == [target.name] and report.updated == [target.name]
    assert any("50亿美元" in d.page_content for d in pipeline.retriever.invoke("两国年贸易额稳定超过", k=3))

    # A touch without a change: read and hashed once (nothing re-embedded), then trusted again.
    reads.clear()
    time.sleep(0.05)
    target.touch()
    report = pipeline.build()
    assert reads == [target.name] and report.updated == [] and report.chunks_written == 0
    reads.clear()
    assert pipeline.build().chunks_written == 0 and reads == []


@pytest.mark.slow
def test_noop_index_repairs_a_damaged_article_from_its_file(fresh_settings: Settings, embeddings) -> None:  # type: ignore[no-untyped-def]
    """An unchanged file whose article lost chunks in the store is read for real and re-embedded."""
    pipeline = Pipeline(fresh_settings, embeddings)
    pipeline.build()
    victim = next(fresh_settings.articles_dir.glob("000_*")).name
    record = pipeline.index.records()[victim]
    pipeline.index.collection("chunks").delete(ids=[f"{victim}#{record.version}#1"])
    report = pipeline.build()
    assert report.updated == [victim] and report.chunks_written == record.n_chunks
    assert pipeline.index.check() == []
    assert isinstance(_Snapshot(pipeline.index).keyword.idf("贸易额"), float)
