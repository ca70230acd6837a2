"""How the dense index scales: synthetic unit vectors (dim 384), exact vs approximate (IVF).

For each size: build time, memory (resident set growth), single-query p50 latency of k=10 search,
and recall@10 of the approximate index against exact search at several nprobe values. The vectors
are drawn around random cluster centres, like sentence embeddings are, rather than uniformly on the
sphere (where no index beats a scan). Uses the knowledge base's own index code (vectors.py).

    nice -n 10 .venv/bin/python bench/retrieval_scale.py --sizes 100000,1000000
    nice -n 10 .venv/bin/python bench/retrieval_scale.py --sizes 100000,1000000 --points-per-cluster 10 --spread 0.05

``--real-index DIR --real-queries FILE`` measures the same on the real vectors of a knowledge base
(e.g. the SciFact one bench/retrieval_beir.py --work leaves), with a BEIR queries.jsonl as queries.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path

import numpy as np
import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from assistant.retrieval.vectors import VectorIndex, VectorOptions, build_index  # noqa: E402


def clustered(count: int, dimension: int, centres: np.ndarray, spread: float, rng: np.random.Generator) -> np.ndarray:
    out = np.empty((count, dimension), dtype=np.float32)
    for start in range(0, count, 100_000):
        n = min(100_000, count - start)
        block = centres[rng.integers(0, len(centres), n)] + rng.standard_normal((n, dimension), dtype=np.float32) * spread
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start : start + n] = block
    return out


def rss() -> int:
    gc.collect()
    return psutil.Process().memory_info().rss


def p50_latency_ms(index, queries: np.ndarray, k: int = 10) -> float:
    times = []
    for query in queries:
        started = time.perf_counter()
        index.search(query[None, :], k)
        times.append(1000 * (time.perf_counter() - started))
    return float(np.median(times))


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


def real_recall(folder: Path, queries_file: Path, nprobes: list[str]) -> None:
    """IVF recall@10 against exact search on a knowledge base's own vectors."""
    import faiss

    from assistant.retrieval import KnowledgeBase
    from assistant.retrieval.embedder import load_embedder

    kb = KnowledgeBase(folder)
    exact = kb.reader.current().vectors
    ids = faiss.vector_to_array(exact.index.id_map)
    queries = [json.loads(line)["text"] for line in queries_file.open(encoding="utf-8") if line.strip()]
    query_vectors = load_embedder(kb.embedder_spec).encode(queries)
    truth = exact.search(query_vectors, 10)[1]
    options = VectorOptions(approximate_above=0)
    approximate = VectorIndex(build_index(ids, exact.vectors(ids), approximate=True, options=options), options)
    ivf = faiss.extract_index_ivf(approximate.index)
    automatic = ivf.nprobe
    print(f"real vectors: {len(ids):,} from {folder}, {len(queries):,} queries; {approximate.describe()}")
    for nprobe in [automatic if n == "auto" else int(n) for n in nprobes]:
        ivf.nprobe = nprobe
        print(f"  nprobe {nprobe:>4}: recall@10 {recall(approximate.search(query_vectors, 10)[1], truth):.3f}"
              + ("  (default)" if nprobe == automatic else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="'' for none")
    parser.add_argument("--dimension", type=int, default=384)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--clusters", type=int, default=2000)
    parser.add_argument("--points-per-cluster", type=int, help="instead of --clusters: size / this many clusters")
    parser.add_argument("--spread", type=float, default=0.06, help="noise per coordinate around a centre")
    parser.add_argument("--nprobe", default="8,32,auto,512", help="'auto': the knowledge base's default")
    parser.add_argument("--json", type=Path, help="also write the figures here (appended to a list)")
    parser.add_argument("--real-index", type=Path, help="a knowledge base folder whose vectors to test as well")
    parser.add_argument("--real-queries", type=Path, help="BEIR queries.jsonl for --real-index")
    args = parser.parse_args()
    if args.real_index:
        real_recall(args.real_index, args.real_queries, ["4", "8", "16", "32", "64"])

    import faiss

    rng = np.random.default_rng(0)
    dimension = args.dimension
    print(f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} threads; dim {dimension}, spread {args.spread}")
    results = []
    for size in [int(s) for s in args.sizes.split(",") if s]:
        clusters = size // args.points_per_cluster if args.points_per_cluster else args.clusters
        centres = rng.standard_normal((clusters, dimension), dtype=np.float32)
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        print(f"{size:,} vectors around {clusters:,} centres")
        vectors = clustered(size, dimension, centres, args.spread, rng)
        queries = clustered(args.queries, dimension, centres, args.spread, rng)
        ids = np.arange(1, size + 1, dtype=np.int64)
        row: dict = {"size": size, "clusters": clusters, "spread": args.spread, "raw_mib": vectors.nbytes / 2**20}

        before = rss()
        started = time.perf_counter()
        exact = VectorIndex.empty(dimension)
        exact.add(ids, vectors)
        row["exact_build_s"] = time.perf_counter() - started
        row["exact_mib"] = (rss() - before) / 2**20
        row["exact_p50_ms"] = p50_latency_ms(exact, queries)
        truth = exact.search(queries, 10)[1]
        print(f"{size:>9,} exact:       build {row['exact_build_s']:7.1f} s  memory {row['exact_mib']:7.0f} MiB  "
              f"p50 {row['exact_p50_ms']:6.2f} ms  recall@10 1.000")
        del exact
        gc.collect()

        options = VectorOptions(approximate_above=0)
        before = rss()
        started = time.perf_counter()
        approximate = VectorIndex(build_index(ids, vectors, approximate=True, options=options), options)
        row["ivf_build_s"] = time.perf_counter() - started
        row["ivf_mib"] = (rss() - before) / 2**20
        row["ivf"] = approximate.describe()
        print(f"{size:>9,} {row['ivf']}")
        row["nprobe"] = {}
        ivf = faiss.extract_index_ivf(approximate.index)
        automatic = ivf.nprobe
        for nprobe in [automatic if n == "auto" else int(n) for n in args.nprobe.split(",")]:
            ivf.nprobe = nprobe
            found = approximate.search(queries, 10)[1]
            entry = {"p50_ms": p50_latency_ms(approximate, queries), "recall@10": recall(found, truth)}
            row["nprobe"][nprobe] = entry
            print(f"{size:>9,} IVF nprobe {nprobe:>4}: build {row['ivf_build_s']:7.1f} s  memory {row['ivf_mib']:7.0f} MiB  "
                  f"p50 {entry['p50_ms']:6.2f} ms  recall@10 {entry['recall@10']:.3f}" + ("  (default)" if nprobe == automatic else ""))
        results.append(row)
        del approximate, vectors
        gc.collect()
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        earlier = json.loads(args.json.read_text()) if args.json.exists() else []
        args.json.write_text(json.dumps(earlier + results, indent=2))


if __name__ == "__main__":
    main()
