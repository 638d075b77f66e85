"""What a check returns: the four labels, the evidence, the contradictions, per sentence and per answer."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SUPPORTED = "supported"
PARTLY = "partly supported"
UNSUPPORTED = "unsupported"
CONTRADICTED = "contradicted"
LABEL_SCORE = {SUPPORTED: 1.0, PARTLY: 0.5, UNSUPPORTED: 0.0, CONTRADICTED: 0.0}


@dataclass
class Evidence:
    """An article sentence shown for a claim, with where it is (the citation) and how close it is."""

    article_id: str
    title: str
    date: str
    start: int
    end: int
    sentence: str
    cosine: float
    coverage: float
    speaker: str | None = None


@dataclass
class Contradiction:
    """A conflict: the claim's words, the article's value, and the sentence that states it."""

    kind: str
    """'number', 'date', 'person', 'organisation', 'place', 'term', 'direction', 'negation', 'role' or 'speaker'."""
    claim: str
    source: str
    evidence: int = 0
    """Index into the check's `evidence` of the sentence that states `source`."""


@dataclass
class SentenceCheck:
    sentence: str
    label: str
    score: float
    evidence: list[Evidence] = field(default_factory=list)
    contradictions: list[Contradiction] = field(default_factory=list)
    unmatched_numbers: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    """The claim's names, figures and dates that no evidence article states."""
    found: list[str] = field(default_factory=list)
    """The claim's names, figures and dates the evidence articles do state."""


@dataclass
class Verification:
    text: str
    question: str | None
    sentences: list[SentenceCheck]

    @property
    def score(self) -> float:
        """Mean label score (supported 1, partly 0.5, otherwise 0); 0 for an empty text."""
        return sum(LABEL_SCORE[s.label] for s in self.sentences) / len(self.sentences) if self.sentences else 0.0

    @property
    def counts(self) -> dict[str, int]:
        return {label: sum(s.label == label for s in self.sentences) for label in LABEL_SCORE}

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "question": self.question, "score": round(self.score, 4), "counts": self.counts,
                "sentences": [asdict(s) for s in self.sentences]}
