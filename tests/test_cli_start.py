"""Start-up of the command line: `qa --help` imports no heavy library, `qa ask` only what a question
needs, and `qa ask -` answers one question a line from standard input (the real CLI, in subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
QA = str(Path(sys.executable).with_name("qa"))
HEAVY_FOR_HELP = ("chromadb", "gradio", "torch", "sentence_transformers", "transformers", "langchain", "langchain_core",
                  "onnxruntime", "jieba", "bm25s", "numpy", "pydantic_settings", "babel")
HEAVY_FOR_ASK = ("gradio", "torch", "sentence_transformers", "transformers", "langchain_chroma",
                 "langchain_core.retrievers", "langchain_core.vectorstores", "langchain_core.runnables",
                 "langchain_core.callbacks", "langchain_core.embeddings.embeddings", "bm25s", "scipy", "numba")


def _env(settings=None) -> dict[str, str]:  # type: ignore[no-untyped-def]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    if settings is not None:
        env |= {"QA_ARTICLES_DIR": str(settings.articles_dir), "QA_VECTORSTORE_DIR": str(settings.vectorstore_dir)}
    return env


def _imported(args: list[str], env: dict[str, str], stdin: str | None = None) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    """The modules a fresh `python -m qa.cli ARGS` imports (from -X importtime)."""
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "qa.cli", *args], env=env, capture_output=True,
                         text=True, input=stdin, timeout=600)
    names = {line.split("|")[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")}
    return names, run


def _heavy(names: set[str], heavy: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if any(n == h or n.startswith(h + ".") for h in heavy))


def test_help_imports_no_heavy_library() -> None:
    names, run = _imported(["--help"], _env())
    assert run.returncode == 0 and "Usage:" in run.stdout
    assert not _heavy(names, HEAVY_FOR_HELP)


@pytest.mark.slow
def test_ask_imports_only_what_a_question_needs(seed_pipeline) -> None:  # type: ignore[no-untyped-def]
    names, run = _imported(["ask", "哈萨克斯坦计划将与巴基斯坦的双边贸易额提升至多少？"], _env(seed_pipeline.settings))
    assert run.returncode == 0 and "10亿美元" in run.stdout, run.stderr[-2000:]
    assert not _heavy(names, HEAVY_FOR_ASK)


@pytest.mark.slow
def test_ask_dash_answers_one_question_a_line(seed_pipeline) -> None:  # type: ignore[no-untyped-def]
    questions = ["哈萨克斯坦计划将与巴基斯坦的双边贸易额提升至多少？", "", "What share of Pakistan's taxi market does InDrive hold?",
                 "法国的首都是哪里？"]
    stdin = "\n".join(questions) + "\n"
    plain = subprocess.run([QA, "ask", "-"], env=_env(seed_pipeline.settings), capture_output=True, text=True,
                           input=stdin, timeout=600)
    assert plain.returncode == 0, plain.stderr
    lines = plain.stdout.split("\n")[:-1]
    assert len(lines) == 4
    assert "10亿美元" in lines[0] and lines[0].endswith("]")
    assert lines[1] == "" and "line 2: the question is empty" in plain.stderr
    assert "60%" in lines[2]
    assert lines[3] == "文章中没有找到这个问题的答案。"
    # The same answers as the API gives, as JSON lines.
    as_json = subprocess.run([QA, "ask", "-", "--json"], env=_env(seed_pipeline.settings), capture_output=True, text=True,
                             input=stdin, timeout=600)
    rows = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [r.get("answer") for r in rows] == [seed_pipeline.ask(questions[0]).text, None,
                                               seed_pipeline.ask(questions[2]).text, seed_pipeline.ask(questions[3]).text]
    assert rows[1] == {"line": 2, "error": "the question is empty: type a question about the articles"}
    assert rows[0]["citations"] and rows[3]["refused"] is True


@pytest.mark.slow
def test_ask_into_a_closed_pipe_stops_quietly(seed_pipeline) -> None:  # type: ignore[no-untyped-def]
    """`qa ask … | head -1`: the reader of the output goes away; the CLI stops with status 0 and says nothing
    (it reported "unexpected BrokenPipeError … this is a bug"). The read end is closed before the CLI writes."""
    proc = subprocess.Popen([QA, "ask", "哈萨克斯坦去年的经济增长率是多少？"], env=_env(seed_pipeline.settings),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=600) == 0, stderr
    assert "Error" not in stderr and "Traceback" not in stderr
