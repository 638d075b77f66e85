"""The page's start (`qa serve`): Gradio is imported without rewriting its type stubs, and a question that
arrives while the warm-up is still loading the models is answered exactly as a warm pipeline answers it
(the real `launch`, server, pipeline and models)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from qa.pipeline import Pipeline
from qa.settings import Settings
from conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "哈萨克斯坦计划将与巴基斯坦的双边贸易额提升至多少？"


def _key(out: dict) -> tuple:  # type: ignore[type-arg]
    return (out["answer"], out["refused"], tuple((c["article_id"], c["sentence_start"], c["sentence_end"]) for c in out["citations"]))


def _ask(url: str, question: str) -> dict:  # type: ignore[type-arg]
    """/ask over plain HTTP, as a script would call it (no client start-up between launch and the question)."""
    base = url.rstrip("/") + "/gradio_api/call/ask"
    req = urllib.request.Request(base, data=json.dumps({"data": [question, 5, [], "", "", []]}).encode(),
                                 headers={"Content-Type": "application/json"})
    event = json.loads(urllib.request.urlopen(req, timeout=30).read())["event_id"]
    body = urllib.request.urlopen(f"{base}/{event}", timeout=300).read().decode()
    assert "event: complete" in body, body[-1000:]
    data = [line[len("data:"):] for line in body.splitlines() if line.startswith("data:")][-1]
    return json.loads(data)[0]


def test_the_page_imports_gradio_without_rewriting_its_stubs() -> None:
    """In a fresh process (the hook must come before Gradio's first import): the stub writer is skipped,
    the installed stubs are left as they were, and Gradio's components still build."""
    code = ("import pathlib, qa.ui.app, gradio, gradio.component_meta as m, qa.ui.gradio_import as g; "
            "stubs = sorted(pathlib.Path(gradio.__file__).parent.joinpath('components').glob('*.pyi')); "
            "print(m.create_or_modify_pyi is g._no_stub, len(stubs) > 10, bool(gradio.Textbox(value='x').value))")
    before = {p: p.stat().st_mtime_ns for p in _stubs()}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["True", "True", "True"]
    assert {p: p.stat().st_mtime_ns for p in _stubs()} == before


def _stubs() -> list[Path]:
    import importlib.util

    spec = importlib.util.find_spec("gradio")
    assert spec is not None and spec.origin
    return sorted(Path(spec.origin).parent.joinpath("components").glob("*.pyi"))


@pytest.mark.slow
def test_first_question_is_answered_while_the_warm_up_still_loads(seed_pipeline: Pipeline, seed_settings: Settings) -> None:
    from qa.ui.start import launch

    expected = _key(seed_pipeline.ask(QUESTION).to_dict())
    # A pipeline of its own (its own embedder and reader, nothing loaded yet), as `qa serve` starts it.
    app = launch(seed_settings.model_copy(update={"port": free_port()}), block=False)
    try:
        warm = [t for t in threading.enumerate() if t.name == "qa-warm-up"]
        assert warm and warm[0].is_alive()  # the question below meets the warm-up mid-way through its loads
        first = _ask(app.local_url, QUESTION)
        warm[0].join(timeout=300)
        again = _ask(app.local_url, QUESTION)
    finally:
        app.close()
    assert not first["error"] and "10亿美元" in first["answer"]
    assert _key(first) == expected and _key(again) == expected
