"""Choosing the evidence for a claim: the article sentence that states the same fact, ranked over the retrieved ones."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

from qa.text.normalise import normalize
from qa.text.sentences import split_sentences
from qa.verification.facts import Analysis, analyse, figures, name_in, name_key
from qa.verification.speakers import SPEECH

W_COVERAGE = 0.3
W_FACTS = 0.08
"""Weight of the share of the claim's names, figures and dates a sentence states (or states differently)."""
SAME_KIND = 0.4
"""A sentence with a figure of the same unit or a date partly matches a fact: it is where a
contradiction would come from."""

_MARKER = re.compile(r"\[\d+\]")
_PUNCT_CATS = ("P", "S", "Z", "C")


def strip_markers(text: str) -> str:
    return _MARKER.sub("", text)


def answer_sentences(text: str) -> list[str]:
    clean = strip_markers(text)
    return [clean[s.start:s.end] for s in split_sentences(clean)]


def _content_chars(text: str) -> str:
    return "".join(ch for ch in normalize(text) if not unicodedata.category(ch).startswith(_PUNCT_CATS))


def content_length(text: str) -> int:
    return len(_content_chars(text))


def coverage(claim: str, evidence: str) -> float:
    """Share of the claim's character bigrams (CJK and digits) and Latin words found in the evidence."""
    c, e = _content_chars(claim), _content_chars(evidence)
    grams: set[str] = set()
    for run in re.findall(r"[\u3400-\u9fff\uf900-\ufaff0-9.%]+", c):
        grams |= {run[i:i + 2] for i in range(len(run) - 1)} or {run}
    words = set(re.findall(r"[a-z]{2,}", normalize(claim)))
    if not grams and not words:
        return 0.0
    e_words = set(re.findall(r"[a-z]{2,}", normalize(evidence)))
    hit = sum(g in e for g in grams) + len(words & e_words)
    return hit / (len(grams) + len(words))


def claim_content(sentence: str) -> str:
    """The claim without a leading attribution ("托卡耶夫说，…" → "…"), for word overlap."""
    m = re.match(r"^\s*(?:据)?[^，,：:]{1,24}?" + SPEECH + r"[，,：:]\s*", sentence)
    if m and len(sentence) - m.end() >= 6:
        return sentence[m.end():]
    return sentence


def fact_match(claim: Analysis, sentence: str, date: dt.date | None = None) -> float:
    """How much of the claim's facts `sentence` speaks to: 1 per name, figure or date it states,
    SAME_KIND per figure or date it gives another value of the same kind, over the number of facts
    (0 when the claim has none). Regular expressions only: ranking runs over every retrieved sentence."""
    if not claim.facts:
        return 0.0
    qs, ds = figures(sentence, date)
    key = name_key(sentence)
    total = 0.0
    for f in claim.facts:
        if f.is_name:
            total += 1.0 if name_in(f.text, key) else 0.0
        elif f.quantity is not None:
            if any(f.quantity.agrees(q) for q in qs):
                total += 1.0
            elif any(q.unit == f.quantity.unit for q in qs):
                total += SAME_KIND
        elif f.date is not None:
            total += 1.0 if any(f.date.agrees(d) for d in ds) else SAME_KIND * bool(ds)
    return total / len(claim.facts)


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def rank(sentence: str, content: str, candidates: list[Any]) -> list[tuple[Any, float]]:
    """Retrieved sentences (with .cosine, .text and .doc), best evidence first, each with its coverage.

    The claim's relative dates ("去年") are read against each candidate's article date."""
    def score(c: Any, cov: float) -> float:
        claim = analyse(sentence, _date(c.doc.metadata.get("date", "")))
        return c.cosine + W_COVERAGE * cov + W_FACTS * fact_match(claim, c.text, _date(c.doc.metadata.get("date", "")))

    scored = [(c, coverage(content, c.text)) for c in candidates]
    return sorted(scored, key=lambda p: -score(*p))
