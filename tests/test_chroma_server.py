"""The whole CLI against a real Chroma server (`chroma run`, started here) instead of a local folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
CHROMA = Path(sys.executable).with_name("chroma")
QA = Path(sys.executable).with_name("qa")
QUESTION = "哈薩克斯坦與巴基斯坦把雙邊貿易額的目標定為多少？"



@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    data = tmp_path_factory.mktemp("chroma_server")
    proc = subprocess.Popen([str(CHROMA), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail("chroma run exited at start")
                time.sleep(0.2)
        else:
            pytest.fail("the Chroma server did not start within 60 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _qa(url: str, articles: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QA_CHROMA_URL": url, "QA_ARTICLES_DIR": str(articles), "QA_VECTORSTORE_DIR": str(articles.parent / "unused")}
    return subprocess.run([str(QA), *args], capture_output=True, text=True, env=env, timeout=900, cwd=articles.parent)


@pytest.mark.slow
def test_index_ask_and_quotes_through_a_chroma_server(chroma_url: str, tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    shutil.copytree(ROOT / "seeds", articles)
    built = _qa(chroma_url, articles, "index")
    assert built.returncode == 0, built.stderr
    assert "2 added" in built.stdout
    assert not (tmp_path / "unused").exists() or not any((tmp_path / "unused").iterdir())  # nothing written locally

    again = _qa(chroma_url, articles, "index")  # incremental through the server too
    assert again.returncode == 0 and "2 unchanged" in again.stdout, again.stderr

    asked = _qa(chroma_url, articles, "ask", "--json", QUESTION)
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert "10亿美元" in answer["answer"] and answer["citations"]
    assert answer["citations"][0]["article_id"].endswith(".txt")

    quotes = _qa(chroma_url, articles, "speakers", "--json")
    assert quotes.returncode == 0, quotes.stderr
    speakers = json.loads(quotes.stdout)
    assert speakers and all(s["type"] for s in speakers)


@pytest.mark.slow
def test_unreachable_server_is_one_clear_line(tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    shutil.copytree(ROOT / "seeds", articles)
    res = _qa(f"http://127.0.0.1:{free_port()}", articles, "ask", "test?")
    assert res.returncode == 1
    assert res.stderr.startswith("Error: cannot reach the Chroma server") and "Traceback" not in res.stderr
