"""Starting the page (`qa serve`, `python app.py`): the index, the server, then a warm-up while it waits.

The warm-up asks one question in a thread once the server listens, so the models' sessions, jieba's
dictionary, the keyword snapshot and the vector index are loaded before the first visitor asks
(that takes a second or two; a person opening the page takes longer). It starts after Gradio's import,
not during it: every one of those loads holds the GIL, and a thread started before the import was
measured not to overlap with it (`benchmarks/bench_start.py`; README, Start-up).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from qa.pipeline import Pipeline
from qa.security import server_auth
from qa.settings import Settings

log = logging.getLogger(__name__)

WARM_UP_QUESTIONS = ("这些报道中的贸易额是多少？",)
"""Asked once in the background at start, answers discarded: it takes the path a real question takes
(the query embedder, the reader, jieba, the CLDR tables, the keyword snapshot, the vector index; an
English question needs nothing more that is slow to load). Not among the page's examples, so nothing
a visitor asks is answered from a cache."""


def ensure_index(pipeline: Pipeline) -> None:
    """First start: build the index so the page can answer right away."""
    if not pipeline.index.exists():
        report = pipeline.build()
        print(f"Built the index: {report.summary()}")
        for problem in report.problems:
            print(f"skipped {problem}")


def warm_up(pipeline: Pipeline) -> threading.Thread:
    """Load what the first answer needs in a daemon thread. A question that arrives before it has
    finished waits only for the load it needs next (each load holds its own lock), and nothing loads twice."""

    def run() -> None:
        for question in WARM_UP_QUESTIONS:
            try:
                pipeline.extractive_answer(question)  # never the LLM (`--llm`): no request to a model server
            except Exception as exc:  # the first real question loads whatever failed here, and reports it
                log.debug("warm-up question %r failed: %s", question, exc)

    thread = threading.Thread(target=run, name="qa-warm-up", daemon=True)
    thread.start()
    return thread


def launch(settings: Settings, *, block: bool = True) -> Any:
    server_auth(settings)  # refuse an unprotected public address before spending time on the index
    pipeline = Pipeline(settings)
    ensure_index(pipeline)
    pipeline.index.check_compatible()
    from qa.ui.app import serve

    app = serve(pipeline, block=False, quiet=not block)
    warm_up(pipeline)
    if block:
        app.block_thread()  # what Gradio's launch does when it blocks: until Ctrl-C, then the server closes
    return app
