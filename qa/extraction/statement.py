"""One attributed statement as plain data (who, what, where, how) and the text helpers its extractors share."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Literal

StatementKind = Literal["direct", "mixed", "indirect"]
SpeakerType = Literal["person", "organisation", "government", "media", "document", "group"]
SPEAKER_TYPES: tuple[str, ...] = ("person", "organisation", "government", "media", "document", "group")

OPENERS = {"“": "”", "「": "」", "『": "』", '"': '"'}
CLOSERS = {v: k for k, v in OPENERS.items()}


@dataclass(frozen=True)
class Statement:
    """One attributed statement: ``text[start:end]`` is what was said (quoted or reported)."""

    start: int
    end: int
    text: str
    kind: StatementKind
    cue: str
    """The reporting word as written (说, 介绍说, 据…报道 → 报道, said, according to); '' for an uncued quote."""
    speaker: str
    """The source as resolved inside the article: fullest name, or the description when unnamed."""
    speaker_type: SpeakerType
    mention: str
    """How the source is referred to at this statement, as written (他, 这名发言人, the spokesman)."""
    mention_start: int = -1
    resolved: bool = True
    """False when the mention (他, the official) could not be tied to a named source: kept as written."""
    role: str = ""
    """A description kept apart from the name (a senior economic analyst at …; 外交部发言人)."""
    lang: str = "zh"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each non-blank line, surrounding whitespace trimmed."""
    out, pos = [], 0
    for line in text.split("\n"):
        s, e = pos, pos + len(line)
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
        pos += len(line) + 1
    return out


def quote_pairs(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Top-level quotation marks in ``text[start:end]``: (open, close) offsets; an unclosed one runs to ``end``."""
    out: list[tuple[int, int]] = []
    i = start
    while i < end:
        ch = text[i]
        if ch in OPENERS and (ch != '"' or True):
            closer = OPENERS[ch]
            depth, j = 0, i
            close = -1
            while j < end:
                c = text[j]
                if ch == '"':
                    if c == '"' and j > i:
                        close = j
                        break
                elif c == ch:
                    depth += 1
                elif c == closer:
                    depth -= 1
                    if depth == 0:
                        close = j
                        break
                j += 1
            if close < 0:
                out.append((i, end))
                break
            out.append((i, close))
            i = close + 1
            continue
        i += 1
    return out


_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def is_chinese(paragraph: str) -> bool:
    """A paragraph is Chinese when CJK characters outnumber Latin words."""
    return len(_CJK.findall(paragraph)) >= len(_LATIN_WORD.findall(paragraph))
