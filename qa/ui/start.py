"""Starting the page (`qa serve`, `python app.py`): the index, a warm-up while Gradio loads, then the server.

Kept free of Gradio at import time: the warm-up thread starts before Gradio is imported, so the
models' sessions, jieba's dictionary, the keyword snapshot and the vector index load while Gradio's
modules do (ONNX Runtime and SentencePiece let go of the GIL for part of their loading; measured in
`benchmarks/bench_start.py`, the serve breakdown).
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
    finished waits only for the part it needs next (each load holds its own lock), and loads nothing twice."""

    def run() -> None:
        for question in WARM_UP_QUESTIONS:
            try:
                pipeline.ask(question)
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
    warm_up(pipeline)
    from qa.ui.app import serve  # Gradio: imported while the warm-up runs

    return serve(pipeline, block=block)
