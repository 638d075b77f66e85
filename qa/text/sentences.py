"""Sentence splitting: spans (offsets into the text) of Chinese and Latin sentences, quotations kept whole.

Sentence boundaries follow Chinese news punctuation (。！？；… plus any closing quotes
after them) and Latin punctuation (. ! ? followed by space). A terminator inside a short
quotation does not end the sentence; inside a long quoted speech it does, so a
several-sentence quote still yields sentence-sized answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SHORT_QUOTE_CHARS = 60
"""A quotation up to this long is never split (e.g. 他说：“好。我同意。”)."""

_TERMINATORS = set("。！？；!?;…")
_CLOSERS = set("”’」』）)]】》\"'")
_OPEN_CLOSE = {"“": "”", "「": "」", "『": "』", "《": "》", "（": "）", "(": ")", "‘": "’"}
_SOFT_BREAKS = set("，、：,:")
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "etc", "e.g", "i.e", "u.s", "u.k", "no",
    "inc", "ltd", "co", "corp", "gen", "gov", "sen", "rep", "jan", "feb", "mar", "apr", "jun", "jul",
    "aug", "sep", "sept", "oct", "nov", "dec", "fig", "p", "pp", "approx", "dept",
}
_WORD_BEFORE = re.compile(r"([A-Za-z](?:[A-Za-z.]*[A-Za-z])?)$")


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def _quote_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """(open, close) offsets of quotations in text[start:end]; ASCII quotes pair up in order."""
    spans: list[tuple[int, int]] = []
    stack: list[tuple[str, int]] = []
    ascii_open: dict[str, int] = {}
    for i in range(start, end):
        ch = text[i]
        if ch in _OPEN_CLOSE:
            stack.append((_OPEN_CLOSE[ch], i))
        elif stack and ch == stack[-1][0]:
            spans.append((stack.pop()[1], i))
        elif ch == '"':
            if '"' in ascii_open:
                spans.append((ascii_open.pop('"'), i))
            else:
                ascii_open['"'] = i
    return spans


def _is_latin_period_end(text: str, i: int, end: int) -> bool:
    """Is the '.' at text[i] the end of a Latin-script sentence?"""
    nxt = i + 1
    if nxt < end and not text[nxt].isspace() and text[nxt] not in _CLOSERS:
        return False  # 3.14, example.com, U.S.A
    word = _WORD_BEFORE.search(text, max(0, i - 12), i)
    if word:
        w = word.group(1).lower()
        if w in _ABBREVIATIONS or len(w) == 1:
            return False
    j = nxt
    while j < end and (text[j].isspace() or text[j] in _CLOSERS):
        j += 1
    return j >= end or not text[j].islower()


def _split_paragraph(text: str, start: int, end: int) -> list[Span]:
    protected: list[tuple[int, int]] = [
        (a, b) for a, b in _quote_spans(text, start, end) if b - a <= SHORT_QUOTE_CHARS
    ]

    def inside_short_quote(pos: int) -> bool:
        # A terminator right before the closing mark (“好。”) ends the sentence with the quote.
        return any(a < pos < b and not all(ch in _TERMINATORS for ch in text[pos + 1 : b]) for a, b in protected)

    spans: list[Span] = []
    sent_start = start
    i = start
    while i < end:
        ch = text[i]
        is_end = (ch in _TERMINATORS) or (ch == "." and _is_latin_period_end(text, i, end))
        if is_end and not inside_short_quote(i):
            j = i + 1
            # absorb runs like "……", "?!" and the closing quotes/brackets that follow
            while j < end and (text[j] in _TERMINATORS or text[j] in _CLOSERS):
                j += 1
            spans.append(Span(sent_start, j))
            sent_start = j
            i = j
            continue
        i += 1
    if sent_start < end:
        spans.append(Span(sent_start, end))
    return _attach_attributions(text, spans)


_ATTRIBUTION = re.compile(r"^\s*[-—–]{1,2}\s*\S{1,20}[。.]?\s*$")


def _attach_attributions(text: str, spans: list[Span]) -> list[Span]:
    """'……水平。-托卡耶夫表示。' : the short dash-led attribution belongs to the quote before it."""
    merged: list[Span] = []
    for span in spans:
        if merged and _ATTRIBUTION.match(text[span.start : span.end]):
            merged[-1] = Span(merged[-1].start, span.end)
        else:
            merged.append(span)
    return merged


def _trim(text: str, span: Span) -> Span | None:
    s, e = span.start, span.end
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return Span(s, e) if e > s else None


def _split_long(text: str, span: Span, max_chars: int) -> list[Span]:
    """Cut an over-long sentence at the last soft break (，、：) before `max_chars`."""
    pieces: list[Span] = []
    s = span.start
    while span.end - s > max_chars:
        cut = s + max_chars
        soft = max((k for k in range(s + max_chars // 2, cut) if text[k] in _SOFT_BREAKS), default=None)
        if soft is not None:
            cut = soft + 1
        else:
            space = text.rfind(" ", s + max_chars // 2, cut)
            if space > s:
                cut = space + 1
        pieces.append(Span(s, cut))
        s = cut
    pieces.append(Span(s, span.end))
    return [t for p in pieces if (t := _trim(text, p))]


def split_sentences(text: str, max_chars: int | None = None) -> list[Span]:
    """Sentence spans of `text` (offsets into it), whitespace trimmed, in order.

    Every line break ends a sentence (news paragraphs are lines). With `max_chars`, longer
    sentences are cut at soft punctuation so no span exceeds it.
    """
    spans: list[Span] = []
    pos = 0
    for line in text.split("\n"):
        line_end = pos + len(line)
        for span in _split_paragraph(text, pos, line_end):
            trimmed = _trim(text, span)
            if trimmed is None:
                continue
            if max_chars and trimmed.end - trimmed.start > max_chars:
                spans.extend(_split_long(text, trimmed, max_chars))
            else:
                spans.append(trimmed)
        pos = line_end + 1
    return spans
