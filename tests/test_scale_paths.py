"""The paths that keep a large index fast: the saved keyword (BM25) snapshot and the no-op
`qa index` that does not re-read unchanged files. Real embedder, real Chroma, real files."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import qa.indexing.changed
import qa.store.sentence_file
from qa.pipeline import Pipeline
from qa.retrieval.retriever import HybridRetriever
from qa.retrieval.snapshot import KeywordSnapshot
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
    real = qa.indexing.changed.load_article
    monkeypatch.setattr(qa.indexing.changed, "load_article", lambda path: reads.append(path.name) or real(path))
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
    assert isinstance(KeywordSnapshot(pipeline.index).keyword.idf("贸易额"), float)


def _chroma_rows(index, ids):  # type: ignore[no-untyped-def]
    got = index.collection("sentences").get(ids=ids, include=["embeddings", "documents", "metadatas"])
    return {sid: (doc, int(m["start"]), int(m["end"]), str(m["article_id"]), list(map(float, vec)))
            for sid, doc, m, vec in zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"])}


def _file_rows(got):  # type: ignore[no-untyped-def]
    return {sid: (doc, int(m["start"]), int(m["end"]), str(m["article_id"]), list(map(float, vec)))
            for sid, doc, m, vec in zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"])}


@pytest.mark.slow
def test_sentence_file_serves_exactly_the_stored_sentences(fresh_settings: Settings, embeddings) -> None:  # type: ignore[no-untyped-def]
    """Readers take sentences (text, span, the stored float32 vector) from the file next to the store,
    never loading the sentences collection; a stale or damaged file is not used."""
    pipeline = Pipeline(fresh_settings, embeddings)
    pipeline.build()
    prefix = fresh_settings.collection_prefix
    assert (fresh_settings.vectorstore_dir / f"{prefix}_sentences.json").is_file()
    index = Pipeline(fresh_settings, embeddings).index
    ids = index.collection("sentences").get(limit=12, include=[])["ids"] + ["nope.txt#0#s0"]
    assert index._current_sentence_file() is not None
    from_file = index._current_sentence_file().rows(ids)  # type: ignore[union-attr]
    assert _file_rows(from_file) == _chroma_rows(index, ids[:-1])
    assert _file_rows(index.sentence_rows(ids[:-1])) == _chroma_rows(index, ids[:-1])
    # Same answer as from the collection.
    assert pipeline.ask("哈萨克斯坦与巴基斯坦的贸易额目标是多少？").text == index_answer(fresh_settings, embeddings)
    # After a change the old file is not used until `qa index` has written the new one.
    (fresh_settings.articles_dir / "panda.txt").write_text(" date 2026-03-01\n阿斯塔纳举办了国际熊猫节。熊猫节吸引了五万名游客。",
                                                           encoding="utf-8")
    pipeline.build()
    new_ids = [f"panda.txt#{pipeline.index.records()['panda.txt'].version}#s{i}" for i in range(2)]
    assert _file_rows(Pipeline(fresh_settings, embeddings).index.sentence_rows(new_ids)) == _chroma_rows(index, new_ids)
    assert len(list(fresh_settings.vectorstore_dir.glob(f"{prefix}_sentences-*"))) == 1
    # Damaged: ignored (with a warning), the collection answers.
    saved = next(fresh_settings.vectorstore_dir.glob(f"{prefix}_sentences-*"))
    (saved / "vectors.npy").write_bytes(b"garbage")
    damaged = Pipeline(fresh_settings, embeddings).index
    assert damaged._current_sentence_file() is None
    assert _file_rows(damaged.sentence_rows(new_ids)) == _chroma_rows(index, new_ids)


def index_answer(settings: Settings, embeddings) -> str:  # type: ignore[no-untyped-def]
    """The answer with the sentence file removed (sentences read from the collection)."""
    other = Pipeline(settings, embeddings)
    other.index._sentence_file = (other.index.generation(), None)
    return other.ask("哈萨克斯坦与巴基斯坦的贸易额目标是多少？").text


# ----------------------------------------------------------------- incremental derived files
# After a change, `qa index` builds the keyword snapshot and the sentence file from the previous ones:
# unchanged article versions keep their tokens and sentence rows, only new versions are read from
# Chroma and tokenized. The result must be exactly what a build from scratch gives.

EXTRA = {
    "panda.txt": " date 2026-03-01\n阿斯塔纳举办了国际熊猫节。熊猫节吸引了五万名游客。主办方说，明年的熊猫节将扩大到阿拉木图。",
    "rail.txt": " date 2026-02-11\n中哈两国签署了新的铁路合作协议。协议规定，两国将共同修建第三条跨境铁路。\n\n"
                "新铁路预计2030年通车，年货运能力达到两千万吨。哈萨克斯坦交通部表示，铁路将降低运输成本。",
    "empty-ish.txt": " date 2026-01-05\n。",
}


def _keyword_files(settings: Settings) -> dict[str, object]:
    """Every part of the saved keyword snapshot, read back (arrays as lists, json parsed)."""
    import json

    import numpy as np

    folder = settings.vectorstore_dir / json.loads(_pointer(settings).read_text())["dir"]
    out: dict[str, object] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix == ".npy":
            array = np.load(path)
            out[path.name] = (str(array.dtype), array.shape, array.tolist())
        elif path.suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            if path.name == "rows.json":
                data.pop("key")
            out[path.name] = data
    return out


def _sentence_files(settings: Settings) -> dict[str, object]:
    import json

    import numpy as np

    pointer = settings.vectorstore_dir / f"{settings.collection_prefix}_sentences.json"
    folder = settings.vectorstore_dir / json.loads(pointer.read_text())["dir"]
    out: dict[str, object] = {}
    for path in sorted(folder.glob("*.npy")):
        array = np.load(path)
        out[path.name] = (str(array.dtype), array.shape, array.tobytes())
    meta = json.loads((folder / "meta.json").read_text())
    out["n"] = meta["n"]
    return out


def _read_files(settings: Settings) -> dict[str, object]:
    """Every part of the saved read model (arrays as bytes, rows.json without its key)."""
    import json

    import numpy as np

    pointer = settings.vectorstore_dir / f"{settings.collection_prefix}_read.json"
    folder = settings.vectorstore_dir / json.loads(pointer.read_text())["dir"]
    out: dict[str, object] = {}
    for path in sorted(folder.glob("*.npy")):
        array = np.load(path)
        out[path.name] = (str(array.dtype), array.shape, array.tobytes())
    rows = json.loads((folder / "rows.json").read_text(encoding="utf-8"))
    rows.pop("key")
    out["rows.json"] = rows
    return out


def _search(settings: Settings, embeddings) -> list[object]:  # type: ignore[no-untyped-def]
    snap = HybridRetriever(index=Pipeline(settings, embeddings).index).snapshot()
    assert snap.loaded
    queries = QUESTIONS + ["熊猫节 游客", "铁路 货运", "贸易额", "阿拉木图"]
    return [snap.keyword.search(q, 50) for q in queries] + [snap.keyword.idf(t) for t in ("贸易额", "铁路", "熊猫")]


def _from_scratch(pipeline: Pipeline, settings: Settings, embeddings) -> tuple[object, object, object, object]:  # type: ignore[no-untyped-def]
    """The derived files rebuilt from the collections alone (no previous file to start from)."""
    prefix = settings.collection_prefix
    (settings.vectorstore_dir / f"{prefix}_keyword.json").unlink()
    (settings.vectorstore_dir / f"{prefix}_sentences.json").unlink()
    index = Pipeline(settings, embeddings).index
    snap = KeywordSnapshot(index)
    assert not snap.loaded and snap.tokenized == len(snap.ids), "built from scratch: every chunk tokenized"
    assert index.warm_sentence_file()
    assert index.sentences_read == sum(r.n_sentences for r in index.records().values())
    (settings.vectorstore_dir / f"{prefix}_read.json").unlink()
    assert index.warm_read_model()
    assert index.chunks_read == sum(r.n_chunks for r in index.records().values())
    return _keyword_files(settings), _sentence_files(settings), _search(settings, embeddings), _read_files(settings)


@pytest.mark.slow
@pytest.mark.parametrize("change", ["add", "update", "remove", "all"])
def test_incremental_derived_files_equal_a_build_from_scratch(change: str, fresh_settings: Settings, embeddings) -> None:  # type: ignore[no-untyped-def]
    folder = fresh_settings.articles_dir
    for name, text in EXTRA.items():
        if name != "panda.txt" or change not in ("add", "all"):
            (folder / name).write_text(text, encoding="utf-8")
    pipeline = Pipeline(fresh_settings, embeddings)
    pipeline.build()
    before = _keyword_files(fresh_settings)
    if change in ("add", "all"):
        (folder / "panda.txt").write_text(EXTRA["panda.txt"], encoding="utf-8")
    if change in ("update", "all"):
        target = next(folder.glob("003_*"))
        target.write_text(target.read_text(encoding="utf-8").replace("40亿美元", "50亿美元") + "\n\n两国还将扩大铁路合作。",
                          encoding="utf-8")
    if change in ("remove", "all"):
        (folder / "rail.txt").unlink()
    report = pipeline.build()
    assert report.added or report.updated or report.removed
    incremental = (_keyword_files(fresh_settings), _sentence_files(fresh_settings), _search(fresh_settings, embeddings),
                   _read_files(fresh_settings))
    assert incremental[0] != before, "the change reached the keyword snapshot"
    scratch = _from_scratch(pipeline, fresh_settings, embeddings)
    assert incremental[0] == scratch[0], "keyword snapshot: same ids, dates, tokens, vocabulary and BM25 matrices"
    assert incremental[1] == scratch[1], "sentence file: same ids, vectors, spans and texts"
    assert incremental[2] == scratch[2], "same BM25 search results"
    assert incremental[3] == scratch[3], "read model: same chunk ids, vectors, rows, records and quotes"
    # And what readers get from the file is what Chroma holds.
    index = Pipeline(fresh_settings, embeddings).index
    ids = [f"{r.id}#{r.version}#s{j}" for r in index.records().values() for j in range(r.n_sentences)]
    assert _file_rows(index._current_sentence_file().rows(ids)) == _chroma_rows(index, ids)  # type: ignore[union-attr]


@pytest.mark.slow
def test_incremental_update_reads_and_tokenizes_only_the_new_article(fresh_settings: Settings, embeddings,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import qa.text.tokens

    pipeline = Pipeline(fresh_settings, embeddings)
    pipeline.build()
    tokenized: list[str] = []
    real = qa.text.tokens._tokenize
    monkeypatch.setattr(qa.text.tokens, "_tokenize", lambda text: tokenized.append(text) or real(text))
    sentence_reads: list[int] = []
    real_write = qa.store.sentence_file.SentenceFile.write.__func__  # type: ignore[attr-defined]

    def write(cls, *args, **kwargs):  # type: ignore[no-untyped-def]
        sentence_reads.append(real_write(cls, *args, **kwargs))
        return sentence_reads[-1]

    monkeypatch.setattr(qa.store.sentence_file.SentenceFile, "write", classmethod(write))
    (fresh_settings.articles_dir / "panda.txt").write_text(EXTRA["panda.txt"], encoding="utf-8")
    assert pipeline.build().added == ["panda.txt"]
    record = pipeline.index.records()["panda.txt"]
    chunks = pipeline.index.collection("chunks").get(where={"article_id": "panda.txt"}, include=["documents"])
    assert sorted(tokenized) == sorted(chunks["documents"]) and len(tokenized) == record.n_chunks
    assert sentence_reads == [record.n_sentences], "only the new article's sentences are read from Chroma"
    # A reader in another process loads the result; it answers about the new article.
    fresh = HybridRetriever(index=Pipeline(fresh_settings, embeddings).index)
    assert fresh.snapshot().loaded
    assert fresh.invoke("熊猫节 游客", k=1, mode="keyword")[0].metadata["article_id"] == "panda.txt"
    # Nothing changed: nothing is tokenized or written.
    tokenized.clear()
    pipeline.build()
    assert tokenized == [] and sentence_reads == [record.n_sentences]
    assert len(list(fresh_settings.vectorstore_dir.glob(f"{fresh_settings.collection_prefix}_keyword-*"))) == 1
    assert len(list(fresh_settings.vectorstore_dir.glob(f"{fresh_settings.collection_prefix}_sentences-*"))) == 1


@pytest.mark.slow
def test_interrupted_incremental_write_leaves_the_previous_files_usable(fresh_settings: Settings, embeddings,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """A `qa index` killed while writing a derived file leaves the previous one in place (readers fall back
    to the collections); the next run builds the new one from it, equal to one built from scratch."""
    import numpy as np

    pipeline = Pipeline(fresh_settings, embeddings)
    pipeline.build()
    store, prefix = fresh_settings.vectorstore_dir, fresh_settings.collection_prefix
    kinds = ("keyword", "sentences", "read")  # in the order `qa index` writes them
    pointers = {kind: (store / f"{prefix}_{kind}.json").read_text() for kind in kinds}
    real_save = np.save

    def killed_at(name: str):  # type: ignore[no-untyped-def]
        def save(path, *args, **kwargs):  # type: ignore[no-untyped-def]
            if str(path).endswith(name):
                raise KeyboardInterrupt(f"killed while writing {name}")
            return real_save(path, *args, **kwargs)
        return save

    (fresh_settings.articles_dir / "panda.txt").write_text(EXTRA["panda.txt"], encoding="utf-8")
    # In the keyword snapshot, the sentence file, the read model.
    for killed, part in enumerate(("token_offsets.npy", "spans.npy", "norms.npy")):
        monkeypatch.setattr(np, "save", killed_at(part))
        with pytest.raises(KeyboardInterrupt):
            pipeline.build()
        monkeypatch.setattr(np, "save", real_save)
        assert not list(store.glob(f".{prefix}_*.tmp-*")), "the half-written folder is removed"
        assert not (store / f"{prefix}_stamp.json").exists(), "no stamp: readers use Chroma"
        for n, (kind, pointer) in enumerate(pointers.items()):
            if n >= killed:
                assert (store / f"{prefix}_{kind}.json").read_text() == pointer
            assert len(list(store.glob(f"{prefix}_{kind}-*"))) == 1
        # Readers: the old files are stale (another key), so they are not used; answers still come.
        reader = Pipeline(fresh_settings, embeddings).index
        if killed <= 1:  # killed before the sentence file was committed
            assert reader._current_sentence_file() is None
        assert reader.read_model() is None
        record = reader.records()["panda.txt"]
        assert len(reader.article_sentences(record)["ids"]) == record.n_sentences
    pipeline.build()
    assert (store / f"{prefix}_stamp.json").is_file()
    incremental = (_keyword_files(fresh_settings), _sentence_files(fresh_settings), _search(fresh_settings, embeddings),
                   _read_files(fresh_settings))
    assert incremental == _from_scratch(pipeline, fresh_settings, embeddings)
