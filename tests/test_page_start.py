"""The page's start (`qa serve`): the warm-up thread begins before Gradio is imported, and a question that
arrives while it is still loading the models is answered exactly as a warm pipeline answers it (real
server, real pipeline, real models)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from qa.pipeline import Pipeline
from qa.settings import Settings
from conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "哈萨克斯坦计划将与巴基斯坦的双边贸易额提升至多少？"


def _key(out: dict) -> tuple:  # type: ignore[type-arg]
    return (out["answer"], out["refused"], tuple((c["article_id"], c["sentence_start"], c["sentence_end"]) for c in out["citations"]))


def test_the_start_module_imports_no_gradio() -> None:
    """What lets `launch` start the warm-up before Gradio's two seconds of imports."""
    code = "import sys, qa.ui.start; print(sorted(m for m in sys.modules if m.split('.')[0] == 'gradio'))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"})
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "[]"


@pytest.mark.slow
def test_first_question_is_answered_while_the_warm_up_still_loads(seed_pipeline: Pipeline, seed_settings: Settings) -> None:
    from gradio_client import Client

    from qa.ui.app import serve
    from qa.ui.start import warm_up

    expected = _key(seed_pipeline.ask(QUESTION).to_dict())
    fresh = Pipeline(seed_settings)  # its own embedder and reader: nothing loaded yet
    app = serve(fresh, port=free_port(), block=False)
    try:
        client = Client(app.local_url, verbose=False)
        thread = warm_up(fresh)
        assert thread.is_alive()  # the question below meets the warm-up mid-way through its loads
        first = client.predict(QUESTION, 5, None, "", "", None, api_name="/ask")
        thread.join(timeout=300)
        again = client.predict(QUESTION, 5, None, "", "", None, api_name="/ask")
    finally:
        app.close()
    assert not first["error"] and "10亿美元" in first["answer"]
    assert _key(first) == expected and _key(again) == expected
