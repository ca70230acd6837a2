"""The dense index: FAISS inner product over unit vectors (= cosine), keyed by chunk id.

Exact search (a flat index) up to ``approximate_above`` vectors; past that an inverted-file index
(IVF, about 4·√n lists, ``nprobe`` of them searched: by default a sixteenth, at least 32, which
found 95% of the exact top 10 on SciFact's MiniLM vectors) that still supports removal by id. The switch
happens when the index is saved, both ways (back to exact below half the threshold).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from ..crashpoints import crash_point
from ..torch_threads import TORCH

if TYPE_CHECKING:
    import faiss  # imported where used: loading it takes about 0.3 s

EXACT = "exact"
APPROXIMATE = "approximate"


@dataclass
class VectorOptions:
    approximate_above: int = 200_000
    nprobe: int = 0  # IVF lists searched per query; 0: a sixteenth of them, at least 32
    # IVF training: k-means iterations and points per list; enough for cosine data, quick on 2 cores.
    train_iterations: int = 10
    train_points_per_list: int = 64


class VectorIndex:
    def __init__(self, index: faiss.Index, options: VectorOptions | None = None) -> None:
        self.index = index
        self.options = options or VectorOptions()
        self._tune()

    @classmethod
    def empty(cls, dimension: int, options: VectorOptions | None = None) -> VectorIndex:
        import faiss

        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dimension)), options)

    @classmethod
    def read(cls, path: Path, options: VectorOptions | None = None) -> VectorIndex:
        import faiss

        return cls(faiss.read_index(str(path)), options)

    def write(self, path: Path) -> None:
        """Write aside, flush to disk, then rename into place."""
        import faiss

        staging = path.with_name(path.name + ".tmp")
        faiss.write_index(self.index, str(staging))
        crash_point("vectors written aside")
        with open(staging, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(staging, path)
        crash_point("vectors in place")

    def _tune(self) -> None:
        if self.kind == APPROXIMATE:
            ivf = self._ivf()
            ivf.nprobe = min(ivf.nlist, self.options.nprobe or max(32, ivf.nlist // 16))

    def _ivf(self) -> faiss.IndexIVF:
        import faiss

        return faiss.extract_index_ivf(self.index)

    @property
    def kind(self) -> str:
        import faiss

        return APPROXIMATE if isinstance(self.index, faiss.IndexIVF) else EXACT

    @property
    def dimension(self) -> int:
        return int(self.index.d)

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    def describe(self) -> str:
        if self.kind == EXACT:
            return "exact (flat inner product)"
        ivf = self._ivf()
        return f"approximate (IVF, {ivf.nlist} lists, nprobe {ivf.nprobe})"

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            # On the torch thread: an IVF assigns the vectors to its lists with OpenMP (torch_threads.py).
            TORCH.run(self.index.add_with_ids, np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))

    def remove(self, ids: Iterable[int]) -> None:
        array = np.asarray(list(ids), dtype=np.int64)
        if len(array):
            # faiss's Python wrapper takes an array of ids; its stub names only the C++ IDSelector.
            cast(Any, self.index).remove_ids(array)

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) per query row, best first; ids are -1 past the end of a short index."""
        import faiss

        k = min(k, self.size)
        if k <= 0:
            return np.zeros((len(vectors), 0), np.float32), np.zeros((len(vectors), 0), np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if len(vectors) > 1:  # OpenMP's threads: on the torch thread (torch_threads.py)
            return TORCH.run(cast(Any, self.index).search, vectors, k)
        # One query is not worth a team of OpenMP threads: they spin-wait for cores the embedder or
        # the chat model is using (measured 3x slower on a busy 2-core machine). The thread count is
        # per calling thread, and one thread starts no team, so this slows no one down.
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            return self.index.search(vectors, k)
        finally:
            faiss.omp_set_num_threads(threads)

    def vectors(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        return self.index.reconstruct_batch(np.asarray(ids, dtype=np.int64))

    def reshape(self, all_ids: Callable[[], np.ndarray]) -> bool:
        """Switch exact <-> approximate when the size calls for it, or retrain an IVF that has
        outgrown its lists. ``all_ids()`` gives every id in the index. True when the index changed."""
        n, threshold = self.size, self.options.approximate_above
        if self.kind == EXACT and n > threshold:
            self._rebuild(all_ids(), approximate=True)
            return True
        if self.kind == APPROXIMATE:
            if n < threshold // 2:
                self._rebuild(all_ids(), approximate=False)
                return True
            if self._ivf().nlist < self._nlist(n) // 2:
                self._rebuild(all_ids(), approximate=True)
                return True
        return False

    @staticmethod
    def _nlist(n: int) -> int:
        return max(1, int(4 * math.sqrt(n)))

    def _rebuild(self, ids: np.ndarray, approximate: bool) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        vectors = self.vectors(ids) if len(ids) else np.zeros((0, self.dimension), np.float32)
        self.index = TORCH.run(build_index, ids, vectors, approximate, self.options)  # k-means with OpenMP
        self._tune()


def build_index(ids: np.ndarray, vectors: np.ndarray, approximate: bool, options: VectorOptions) -> faiss.Index:
    """A FAISS index over these vectors: flat, or IVF trained on a sample of them."""
    import faiss

    dimension = vectors.shape[1]
    index: faiss.Index
    if not approximate:
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
    else:
        nlist = VectorIndex._nlist(len(vectors))
        ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dimension), dimension, nlist, faiss.METRIC_INNER_PRODUCT)
        ivf.cp.niter = options.train_iterations
        ivf.cp.max_points_per_centroid = options.train_points_per_list
        ivf.train(vectors)
        # A hash table from id to position, so chunks can be removed and their vectors read back.
        # faiss's own stubs (__init__.pyi) leave out the DirectMap class that SWIG exports.
        ivf.set_direct_map_type(cast(Any, faiss).DirectMap.Hashtable)
        index = ivf
    if len(ids):
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
    return index
