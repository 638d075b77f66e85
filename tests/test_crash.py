"""`kill -9` of a real `qa index` part-way through: nothing is lost, nothing is half-visible.

The corpus: 60 short articles made from DRCD passages (Delta Reading Comprehension Dataset,
zh Wikipedia text; CC BY-SA 3.0 — https://github.com/DRCKnowledgeTeam/DRCD, see
/work/shared/bench/drcd/README.txt) plus two articles whose facts change between versions,
so an answer shows which version of an article is being read.

Every step runs `qa` in its own process, exactly as a user would: a test process holding the
store open would keep a stale view of it (Chroma caches a store per process).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

DRCD = Path("/work/shared/bench/drcd/passages.jsonl")
QA = [str(Path(sys.executable).with_name("qa"))]
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not DRCD.exists(), reason="DRCD passages not available")]

OLD_FIRST = " date 2024-01-01\n阿尔法钢厂去年的钢产量是120万吨。该厂位于河谷东岸。\n"
NEW_FIRST = " date 2024-06-01\n阿尔法钢厂去年的钢产量是350万吨。该厂位于河谷东岸。\n"
OLD_LAST = " date 2024-01-01\n泽塔港口去年的集装箱吞吐量是80万标准箱。港口由市政府管理。\n"
NEW_LAST = " date 2024-06-01\n泽塔港口去年的集装箱吞吐量是510万标准箱。港口由市政府管理。\n"


def _drcd_articles(n: int) -> dict[str, str]:
    """n short articles (first sentences of DRCD passages, ≤ 200 chars: cheap to embed)."""
    out: dict[str, str] = {}
    for i, line in enumerate(DRCD.read_text(encoding="utf-8").splitlines()[:n]):
        text = json.loads(line)["text"]
        cut = max(text.rfind("。", 0, 200), 60)
        out[f"m{i:02d}.txt"] = f" date 2023-{i % 12 + 1:02d}-{i % 27 + 1:02d}\n{text[: cut + 1]}\n"
    return out


def _env(tmp: Path) -> dict[str, str]:
    return {
        **os.environ,
        "QA_ARTICLES_DIR": str(tmp / "articles"),
        "QA_VECTORSTORE_DIR": str(tmp / "vectorstore"),
        "HF_HUB_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
    }


def _qa(tmp: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(QA + list(args), env=_env(tmp), capture_output=True, text=True, timeout=timeout)


def _start_index(tmp: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(QA + ["index"], env=_env(tmp), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _kill_after_first_progress(proc: subprocess.Popen[str]) -> str:
    """SIGKILL as soon as the first group of articles has been committed (or the run ends)."""
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if line.startswith("indexed "):
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    return "".join(seen)


def _answer(tmp: Path, question: str) -> dict:
    done = _qa(tmp, "ask", "--json", question)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return json.loads(done.stdout)


def _check(tmp: Path) -> list[str]:
    """`qa index --check` problems (an empty list means consistent)."""
    done = _qa(tmp, "index", "--check")
    assert "Traceback" not in done.stderr, done.stderr
    problems = [line.removeprefix("problem: ") for line in done.stderr.splitlines() if line.startswith("problem: ")]
    assert (done.returncode == 0) == (not problems), done.stderr
    return problems


def test_kill_9_during_index_loses_nothing(tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    corpus = _drcd_articles(58)
    # Previous state: 10 articles, including the two that change.
    previous = dict(list(corpus.items())[:8]) | {"a_first.txt": OLD_FIRST, "z_last.txt": OLD_LAST}
    for name, text in previous.items():
        (articles / name).write_text(text, encoding="utf-8")
    built = _qa(tmp_path, "index")
    assert built.returncode == 0, built.stderr
    assert _check(tmp_path) == []
    assert "120万吨" in _answer(tmp_path, "阿尔法钢厂去年的钢产量是多少？")["answer"]

    # The update: both changed articles get new facts, 50 new articles arrive (60 in the folder).
    for name, text in corpus.items():
        (articles / name).write_text(text, encoding="utf-8")
    (articles / "a_first.txt").write_text(NEW_FIRST, encoding="utf-8")
    (articles / "z_last.txt").write_text(NEW_LAST, encoding="utf-8")
    assert len(list(articles.iterdir())) == 60

    # Kill point 1: a random moment early in the run (loading, embedding or writing the first group).
    proc = _start_index(tmp_path)
    time.sleep(random.Random().uniform(2.0, 12.0))
    finished = proc.poll() is not None  # a fast engine can finish the run before the kill
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    problems = _check(tmp_path)
    assert all("orphaned" in p for p in problems), problems  # leftovers of the dead run, nothing worse
    port = _answer(tmp_path, "泽塔港口去年的集装箱吞吐量是多少？")["answer"]
    # One whole version: the previous one unless the run got as far as committing the last article.
    assert ("80万标准箱" in port) != ("510万标准箱" in port), port
    if finished:
        assert "510万标准箱" in port, port

    # Kill point 2: right after the first group of articles was committed.
    progress = _kill_after_first_progress(_start_index(tmp_path))
    problems = _check(tmp_path)
    assert all("orphaned" in p for p in problems), (problems, progress)
    steel = _answer(tmp_path, "阿尔法钢厂去年的钢产量是多少？")["answer"]
    port = _answer(tmp_path, "泽塔港口去年的集装箱吞吐量是多少？")["answer"]
    # Each article answers from one whole version: old or new, never a mixture, never nothing.
    assert ("120万吨" in steel) != ("350万吨" in steel), steel
    assert ("80万标准箱" in port) != ("510万标准箱" in port), port
    if "indexed " in progress:  # the first group (sorted by name) was committed: a_first.txt is new
        assert "350万吨" in steel

    # The rerun completes and the index is exactly the folder.
    rerun = _qa(tmp_path, "index")
    assert rerun.returncode == 0, rerun.stderr
    assert _check(tmp_path) == []
    status = _qa(tmp_path, "index", "--check")
    assert "index OK: 60 articles" in status.stdout and "not indexed yet" not in status.stdout, status.stdout
    again = _qa(tmp_path, "index")
    assert "0 added, 0 updated, 0 removed, 60 unchanged" in again.stdout, again.stdout
    assert "350万吨" in _answer(tmp_path, "阿尔法钢厂去年的钢产量是多少？")["answer"]
    assert "510万标准箱" in _answer(tmp_path, "泽塔港口去年的集装箱吞吐量是多少？")["answer"]
