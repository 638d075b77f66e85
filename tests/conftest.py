"""Shared fixtures: real components only (real embedder, real Chroma, real files).

The seed index is built once per test session in a temporary folder; tests that modify an
index build their own from `seed_copy`.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import pytest  # noqa: E402

from qa.models.embeddings import load_embeddings  # noqa: E402
from qa.pipeline import Pipeline  # noqa: E402
from qa.settings import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
DATA = Path(__file__).resolve().parent / "data"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def free_port() -> int:
    """A port on 127.0.0.1 that is free right now (for the servers the tests start)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load_gold() -> list[dict]:
    return [json.loads(line) for line in (DATA / "gold.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def embeddings():  # type: ignore[no-untyped-def]
    """The default embedder, loaded once per session."""
    return load_embeddings(Settings())


@pytest.fixture(scope="session")
def seed_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("seeds")
    for path in SEEDS.iterdir():
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture(scope="session")
def seed_settings(seed_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(articles_dir=seed_dir, vectorstore_dir=tmp_path_factory.mktemp("vectorstore"))


@pytest.fixture(scope="session")
def seed_pipeline(seed_settings: Settings, embeddings) -> Pipeline:  # type: ignore[no-untyped-def]
    """A real index of the two seed articles (read-only for tests: do not modify it)."""
    pipeline = Pipeline(seed_settings, embeddings)
    report = pipeline.build()
    assert len(report.added) == 2 and not report.problems
    return pipeline


@pytest.fixture
def fresh_settings(tmp_path: Path) -> Iterator[Settings]:
    """Settings over a private copy of the seeds and an empty index folder."""
    articles = tmp_path / "articles"
    shutil.copytree(SEEDS, articles)
    yield Settings(articles_dir=articles, vectorstore_dir=tmp_path / "vectorstore")


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
