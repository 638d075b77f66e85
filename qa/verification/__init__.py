"""Checking answers against the articles, sentence by sentence (`qa verify`, faithfulness, citation checks)."""

from qa.text.quantities import Quantity, quantities
from qa.verification.checker import Verifier
from qa.verification.compare import number_conflicts
from qa.verification.evidence import answer_sentences, claim_content, coverage, strip_markers
from qa.verification.results import (
    CONTRADICTED,
    LABEL_SCORE,
    PARTLY,
    SUPPORTED,
    UNSUPPORTED,
    Contradiction,
    Evidence,
    SentenceCheck,
    Verification,
)
from qa.verification.speakers import claim_speaker

__all__ = ["CONTRADICTED", "LABEL_SCORE", "PARTLY", "SUPPORTED", "UNSUPPORTED", "Contradiction", "Evidence", "Quantity",
           "SentenceCheck", "Verification", "Verifier", "answer_sentences", "claim_content", "claim_speaker", "coverage",
           "number_conflicts", "quantities", "strip_markers"]
