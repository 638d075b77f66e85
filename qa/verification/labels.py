"""The label of a claim from how close its evidence is and how its facts fared: the decision rules."""

from __future__ import annotations

from dataclasses import dataclass

from qa.verification.compare import Comparison
from qa.verification.results import CONTRADICTED, PARTLY, SUPPORTED, UNSUPPORTED

# Thresholds on the e5 cosine (query-side claim vs stored passage sentence; unrelated text
# sits near 0.80) and on the share of the claim's character bigrams found in the evidence.
# Chosen on the seed articles (tests/test_verification.py exercises each side of them).
COS_SUPPORTED = 0.90
COS_RELATED = 0.855
COVER_SUPPORTED = 0.6
COVER_RELATED = 0.3
COS_CROSS_LINGUAL = 0.81
"""An English claim against Chinese text scores low cosines; agreeing numbers make up for it."""
ABSENT_NOUNS_ALLOWED = 1
"""A close paraphrase (word overlap ≥ COVER_SUPPORTED, or every figure stated) may use one noun of its own
(占有率 for 份额); a looser one none: a noun the articles never use is something they do not say (智能化)."""


@dataclass(frozen=True)
class Similarity:
    """How close the best evidence sentence is to the claim."""

    cosine: float
    coverage: float
    chinese: bool = True

    def related_to(self, cosine: float, coverage: float) -> bool:
        return cosine >= COS_RELATED or coverage >= COVER_RELATED

    @property
    def related(self) -> bool:
        return self.related_to(self.cosine, self.coverage)

    @property
    def close(self) -> bool:
        return (self.cosine >= COS_SUPPORTED and self.coverage >= COVER_RELATED) or (
            self.coverage >= COVER_SUPPORTED and self.cosine >= COS_RELATED)


def decide(sim: Similarity, comparison: Comparison, contradicted: bool, numbers_agree: bool) -> str:
    """supported / partly supported / unsupported / contradicted.

    A conflict with related evidence contradicts. Key facts (names, figures, dates) the articles
    never state make a claim unsupported when none of its facts is stated, partly supported when
    some are. A claim whose facts are all stated is supported when its evidence says nearly the
    same (cosine and word overlap) and it adds no more than one noun of its own."""
    cross = not sim.chinese and sim.cosine >= COS_CROSS_LINGUAL and numbers_agree
    related = sim.related or cross
    if contradicted and (related or not sim.chinese):
        return CONTRADICTED
    if not related:
        return UNSUPPORTED
    if comparison.missing:
        return PARTLY if comparison.present else UNSUPPORTED
    close = sim.close or (numbers_agree and sim.cosine >= COS_RELATED and sim.coverage >= COVER_RELATED)
    allowed = ABSENT_NOUNS_ALLOWED if sim.coverage >= COVER_SUPPORTED or numbers_agree else 0
    if close and len(comparison.absent_nouns) <= allowed:
        return SUPPORTED
    return PARTLY
