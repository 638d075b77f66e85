"""The read model and the stamp: a fresh `qa ask` on a local store answers from the files derived from it,
without importing chromadb, exactly as the Chroma path does; anything missing, foreign or damaged falls back
to Chroma with the same answer (real `qa` processes, real embedder, real Chroma)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qa.errors import IndexMismatchError
from qa.pipeline import Pipeline
from qa.settings import Settings
from qa.store.stamp import stamp_path

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
QA = str(Path(sys.executable).with_name("qa"))
QUESTIONS = ["哈萨克斯坦计划将与巴基斯坦的双边贸易额提升至多少？", "What share of Pakistan's taxi market does InDrive hold?"]
WHO = "谁说要成立双边工作组？"
NEW_ARTICLE = ("吉尔吉斯斯坦与哈萨克斯坦共建跨境物流中心\n2026-03-02\n比什凯克3月2日电 吉尔吉斯斯坦与哈萨克斯坦签署协议，"
               "将在边境共建一座跨境物流中心，占地120公顷，预计2028年投入使用。两国交通部长表示，该中心每年可处理"
               "50万个集装箱。\n")
# Runs the real CLI in a fresh interpreter, then says whether it imported chromadb (last line of stdout).
ASK = ("import sys\nsys.argv = ['qa', 'ask', '--json', *sys.argv[1:]]\nfrom qa.cli import main\n"
       "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code\nelse:\n    code = 0\n"
       "print('CHROMADB', 'chromadb' in sys.modules, code)\n")


def _env(settings: Settings) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
            "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False",
            "QA_ARTICLES_DIR": str(settings.articles_dir), "QA_VECTORSTORE_DIR": str(settings.vectorstore_dir)}


def _ask_fresh(settings: Settings, question: str) -> tuple[dict, bool]:
    """The answer of a fresh `qa ask --json` process and whether that process imported chromadb."""
    run = subprocess.run([sys.executable, "-c", ASK, question], env=_env(settings), capture_output=True, text=True,
                         timeout=600)
    *out, last = run.stdout.strip().splitlines()
    _, imported, code = last.split()
    assert code == "0", run.stderr[-2000:]
    return json.loads("\n".join(out)), imported == "True"


def _key(answer: dict) -> tuple:
    return (answer["answer"], [(c["article_id"], c["sentence_start"], c["sentence_end"]) for c in answer["citations"]])


@pytest.fixture
def indexed(tmp_path: Path) -> Settings:
    """The seeds indexed by a real `qa index`."""
    articles = tmp_path / "articles"
    shutil.copytree(SEEDS, articles)
    settings = Settings(articles_dir=articles, vectorstore_dir=tmp_path / "vectorstore")
    done = subprocess.run([QA, "index"], env=_env(settings), capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    assert stamp_path(settings.vectorstore_dir, settings.collection_prefix).is_file(), "qa index stamps the store"
    return settings


@pytest.mark.slow
def test_fresh_ask_answers_without_chromadb_exactly_as_the_chroma_path(indexed: Settings) -> None:
    stamped, imported = _ask_fresh(indexed, QUESTIONS[0])
    assert not imported, "a fresh ask under a current stamp must not import chromadb"
    assert "10亿美元" in stamped["answer"]
    who, imported = _ask_fresh(indexed, WHO)  # answered from the quotes, also in the read model
    assert not imported and who["answer"].startswith("谢里夫说：“我们决定成立一个双边工作组")
    stamp = stamp_path(indexed.vectorstore_dir, indexed.collection_prefix)
    stamp.unlink()  # what a reader finds while a writer runs, or on a store from before stamps
    unstamped, imported = _ask_fresh(indexed, QUESTIONS[0])
    assert imported, "without a stamp the reader uses Chroma"
    assert stamped == unstamped
    assert _ask_fresh(indexed, WHO)[0] == who


@pytest.mark.slow
def test_an_article_added_by_qa_index_is_found_by_the_next_fresh_ask(indexed: Settings) -> None:
    (indexed.articles_dir / "kg_logistics.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    done = subprocess.run([QA, "index"], env=_env(indexed), capture_output=True, text=True, timeout=900)
    assert done.returncode == 0 and "1 added" in done.stdout, done.stderr[-2000:]
    answer, imported = _ask_fresh(indexed, "吉尔吉斯斯坦与哈萨克斯坦共建的跨境物流中心占地多少公顷？")
    assert not imported
    assert "120公顷" in answer["answer"] and answer["citations"][0]["article_id"] == "kg_logistics.txt"


def _answers(settings: Settings, embeddings) -> list[tuple]:  # type: ignore[no-untyped-def]
    """A fresh reader's answers (two factual questions, a who-question) and quote search results."""
    return _answers_of(Pipeline(settings, embeddings))


def _answers_of(pipeline: Pipeline) -> list:
    return [_key(pipeline.ask(q).to_dict()) for q in [*QUESTIONS, WHO]] + [
        [(q.id, q.score) for q in pipeline.quotes(query="贸易", limit=5)]]


def _uses_read_model(settings: Settings, embeddings) -> bool:  # type: ignore[no-untyped-def]
    pipeline = Pipeline(settings, embeddings)
    return pipeline.retriever.snapshot().read is not None


