"""Cold start: `qa --help`, a fresh `qa ask "…"` and `qa serve` to its first answer, medians of fresh processes.

    python benchmarks/bench_start.py [--runs 5] [--serve-chunks 10000] [--serve-only] [--work DIR] [--json OUT]

Prints, per figure, the median wall time of `--runs` fresh processes, and the breakdown of the first
`ask` measured inside fresh processes (phases run one after another, each timed on its own):

  import cli        `import qa.cli` (what `qa --help` pays)
  import pipeline   the modules the first question needs
  model session     the query embedder's ONNX Runtime session and tokenizer (the SentencePiece model, loaded
                    once per process and shared with the reader), and the first `embed_query`
  reader session    the reader's ONNX Runtime session (its tokenizer is the embedder's)
  jieba dictionary  jieba's prefix dictionary and the part-of-speech table the name check uses (both stored
                    next to the model cache and memory-mapped; the first run of a new cache builds them)
  CLDR tables       the country gazetteer built from Babel's CLDR data (stored likewise)
  keyword snapshot  opening the store and the saved BM25 snapshot
  first ask         the rest of the first answer (retrieval, reading, sentences, composition)
  second ask        a warm answer, for comparison

Fresh processes run as an installed user's do, with their bytecode cached (`PYTHONDONTWRITEBYTECODE` is
dropped from the environment: compiling the package's ~100 modules in every process is ~0.1 s no user pays).

The seed index is built once under --work (real embedder). The serve figure needs an index of about
`--serve-chunks` chunks: it is built once under --work from the seed articles repeated with their
sentences rotated, embedded by a stand-in that gives every text a fixed pseudo-random unit vector
under the bundled model's id (start-up time does not depend on the vectors' values, and embedding
10k chunks and their sentences for real takes most of an hour on 2 cores). The page is started with
`qa serve` and asked through its HTTP API (/gradio_api/call/ask) until the first answer arrives
(that question arrives the moment the server listens). A second figure asks 3 s after the page is up, as
a person does: by then `qa serve`'s warm-up question has loaded what an answer needs.

The serve breakdown: the same start on the same index in fresh processes, one phase after another
(no warm-up thread, so each phase is timed on its own):

  import pipeline   `qa.cli`, `qa.pipeline` and the settings
  open index        the pipeline on the existing index (`check_compatible`)
  import gradio     Gradio and the page's modules (`qa.ui.app`)
  build page        the Blocks (`build_app`)
  listen            Gradio's server started (`launch`)
  first answer      the first /gradio_api/call/ask (model sessions, jieba, keyword snapshot, vector index)
  second answer     a warm one, for comparison
  page load         what a browser's page load asks for (the article list and the picker)
  quotes tab        what the "Who said what" tab does when first opened (every statement, the speakers)
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QA = str(Path(sys.executable).with_name("qa"))
QUESTION = "哈萨克斯坦计划将与巴基斯坦的双边贸易额提升至多少？"
SERVE_PHASES = ("import pipeline", "open index", "import gradio", "build page", "listen", "first answer", "second answer",
                "page load", "quotes tab")
PHASES = ("import cli", "import pipeline", "model session", "reader session", "jieba dictionary", "CLDR tables",
          "keyword snapshot", "first ask", "second ask")


def _env(articles: Path, store: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # as a user's runs (see above)
    return {**base, "QA_ARTICLES_DIR": str(articles), "QA_VECTORSTORE_DIR": str(store), "HF_HUB_OFFLINE": "1",
            "ANONYMIZED_TELEMETRY": "False", "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def _wall(cmd: list[str], env: dict[str, str], runs: int, stdin: str | None = None) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, input=stdin, timeout=600)
        out.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr[-2000:]}")
    return out


# --------------------------------------------------------------------------- the breakdown (child process)
def child() -> None:
    """One fresh process: each phase of the first answer timed on its own, printed as JSON."""
    times: dict[str, float] = {}

    def phase(name: str):  # type: ignore[no-untyped-def]
        class _T:
            def __enter__(self) -> None:
                self.t = time.perf_counter()

            def __exit__(self, *exc: object) -> None:
                times[name] = time.perf_counter() - self.t

        return _T()

    with phase("import cli"):
        import qa.cli  # noqa: F401
    with phase("import pipeline"):
        from qa.pipeline import Pipeline
        from qa.settings import Settings
    settings = Settings()
    pipeline = Pipeline(settings)
    with phase("model session"):
        pipeline.embeddings.embed_query("warm up")
    with phase("reader session"):
        pipeline.reader.load()
    with phase("jieba dictionary"):
        from qa.text.question import analyse

        analyse("巴基斯坦的首都").names  # jieba's dictionary, then its part-of-speech table
    with phase("CLDR tables"):
        from qa.text.countries import gazetteer

        gazetteer()
    with phase("keyword snapshot"):
        pipeline.index.check_compatible()
        pipeline.retriever.snapshot()
    with phase("first ask"):
        pipeline.ask(QUESTION)
    with phase("second ask"):
        pipeline.ask("What share of Pakistan's taxi market does InDrive hold?")
    print(json.dumps(times))


def breakdown(env: dict[str, str], runs: int) -> dict[str, float]:
    rows = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, __file__, "--child"], env=env, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise SystemExit(f"breakdown child failed: {done.stderr[-2000:]}")
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {name: statistics.median(r.get(name, 0.0) for r in rows) for name in PHASES}


# --------------------------------------------------------------------------- the 10k-chunk store for `qa serve`
class _StandIn:
    """Fixed pseudo-random unit vectors per text under the bundled model's id (timing only, see above)."""

    def __init__(self, model_id: str, dim: int = 384) -> None:
        self.model_id, self.dim = model_id, dim

    def _vec(self, text: str) -> list[float]:
        import numpy as np

        seed = int.from_bytes(hashlib.sha1(text.encode()).digest()[:8], "little")
        v = np.random.default_rng(seed).normal(size=self.dim).astype(np.float32)
        return (v / np.linalg.norm(v)).tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._vec(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vec(text)


def build_big_store(work: Path, chunks: int) -> tuple[Path, Path]:
    articles, store = work / f"articles-{chunks}", work / f"store-{chunks}"
    if (store / "done").exists():
        return articles, store
    shutil.rmtree(articles, ignore_errors=True)
    shutil.rmtree(store, ignore_errors=True)
    articles.mkdir(parents=True)
    sys.path.insert(0, str(ROOT))
    from qa.models.bundled_model import MODEL_ID
    from qa.pipeline import build_index
    from qa.settings import Settings
    from qa.text.sentences import split_sentences

    seeds = sorted((ROOT / "seeds").glob("*.txt"))
    texts = [p.read_text(encoding="utf-8") for p in seeds]
    per_copy = 19  # chunks of the two seed articles
    n = 0
    while n * per_copy < chunks:
        for i, text in enumerate(texts):
            head, _, body = text.partition("\n")
            spans = split_sentences(body)
            sents = [body[s.start:s.end] for s in spans]
            k = (n * 7) % max(len(sents), 1)
            rotated = "\n".join(sents[k:] + sents[:k])
            # a closing line of its own: no two copies have the same text (copies are indexed once)
            (articles / f"r{n:04d}_{i}.txt").write_text(f"{head}\n{rotated}\n（副本{n}-{i}）\n", encoding="utf-8")
        n += 1
    settings = Settings(articles_dir=articles, vectorstore_dir=store)
    report = build_index(settings, _StandIn(MODEL_ID))
    (store / "done").write_text(report.summary(), encoding="utf-8")
    return articles, store


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ask_http(port: int, question: str, timeout: float = 60) -> str:
    base = f"http://127.0.0.1:{port}/gradio_api/call/ask"
    req = urllib.request.Request(base, data=json.dumps({"data": [question, 5, [], "", "", []]}).encode(),
                                 headers={"Content-Type": "application/json"})
    event = json.loads(urllib.request.urlopen(req, timeout=5).read())["event_id"]
    return urllib.request.urlopen(f"{base}/{event}", timeout=timeout).read().decode()


def serve_child() -> None:
    """One fresh process: each phase of `qa serve` to its first answer timed on its own, printed as JSON."""
    times: dict[str, float] = {}

    def timed(name: str, fn):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        out = fn()
        times[name] = time.perf_counter() - t
        return out

    def imports():  # type: ignore[no-untyped-def]
        import qa.cli  # noqa: F401
        from qa.pipeline import Pipeline
        from qa.settings import Settings

        return Pipeline, Settings

    Pipeline, Settings = timed("import pipeline", imports)
    def open_index():  # type: ignore[no-untyped-def]
        pipeline = Pipeline(Settings())
        pipeline.index.check_compatible()
        return pipeline

    pipeline = timed("open index", open_index)
    ui = timed("import gradio", lambda: __import__("qa.ui.app", fromlist=["build_app"]))
    app = timed("build page", lambda: ui.build_app(pipeline))
    port = _free_port()
    timed("listen", lambda: ui.listen(app, pipeline.settings, auth=None, host="127.0.0.1", port=port, block=False))
    try:
        for name, question in (("first answer", QUESTION), ("second answer", "What share of Pakistan's taxi market does InDrive hold?")):
            body = timed(name, lambda: _ask_http(port, question))
            if "event: complete" not in body:
                raise SystemExit(f"no answer: {body[-500:]}")
        from qa.ui.logic import article_choices
        from qa.ui.render import articles_table_html, quotes_html

        def page_load() -> None:  # what the page's load event does (`find_articles` with no filter)
            every = pipeline.index.records()
            articles_table_html(pipeline, every=every), article_choices(pipeline, every=every)

        def quotes_tab() -> None:  # what opening "Who said what" does: the newest statements and the speakers
            found = pipeline.quotes(limit=0, latest=True)
            quotes_html(pipeline, found[:25]), pipeline.speakers()

        timed("page load", page_load)
        timed("quotes tab", quotes_tab)
    finally:
        app.close()
    print(json.dumps(times))


def serve_breakdown(env: dict[str, str], runs: int) -> dict[str, float]:
    rows = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, __file__, "--serve-child"], env=env, capture_output=True, text=True,
                              timeout=600)
        if done.returncode != 0:
            raise SystemExit(f"serve breakdown child failed: {done.stderr[-2000:]}")
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {name: statistics.median(r.get(name, 0.0) for r in rows) for name in SERVE_PHASES}


