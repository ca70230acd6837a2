"""Combining the dense and the BM25 ranking into one.

``convex`` (default): a weighted sum of two absolute scores in [0, 1], the cosine similarity and the
BM25 score as a fraction of the best the query could score (every term matched at its best). Both
are known for every candidate, so nothing is guessed for a chunk found by one side only; and a weak
match on one common word cannot outrank a close paraphrase, as it can with rank fusion. See Bruch et
al. 2023, "An Analysis of Fusion Functions for Hybrid Retrieval", on convex combinations beating RRF.
``rrf``: reciprocal rank fusion (Cormack et al. 2009), rank-only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

RRF_K = 60


def rrf(rankings: Sequence[Sequence[int]], k: int = RRF_K) -> list[tuple[int, float]]:
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: -pair[1])


def convex(ids: Sequence[int], dense: np.ndarray, lexical: np.ndarray, dense_weight: float) -> list[tuple[int, float]]:
    """``dense``: cosine per id; ``lexical``: BM25 as a fraction of the query's maximum."""
    fused = dense_weight * np.clip(dense, 0.0, 1.0) + (1.0 - dense_weight) * np.clip(lexical, 0.0, 1.0)
    order = np.argsort(-fused, kind="stable")
    return [(int(ids[i]), float(fused[i])) for i in order]
