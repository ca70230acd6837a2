"""Combining the dense and the BM25 ranking into one.

``rrf``: reciprocal rank fusion (Cormack et al. 2009), rank-only and robust.
``convex``: a weighted sum of scores normalised per query (Bruch et al. 2023, "An Analysis of Fusion
Functions for Hybrid Retrieval"): cosine min-max over the candidates, BM25 divided by its best score.
A candidate missing from one list scores 0 there.
"""

from __future__ import annotations

from typing import Sequence

RRF_K = 60


def rrf(rankings: Sequence[Sequence[int]], k: int = RRF_K) -> list[tuple[int, float]]:
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: -pair[1])


def convex(dense: dict[int, float], lexical: dict[int, float], dense_weight: float) -> list[tuple[int, float]]:
    scores: dict[int, float] = {}
    if dense:
        low, high = min(dense.values()), max(dense.values())
        spread = (high - low) or 1.0
        for item, score in dense.items():
            scores[item] = dense_weight * (score - low) / spread
    if lexical:
        best = max(lexical.values()) or 1.0
        for item, score in lexical.items():
            scores[item] = scores.get(item, 0.0) + (1.0 - dense_weight) * score / best
    return sorted(scores.items(), key=lambda pair: -pair[1])