@contextlib.contextmanager
def _serving(env: dict[str, str]) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A fresh `qa serve` on a free port (its port and process), stopped afterwards."""
    port = _free_port()
    proc = subprocess.Popen([QA, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield port, proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _until_up(proc: subprocess.Popen[bytes], attempt: Callable[[], bool]) -> None:
    """Retry `attempt` until it returns True; connection errors mean the server is not listening yet."""
    while True:
        if proc.poll() is not None:
            raise SystemExit("qa serve exited before answering")
        try:
            if attempt():
                return
        except (ConnectionError, urllib.error.URLError, TimeoutError):
            time.sleep(0.05)


def serve_to_first_answer(env: dict[str, str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        with _serving(env) as (port, proc):
            def answered() -> bool:
                body = _ask_http(port, QUESTION)
                if "event: complete" not in body:
                    raise SystemExit(f"no answer: {body[-500:]}")
                return True

            _until_up(proc, answered)
            out.append(time.perf_counter() - started)
    return out


def serve_answer_when_up(env: dict[str, str], runs: int, delay: float = 3.0) -> list[float]:
    """One answer asked `delay` seconds after `qa serve` first answers HTTP (its own time only)."""
    out = []
    for _ in range(runs):
        with _serving(env) as (port, proc):
            _until_up(proc, lambda: bool(urllib.request.urlopen(f"http://127.0.0.1:{port}/gradio_api/info", timeout=5).read()))
            time.sleep(delay)
            started = time.perf_counter()
            if "event: complete" not in _ask_http(port, QUESTION):
                raise SystemExit("no answer")
            out.append(time.perf_counter() - started)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--serve-chunks", type=int, default=10000, help="chunks of the index `qa serve` opens (0: skip)")
    ap.add_argument("--work", type=Path, default=ROOT / "benchmarks" / ".cache" / "start")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--serve-child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--serve-only", action="store_true", help="only the `qa serve` figures (and their breakdown)")
    args = ap.parse_args()
    if args.child:
        child()
        return
    if args.serve_child:
        serve_child()
        return
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {}
    if not args.serve_only:
        results.update(ask_figures(work, args.runs))
    if args.serve_chunks:
        big_articles, big_store = build_big_store(work, args.serve_chunks)
        big = _env(big_articles, big_store)
        results["serve_chunks"] = (big_store / "done").read_text(encoding="utf-8")
        results["serve_first_answer_s"] = serve_to_first_answer(big, args.runs)
        results["serve_answer_when_up_s"] = serve_answer_when_up(big, args.runs)
        results["serve_breakdown_s"] = serve_breakdown(big, args.runs)
    med = {k: statistics.median(v) for k, v in results.items() if isinstance(v, list)}
    print(f"cold start (medians of {args.runs} fresh processes; load average {os.getloadavg()[0]:.1f})")
    if "help_s" in med:
        print(f"  qa --help                         {med['help_s']:.2f} s   (target 0.3)")
        print(f"  qa ask \"…\" (seed index)           {med['ask_s']:.2f} s   (target 1.5)")
    if "ask_stdin_12_s" in med:
        print(f"  qa ask - (12 questions on stdin)  {med['ask_stdin_12_s']:.2f} s")
    if "serve_first_answer_s" in med:
        runs = ", ".join(f"{x:.2f}" for x in results["serve_first_answer_s"])  # type: ignore[union-attr]
        print(f"  qa serve → first answer (HTTP)    {med['serve_first_answer_s']:.2f} s   (target 5; runs {runs}; "
              f"{results['serve_chunks']})")
    if "serve_answer_when_up_s" in med:
        print(f"  qa serve, an answer asked 3 s after the page is up  {med['serve_answer_when_up_s']:.2f} s")
    if "breakdown_s" in results:
        print("  first ask, phase by phase (fresh process):")
        for name, value in results["breakdown_s"].items():  # type: ignore[union-attr]
            print(f"    {name:<18} {value:.3f} s")
    if "serve_breakdown_s" in results:
        print("  qa serve, phase by phase (fresh process, no warm-up thread; the last two are not on the way to the first answer):")
        for name, value in results["serve_breakdown_s"].items():  # type: ignore[union-attr]
            print(f"    {name:<18} {value:.3f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")


def ask_figures(work: Path, runs: int) -> dict[str, object]:
    """`qa --help`, `qa ask "…"`, `qa ask -` and the first ask's breakdown on the seed index."""
    seed_articles, seed_store = work / "seeds", work / "seed-store"
    if not (seed_store / "done").exists():
        shutil.rmtree(seed_articles, ignore_errors=True)
        shutil.copytree(ROOT / "seeds", seed_articles)
        subprocess.run([QA, "index"], env=_env(seed_articles, seed_store), check=True, capture_output=True)
        (seed_store / "done").write_text("1", encoding="utf-8")
    env = _env(seed_articles, seed_store)
    results: dict[str, object] = {}
    results["help_s"] = _wall([QA, "--help"], env, runs)
    results["ask_s"] = _wall([QA, "ask", QUESTION], env, runs)
    questions = "\n".join([QUESTION, "What share of Pakistan's taxi market does InDrive hold?", "法国的首都是哪里？"] * 4)
    try:
        results["ask_stdin_12_s"] = _wall([QA, "ask", "-"], env, max(1, runs // 2), stdin=questions + "\n")
    except SystemExit:  # a version without `qa ask -`
        pass
    results["breakdown_s"] = breakdown(env, runs)
    return results


if __name__ == "__main__":
    main()
