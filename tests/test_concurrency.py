"""Many questions at once, and indexing while answering: same answers, no errors.

The real page is launched on loopback over a fresh index and asked through its `/ask` API from
a thread pool; `Pipeline.ask` is also hammered directly from threads, since the page's queue
may serialise calls and hide races in the pipeline itself.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import load_gold, free_port
from qa.pipeline import Pipeline

pytestmark = pytest.mark.slow

N_QUESTIONS = 50
WORKERS = 8
NEW_ARTICLE = (
    " date 2026-04-01\n"
    "比什凯克消息，吉尔吉斯斯坦与哈萨克斯坦签署了共建跨境物流中心的协议，中心占地120公顷，预计2027年投入使用。\n"
)



def _questions() -> list[str]:
    gold = [g["question"] for g in load_gold()]
    return (gold * 2)[:N_QUESTIONS]


def _key(out: dict) -> tuple:
    return (out["answer"], out["refused"], tuple((c["article_id"], c["sentence_start"], c["sentence_end"]) for c in out["citations"]))


@pytest.fixture(scope="module")
def fresh_pipeline(tmp_path_factory: pytest.TempPathFactory, embeddings) -> Pipeline:  # type: ignore[no-untyped-def]
    import shutil

    from qa.settings import Settings

    root = tmp_path_factory.mktemp("concurrency")
    shutil.copytree(Path(__file__).resolve().parent.parent / "seeds", root / "articles")
    pipeline = Pipeline(Settings(articles_dir=root / "articles", vectorstore_dir=root / "vectorstore"), embeddings)
    pipeline.build()
    return pipeline


def test_50_concurrent_questions_through_the_page_api(fresh_pipeline: Pipeline) -> None:
    from gradio_client import Client

    from qa.ui.app import build_app

    questions = _questions()
    one_by_one = {q: _key(fresh_pipeline.ask(q).to_dict()) for q in dict.fromkeys(questions)}
    app = build_app(fresh_pipeline)
    app.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        url = app.local_url
        local = threading.local()

        def ask(question: str) -> dict:
            if not hasattr(local, "client"):  # one client per worker thread
                local.client = Client(url, verbose=False)
            return local.client.predict(question, 5, None, "", "", None, api_name="/ask")

        with ThreadPoolExecutor(WORKERS) as pool:
            results = list(pool.map(ask, questions, timeout=1200))
    finally:
        app.close()
    assert len(results) == N_QUESTIONS
    errors = [(q, r.get("error")) for q, r in zip(questions, results) if r.get("error")]
    assert not errors
    assert [_key(r) for r in results] == [one_by_one[q] for q in questions]


def test_indexing_while_answering_in_threads(fresh_pipeline: Pipeline) -> None:
    """Pipeline.ask from 8 threads while a new article is indexed: every answer equals the
    one-by-one answer (the new article is about something else), and afterwards it is found."""
    questions = _questions()[:24]
    expected = {q: _key(fresh_pipeline.ask(q).to_dict()) for q in dict.fromkeys(questions)}
    folder = fresh_pipeline.settings.articles_dir
    (folder / "kg_logistics.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    from qa.articles import load_article

    errors: list[BaseException] = []

    def index_new() -> None:
        try:
            fresh_pipeline.update([*_loaded(folder)], remove_missing=False)
        except BaseException as exc:  # reported below, not swallowed
            errors.append(exc)

    def _loaded(folder: Path):  # type: ignore[no-untyped-def]
        return [load_article(p) for p in sorted(folder.iterdir())]

    writer = threading.Thread(target=index_new)
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = [pool.submit(fresh_pipeline.ask, q) for q in questions[:8]]
        writer.start()
        futures += [pool.submit(fresh_pipeline.ask, q) for q in questions[8:]]
        answers = [f.result(timeout=1200) for f in futures]
    writer.join(timeout=1200)
    assert not errors
    # The extra article shifts keyword statistics a little, so an answer may be the one given
    # before the update or the one given after it — never anything else.
    after = {q: _key(fresh_pipeline.ask(q).to_dict()) for q in dict.fromkeys(questions)}
    for q, a in zip(questions, answers):
        assert _key(a.to_dict()) in (expected[q], after[q]), q
    # Known Chroma behaviour, reported by the check and compensated in retrieval: under full-suite load,
    # a chunk written by one thread while other threads query was (twice in CI) stored with its vector
    # but not returned by Chroma's HNSW search, even asked for every chunk. The retriever gives keyword
    # hits their exact cosine (HybridRetriever.exact_dense), so the new article is still answered below;
    # every other consistency problem fails the test.
    problems = fresh_pipeline.index.check()
    assert [p for p in problems if "the vector index does not find it" not in p] == []
    assert all(p.startswith("kg_logistics.txt:") for p in problems), problems
    found = fresh_pipeline.ask("吉尔吉斯斯坦与哈萨克斯坦共建的跨境物流中心占地多少公顷？")
    assert "120公顷" in found.text and found.citations[0].article_id == "kg_logistics.txt"
