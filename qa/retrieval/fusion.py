"""Reciprocal rank fusion of ranked id lists (Cormack et al. 2009)."""

from __future__ import annotations

from collections.abc import Sequence

RRF_K = 60
"""Reciprocal rank fusion constant (Cormack et al. 2009): 1 / (RRF_K + rank)."""



def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: int = RRF_K, weights: Sequence[float] | None = None) -> list[tuple[str, float]]:
    """Fuse ranked id lists: score(id) = Σ weight / (k + rank), ranks from 1. Best first; ties keep first-seen order."""
    weights = weights or [1.0] * len(rankings)
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, doc_id in enumerate(ranking, start=1):
            scores[doc_id] = scores.get(doc_id, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda item: -item[1])
