"""What the page and its API share besides HTML: dates, conversation turns, the article picker, uploads."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qa.errors import QAError
from qa.pipeline import Pipeline
from qa.text.conversation import Turn, contextualize

from qa.ui.render import ARTICLES_SHOWN, matching_records


def parse_date(text: str | None, label: str) -> dt.date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise QAError(f"{label} date {text!r} is not a date: use YYYY-MM-DD, e.g. 2025-11-15") from None


def history_turns(questions: Sequence[str]) -> list[Turn]:
    """Earlier questions (oldest first) → turns carrying their own resolved queries."""
    turns: list[Turn] = []
    for q in questions:
        q = str(q).strip()
        if q:
            turns.append(Turn(q, query=contextualize(q, turns)))
    return turns


def article_choices(pipeline: Pipeline, query: str = "", keep: Sequence[str] = (), limit: int = ARTICLES_SHOWN,
                    every: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    """Choices for "only these articles": the newest `limit` matching `query`, plus those already chosen."""
    every = pipeline.index.records() if every is None else every
    records = matching_records(every, query)[:limit]
    listed = {r.id for r in records}
    records += [every[i] for i in keep if i in every and i not in listed]
    return [(f"{r.title} · {r.date or 'undated'} ({r.id})", r.id) for r in records]


def upload_pairs(files: Sequence[Any] | None) -> list[tuple[str, bytes]]:
    pairs = []
    for f in files or []:
        p = Path(f if isinstance(f, (str, Path)) else getattr(f, "name", "") or f["path"])
        pairs.append((p.name, p.read_bytes()))
    return pairs


def record_dict(r: Any) -> dict[str, Any]:
    # No "path" key: gradio_client would try to download anything that has one.
    return {"id": r.id, "title": r.title, "date": r.date, "chunks": r.n_chunks, "sentences": r.n_sentences, "file": Path(r.path).name,
            "date_source": getattr(r, "date_source", ""), "url": getattr(r, "url", ""), "format": getattr(r, "source_kind", "") or "text"}
