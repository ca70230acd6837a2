"""Retrieval quality and speed of the knowledge base on a BEIR-format dataset (default: SciFact).

Every corpus document becomes a Markdown file (``# title`` + text) and goes through the real
pipeline: `KnowledgeBase.add` (loader, chunker, embedder, BM25 terms, SQLite, FAISS). Documents are
ranked by their best chunk. Prints, for dense, BM25 and hybrid search:
  nDCG@10 and recall@100 (the BEIR measures; binary qrels, linear gain as in pytrec_eval),
then ingestion throughput (chunks/s) on the first ``--throughput-docs`` documents against raw
SentenceTransformer.encode of the same chunk texts (alternating runs, the best of each, since the
machine may be shared), and query latency p50/p95 of a k=5 hybrid search on the full index.

    nice -n 10 .venv/bin/python bench/retrieval_beir.py ../shared/data/scifact_beir
    nice -n 10 .venv/bin/python bench/retrieval_beir.py --split train --fusion convex --dense-weight 0.6 --work /tmp/scifact
    nice -n 10 .venv/bin/python bench/retrieval_beir.py --modes hybrid --no-speed --work /tmp/scifact \
        --reranker answer-ce --rerank-weights 1.0,0.7,0.5      # hybrid's top 20 reordered by the answer reranker

``--work DIR`` keeps the documents and index between runs (a second run re-indexes nothing).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gzip
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from assistant.config import Settings  # noqa: E402
from assistant.retrieval import KnowledgeBase, KnowledgeOptions  # noqa: E402
from assistant.retrieval.chunking import header_for  # noqa: E402
from assistant.retrieval.embedder import load_embedder  # noqa: E402
from assistant.retrieval.rerank import load_reranker, rerank, resolve_reranker  # noqa: E402
from assistant.retrieval.store import Store  # noqa: E402

DEFAULT_DATASET = REPO.parent / "shared" / "data" / "scifact_beir"


def read_jsonl(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_dataset(folder: Path, split: str) -> tuple[list[dict], dict[str, str], dict[str, dict[str, int]]]:
    corpus_file = next(p for p in (folder / "corpus.jsonl", folder / "corpus.jsonl.gz") if p.exists())
    corpus = read_jsonl(corpus_file)
    queries = {str(q["_id"]): q["text"] for q in read_jsonl(folder / "queries.jsonl")}
    qrels: dict[str, dict[str, int]] = {}
    with open(folder / "qrels" / f"{split}.tsv", encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            query_id, doc_id, score = line.rstrip("\n").split("\t")
            if int(score) > 0:
                qrels.setdefault(query_id, {})[doc_id] = int(score)
    return corpus, {q: queries[q] for q in qrels if q in queries}, qrels


def ndcg_at(ranking: list[str], relevant: dict[str, int], k: int = 10) -> float:
    dcg = sum(relevant.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranking[:k]))
    ideal = sum(rel / math.log2(rank + 2) for rank, rel in enumerate(sorted(relevant.values(), reverse=True)[:k]))
    return dcg / ideal if ideal else 0.0


def recall_at(ranking: list[str], relevant: dict[str, int], k: int = 100) -> float:
    return len(set(ranking[:k]) & set(relevant)) / len(relevant)


def write_documents(corpus: list[dict], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for doc in corpus:
        path = folder / f"{doc['_id']}.md"
        body = (f"# {doc['title'].strip()}\n\n" if doc.get("title", "").strip() else "") + doc["text"].strip() + "\n"
        if not path.exists() or path.read_text(encoding="utf-8") != body:
            path.write_text(body, encoding="utf-8")


def ranked_documents(kb: KnowledgeBase, query: str, mode: str, depth: int, reranker=None, rerank_depth: int = 20,
                     rerank_weight: float = 1.0) -> list[str]:
    """Documents by their best passage; with a reranker, the first `rerank_depth` passages reordered by it."""
    passages = kb.search(query, k=depth, mode=mode)
    if reranker is not None:
        passages = rerank(reranker, query, passages[:rerank_depth], rerank_weight) + passages[rerank_depth:]
    seen: dict[str, None] = {}
    for passage in passages:
        seen.setdefault(Path(passage.source).stem, None)
    return list(seen)


def chunk_texts(kb: KnowledgeBase) -> list[str]:
    """What the embedder read for every chunk: header (title > headings) and text."""
    store = Store(kb.folder / f"{kb.reader.manifest().store}.sqlite3")
    rows = store.conn.execute(
        "SELECT c.headings, c.text, d.title FROM chunks c JOIN documents d ON d.id = c.document_id ORDER BY c.id"
    )
    texts = []
    for headings, text, title in rows:
        header = header_for(SimpleNamespace(title=title), tuple(json.loads(headings)))
        texts.append(f"{header}\n{text}" if header else text)
    store.close()
    return texts


@contextlib.contextmanager
def cached_query_vectors(embedder):
    """Embed each query once while several rankings of it are evaluated (not while timing)."""
    original, cache = embedder.encode, {}

    def encode(texts, batch_size=64):
        if len(texts) != 1:
            return original(texts, batch_size)
        if texts[0] not in cache:
            cache[texts[0]] = original(texts, batch_size)
        return cache[texts[0]]

    embedder.encode = encode
    try:
        yield
    finally:
        del embedder.encode


class ScoredOnce:
    """A reranker that scores each (question, passage) once: several orders of the same scores (the
    --rerank-weights variants) cost one reranking, and only the first variant's time is the reranker's."""

    def __init__(self, reranker) -> None:
        self.reranker, self.name, self.scores = reranker, reranker.name, {}

    def score(self, question: str, texts: list[str]) -> list[float]:
        missing = [t for t in dict.fromkeys(texts) if (question, t) not in self.scores]
        self.scores.update(zip(((question, t) for t in missing), self.reranker.score(question, missing) if missing else []))
        return [self.scores[(question, t)] for t in texts]


def throughput(corpus: list[dict], work: Path, options: KnowledgeOptions, repeats: int) -> dict:
    """Chunks/s of `add` on a fresh index vs raw encode of the same chunk texts, best of ``repeats``."""
    import shutil

    docs = work / "throughput_docs"
    shutil.rmtree(docs, ignore_errors=True)
    write_documents(corpus, docs)
    embedder = load_embedder(KnowledgeBase(work).embedder_spec)
    pipeline, raw, count = [], [], 0
    for _ in range(repeats):
        index = work / "throughput_index"
        shutil.rmtree(index, ignore_errors=True)
        kb = KnowledgeBase(index, options=options)
        started = time.perf_counter()
        count = kb.add([docs]).chunks
        pipeline.append(time.perf_counter() - started)
        texts = chunk_texts(kb)
        kb.close()
        started = time.perf_counter()
        embedder.model.encode(texts, batch_size=options.batch_size, normalize_embeddings=True, show_progress_bar=False)
        raw.append(time.perf_counter() - started)
    pipeline_rate, raw_rate = count / min(pipeline), count / min(raw)
    print(f"ingestion of {len(corpus)} documents ({count} chunks): {pipeline_rate:.1f} chunks/s end to end "
          f"(read, parse, chunk, embed, BM25 terms, SQLite, FAISS, commit); raw SentenceTransformer.encode of the "
          f"same texts: {raw_rate:.1f} chunks/s; pipeline = {100 * pipeline_rate / raw_rate:.0f}% of raw "
          f"(best of {repeats}; all runs s: pipeline {[round(t, 1) for t in pipeline]}, raw {[round(t, 1) for t in raw]})")
    return {"documents": len(corpus), "chunks": count, "chunks_per_s": pipeline_rate, "raw_encode_chunks_per_s": raw_rate,
            "ratio": pipeline_rate / raw_rate, "pipeline_seconds": pipeline, "raw_seconds": raw}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", nargs="?", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--split", default="test")
    parser.add_argument("--work", type=Path, help="Keep documents and index here (default: a temporary folder).")
    parser.add_argument("--fusion", choices=["rrf", "convex"], default=KnowledgeOptions.fusion)
    parser.add_argument("--dense-weight", type=float, default=KnowledgeOptions.dense_weight)
    parser.add_argument("--candidates", type=int, default=KnowledgeOptions.candidates)
    parser.add_argument("--modes", default="dense,lexical,hybrid")
    parser.add_argument("--sweep", help="Also evaluate hybrid with RRF and convex fusion at these dense weights, e.g. 0.3,0.5,0.7")
    parser.add_argument("--no-speed", action="store_true", help="Skip the throughput and latency runs.")
    parser.add_argument("--throughput-docs", type=int, default=500, help="0: no throughput run")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", type=Path, help="Also write the figures to this file.")
    parser.add_argument("--reranker", help="Also evaluate hybrid search with its first --rerank-depth passages reordered "
                                           "by this reranker (a folder, or a name under rerankers/, e.g. answer-ce)")
    parser.add_argument("--rerank-depth", type=int, default=20)
    parser.add_argument("--rerank-weights", default="1.0",
                        help="orders by w x reranker score + (1 - w) x hybrid score (scaled over the reranked passages); "
                             "one variant per comma-separated w, e.g. 1.0,0.7,0.5")
    args = parser.parse_args()

    corpus, queries, qrels = load_dataset(args.dataset, args.split)
    print(f"{args.dataset.name}: {len(corpus)} documents, {len(queries)} {args.split} queries")
    work = args.work or Path(tempfile.mkdtemp(prefix="beir-"))
    write_documents(corpus, work / "docs")
    options = KnowledgeOptions(fusion=args.fusion, dense_weight=args.dense_weight, candidates=args.candidates)
    kb = KnowledgeBase(work / "index", options=options)
    results: dict[str, object] = {"dataset": args.dataset.name, "split": args.split, "fusion": args.fusion,
                                  "dense_weight": args.dense_weight, "documents": len(corpus), "queries": len(queries)}

    embedder = load_embedder(kb.embedder_spec)  # loaded before any timing
    report = kb.add([work / "docs"])
    chunks = kb.stats()["chunks"]
    print(f"indexed: {report.summary()}; {chunks} chunks in the index")

    variants = [(mode, mode, {}) for mode in args.modes.split(",")]
    reranker = ScoredOnce(load_reranker(resolve_reranker(args.reranker, Settings().rerankers_dir))) if args.reranker else None
    if reranker is not None:
        variants += [(f"hybrid+{reranker.name} w={w}", "hybrid", {"rerank": float(w)}) for w in args.rerank_weights.split(",")]
    if args.sweep:
        variants.append(("hybrid rrf", "hybrid", {"fusion": "rrf"}))
        variants += [(f"hybrid convex w={w}", "hybrid", {"fusion": "convex", "dense_weight": float(w)})
                     for w in args.sweep.split(",")]
    metrics = {}
    with cached_query_vectors(embedder):
        for label, mode, override in variants:
            override = dict(override)
            weight = override.pop("rerank", None)
            reordering = reranker if weight is not None else None
            kb.options = dataclasses.replace(options, **override)
            ndcgs, recalls, rerank_ms = [], [], []
            for query_id, text in queries.items():
                started = time.perf_counter()
                ranking = ranked_documents(kb, text, mode, depth=300, reranker=reordering, rerank_depth=args.rerank_depth,
                                           rerank_weight=1.0 if weight is None else weight)
                rerank_ms.append(1000 * (time.perf_counter() - started))
                ndcgs.append(ndcg_at(ranking, qrels[query_id]))
                recalls.append(recall_at(ranking, qrels[query_id]))
            metrics[label] = {"ndcg@10": statistics.mean(ndcgs), "recall@100": statistics.mean(recalls)}
            timed = reordering is not None and "ms_per_query_p50" not in results
            if timed:  # search (depth 300, query vector cached) and reranking, per query; later weights reuse the scores
                metrics[label]["ms_per_query_p50"] = results["ms_per_query_p50"] = statistics.median(rerank_ms)
            print(f"{label:<26} nDCG@10 {metrics[label]['ndcg@10']:.4f}   recall@100 {metrics[label]['recall@100']:.4f}"
                  + (f"   {statistics.median(rerank_ms):.0f} ms/query (p50, search + rerank of {args.rerank_depth})" if timed else ""))
    kb.options = options
    results["metrics"] = metrics

    if not args.no_speed:
        if args.throughput_docs > 0:
            results["ingestion"] = throughput(corpus[: args.throughput_docs], work, options, args.repeats)
        latencies = []
        for text in queries.values():
            started = time.perf_counter()
            kb.search(text, k=5)
            latencies.append(1000 * (time.perf_counter() - started))
        latencies.sort()
        p50, p95 = latencies[len(latencies) // 2], latencies[int(0.95 * (len(latencies) - 1))]
        print(f"query latency (hybrid, k=5, {chunks} chunks): p50 {p50:.1f} ms, p95 {p95:.1f} ms")
        results["latency_ms"] = {"p50": p50, "p95": p95, "chunks": chunks}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
