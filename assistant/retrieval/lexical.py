"""BM25 over the chunks (bm25s with an English Snowball stemmer), so exact names, codes and numbers are found.

Each chunk's stemmed terms are computed once at ingestion and stored with it; the BM25 matrix is
rebuilt from them when the index changes and cached on disk next to the vectors.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..crashpoints import crash_point

log = logging.getLogger(__name__)

# Lucene BM25 with Elasticsearch's defaults; SciFact train queries preferred them to bm25s' 1.5/0.75.
K1 = 1.2
B = 0.75


def terms(texts: Sequence[str]) -> list[list[str]]:
    """Lower-cased, stop words removed, stemmed: the same for chunks and queries."""
    import bm25s
    import Stemmer

    tokens = bm25s.tokenize(list(texts), stopwords="en", stemmer=Stemmer.Stemmer("english"),
                            return_ids=False, show_progress=False, allow_empty=False)
    return [list(t) for t in tokens]


class LexicalIndex:
    """BM25 over chunks; ``ids`` (ascending) are the chunk ids of its rows."""

    def __init__(self, retriever, ids: np.ndarray) -> None:
        self.retriever = retriever
        self.ids = ids
        self.term_max = np.zeros(0, dtype=np.float32)
        if retriever is not None:
            # The best score each term gives any chunk: the sum over a query's terms bounds its score.
            data, indptr = retriever.scores["data"], retriever.scores["indptr"]
            self.term_max = np.zeros(len(indptr) - 1, dtype=np.float32)
            filled = np.flatnonzero(indptr[1:] > indptr[:-1])
            if len(filled):
                self.term_max[filled] = np.maximum.reduceat(data, indptr[:-1][filled])

    @classmethod
    def build(cls, ids: Sequence[int], chunk_terms: Sequence[list[str]]) -> LexicalIndex:
        import bm25s

        if not len(ids):
            return cls(None, np.zeros(0, dtype=np.int64))
        retriever = bm25s.BM25(k1=K1, b=B)
        # An empty term list would give a document no row; the empty token keeps positions aligned.
        retriever.index([t if t else [""] for t in chunk_terms], show_progress=False)
        return cls(retriever, np.asarray(ids, dtype=np.int64))

    def save(self, folder: Path) -> None:
        """Write aside, then rename into place; a folder someone else just wrote is kept."""
        staging = Path(tempfile.mkdtemp(prefix=folder.name + ".", suffix=".tmp", dir=folder.parent))
        try:
            self.retriever.save(str(staging))
            np.save(staging / "chunk_ids.npy", self.ids)
            (staging / "complete.json").write_text(json.dumps({"chunks": int(len(self.ids))}))
            crash_point("BM25 cache written aside")
            try:
                os.replace(staging, folder)
                crash_point("BM25 cache in place")
            except OSError:
                if not folder.exists():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        import bm25s

        if not (folder / "complete.json").is_file():
            raise FileNotFoundError(folder)
        retriever = bm25s.BM25.load(str(folder))
        return cls(retriever, np.load(folder / "chunk_ids.npy"))

    def scores(self, query_terms: list[str]) -> tuple[np.ndarray, float]:
        """The BM25 score of every chunk (aligned with ``ids``), and the most any chunk could score:
        the sum of each query term's best score, a term no chunk contains counting as the rarest one."""
        if self.retriever is None:
            return np.zeros(0, dtype=np.float32), 0.0
        vocabulary = self.retriever.vocab_dict
        known = [vocabulary[t] for t in query_terms if t and t in vocabulary]
        unknown = sum(1 for t in query_terms if t and t not in vocabulary)
        bound = float(self.term_max[known].sum()) + unknown * float(self.term_max.max(initial=0.0))
        if not known:
            return np.zeros(len(self.ids), dtype=np.float32), bound
        return np.asarray(self.retriever.get_scores_from_ids(known), dtype=np.float32), bound

    def scores_of(self, all_scores: np.ndarray, chunk_ids: Sequence[int]) -> np.ndarray:
        """Pick the scores of these chunk ids out of a ``scores`` array."""
        if not len(all_scores):
            return np.zeros(len(chunk_ids), dtype=np.float32)
        positions = np.clip(np.searchsorted(self.ids, np.asarray(chunk_ids, dtype=np.int64)), 0, len(self.ids) - 1)
        return np.where(self.ids[positions] == np.asarray(chunk_ids), all_scores[positions], 0.0)


def top(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(ids, scores) of the k best positive scores, best first."""
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    best = np.argpartition(-scores, k - 1)[:k]
    best = best[np.argsort(-scores[best], kind="stable")]
    best = best[scores[best] > 0]
    return ids[best], scores[best]