@pytest.mark.slow
def test_missing_foreign_or_damaged_files_fall_back_to_chroma_with_the_same_answers(tmp_path: Path, embeddings) -> None:  # type: ignore[no-untyped-def]
    articles = tmp_path / "articles"
    shutil.copytree(SEEDS, articles)
    settings = Settings(articles_dir=articles, vectorstore_dir=tmp_path / "vectorstore")
    Pipeline(settings, embeddings).build()
    assert _uses_read_model(settings, embeddings)
    expected = _answers(settings, embeddings)
    stamp = stamp_path(settings.vectorstore_dir, settings.collection_prefix)
    good = stamp.read_text(encoding="utf-8")
    data = json.loads(good)
    foreign = {
        "garbage": "{not json",
        "another prefix": json.dumps({**data, "prefix": "other"}),
        "another format": json.dumps({**data, "format": 99}),
        "another store file": json.dumps({**data, "store_size": data["store_size"] + 4096}),
        "an older generation": json.dumps({**data, "generation": "1"}),
    }
    for name, text in foreign.items():
        stamp.write_text(text, encoding="utf-8")
        assert not _uses_read_model(settings, embeddings), name
        assert _answers(settings, embeddings) == expected, name
    stamp.unlink()
    assert not _uses_read_model(settings, embeddings)
    assert _answers(settings, embeddings) == expected
    # A reader that found no stamp (a writer running) takes up the read model once the writer stamps.
    reader = Pipeline(settings, embeddings)
    assert _answers_of(reader) == expected and reader.retriever.snapshot().read is None
    stamp.write_text(good, encoding="utf-8")
    assert _answers_of(reader) == expected and reader.retriever.snapshot().read is not None
    stamp.unlink()
    # A damaged read model under a good stamp: ignored, Chroma answers.
    stamp.write_text(good, encoding="utf-8")
    saved = settings.vectorstore_dir / json.loads((settings.vectorstore_dir / "qa_read.json").read_text())["dir"]
    vectors = (saved / "vectors.npy").read_bytes()
    (saved / "vectors.npy").write_bytes(vectors[: len(vectors) // 2])
    assert not _uses_read_model(settings, embeddings)
    assert _answers(settings, embeddings) == expected
    (saved / "rows.json").write_text("{", encoding="utf-8")
    assert _answers(settings, embeddings) == expected
    # The next `qa index` (nothing changed) writes the read model again.
    Pipeline(settings, embeddings).build()
    assert _uses_read_model(settings, embeddings)
    assert _answers(settings, embeddings) == expected


@pytest.mark.slow
def test_model_and_schema_mismatch_are_raised_from_the_stamp(indexed: Settings, embeddings) -> None:  # type: ignore[no-untyped-def]
    stamp = stamp_path(indexed.vectorstore_dir, indexed.collection_prefix)
    data = json.loads(stamp.read_text(encoding="utf-8"))
    stamp.write_text(json.dumps({**data, "embedding_model": "some/other-model"}), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match=r"built with the embedding model 'some/other-model'.*qa index --rebuild"):
        Pipeline(indexed, embeddings).ask(QUESTIONS[0])
    stamp.write_text(json.dumps({**data, "schema_version": 0}), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match=r"uses schema 0.*qa index --rebuild"):
        Pipeline(indexed, embeddings).ask(QUESTIONS[0])


@pytest.mark.slow
def test_a_write_removes_the_stamp_and_the_writer_stamps_again(tmp_path: Path, embeddings) -> None:  # type: ignore[no-untyped-def]
    """An upload (Pipeline.update, as the page does): the stamp goes before the first write, and comes back
    with the derived files; the writer's own generation changes at once."""
    from qa.articles import load_article

    articles = tmp_path / "articles"
    shutil.copytree(SEEDS, articles)
    settings = Settings(articles_dir=articles, vectorstore_dir=tmp_path / "vectorstore")
    pipeline = Pipeline(settings, embeddings)
    pipeline.build()
    stamp = stamp_path(settings.vectorstore_dir, settings.collection_prefix)
    before, generation = stamp.read_text(encoding="utf-8"), pipeline.index.generation()
    (articles / "kg_logistics.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    seen: list[bool] = []
    real_commit = pipeline.index.commit_group

    def commit(group):  # type: ignore[no-untyped-def]
        seen.append(stamp.exists())
        real_commit(group)

    pipeline.index.commit_group = commit  # type: ignore[method-assign]
    pipeline.update([load_article(articles / "kg_logistics.txt")], remove_missing=False)
    assert seen == [False], "no stamp while the writer writes"
    assert stamp.is_file() and stamp.read_text(encoding="utf-8") != before
    assert pipeline.index.generation() != generation
    assert pipeline.retriever.snapshot().read is not None
    found = pipeline.ask("吉尔吉斯斯坦与哈萨克斯坦共建的跨境物流中心占地多少公顷？")
    assert "120公顷" in found.text
    assert _answers(settings, embeddings) == _answers_of(pipeline), "a fresh reader answers as the writer does"
