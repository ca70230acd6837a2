"""Ranking: the chunks of one snapshot that best match a query, by meaning, by BM25, or both fused.

A pure function of the query (its vector and terms) and the in-memory indexes: no files, no
database, no model, so the ranking can be tested and tuned on its own.
"""

from __future__ import annotations

import json

import numpy as np

from . import fusion
from .base import Passage
from .lexical import LexicalIndex, top
from .options import KnowledgeOptions
from .vectors import VectorIndex

Ranked = list[tuple[int, float]]  # (chunk id, score), best first


def rank(vectors: VectorIndex, lexical: LexicalIndex, query_vector: np.ndarray, query_terms: list[str], k: int,
         mode: str, options: KnowledgeOptions) -> tuple[Ranked, dict[int, float]]:
    """The k best chunks, and the cosine of every candidate to the query (its absolute relevance)."""
    wanted = min(vectors.size, max(options.candidates, 2 * k))
    dense: dict[int, float] = {}
    if mode != "lexical":
        scores, ids = vectors.search(query_vector[None, :], wanted)
        dense = {int(i): float(s) for i, s in zip(ids[0], scores[0]) if i >= 0}
    found: list[int] = []
    if mode != "dense":
        bm25, bound = lexical.scores(query_terms)
        found = [int(i) for i in top(bm25, lexical.ids, wanted)[0]]

    # Both scores for every candidate: the cosine of a chunk only BM25 found is computed
    # from its stored vector, the BM25 score of a chunk only the vectors found is looked up.
    dense_ranking = list(dense)
    candidates = list(dict.fromkeys([*dense_ranking, *found]))
    missing = [i for i in candidates if i not in dense]
    if missing:
        for i, vector in zip(missing, vectors.vectors(missing)):
            dense[i] = float(vector @ query_vector)
    cosine = np.array([dense[i] for i in candidates], dtype=np.float32)
    if mode == "dense":
        ranked = sorted(((i, dense[i]) for i in candidates), key=lambda pair: -pair[1])
    elif mode == "lexical":
        ranked = [(i, float(s)) for i, s in zip(found, lexical.scores_of(bm25, found))]
    elif options.fusion == "rrf":
        ranked = fusion.rrf([dense_ranking, found])
    else:
        fraction = lexical.scores_of(bm25, candidates) / bound if bound > 0 else np.zeros(len(candidates))
        ranked = fusion.convex(candidates, cosine, fraction, options.dense_weight)
    return ranked[:k], dense


def passage(row, score: float, relevance: float | None) -> Passage:
    """A stored chunk row (with its document's path and title) as a Passage."""
    headings = json.loads(row["headings"])
    title = " > ".join(headings) if headings else row["title"]
    return Passage(text=row["text"], source=row["path"], title=title, page=row["page"], line_start=row["line_start"],
                   line_end=row["line_end"], score=float(score), chunk_id=int(row["id"]), relevance=relevance)
