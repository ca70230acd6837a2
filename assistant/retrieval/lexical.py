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
from pathlib import Path
from typing import Sequence

import numpy as np

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
    def __init__(self, retriever, ids: np.ndarray) -> None:
        self.retriever = retriever
        self.ids = ids

    @classmethod
    def build(cls, ids: Sequence[int], chunk_terms: Sequence[list[str]]) -> "LexicalIndex":
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
            try:
                os.replace(staging, folder)
            except OSError:
                if not folder.exists():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex":
        import bm25s

        if not (folder / "complete.json").is_file():
            raise FileNotFoundError(folder)
        retriever = bm25s.BM25.load(str(folder))
        return cls(retriever, np.load(folder / "chunk_ids.npy"))

    def search(self, query_terms: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """(chunk ids, BM25 scores) of the k best chunks with a positive score, best first."""
        if self.retriever is None:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        known = [t for t in query_terms if t and t in self.retriever.vocab_dict]
        if not known:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores = self.retriever.get_scores(known)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        top = top[scores[top] > 0]
        return self.ids[top], scores[top].astype(np.float32)
