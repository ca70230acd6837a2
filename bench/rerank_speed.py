"""How long the answer reranker takes to score one question's candidate passages (the QA skill reranks 20).

The company corpus of bench/company_qa is indexed into a temporary knowledge base; for each of the
first `--questions` questions its `--passages` best passages are searched once, then scored by the
reranker `--repeats` times. Prints the median and p90 wall milliseconds per question, the median CPU
milliseconds the process spent on it (all threads together), the machine, and the load average.

The machine may be shared: then the wall time says little, but the CPU time at `--threads 1` is one
core's work, which other jobs inflate far less. On a quiet machine, the wall time at `--threads 2` is
about that CPU time over the speed-up two threads give.

    nice -n 10 python bench/rerank_speed.py [--reranker answer-ce] [--passages 20] [--threads 2] [--precision auto]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import common  # noqa: F401  (puts the repository on sys.path)
import qa_company


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reranker", default="answer-ce")
    parser.add_argument("--passages", type=int, default=20)
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precision", default="auto", help="auto, float32 or bfloat16 (as [qa] reranker_precision)")
    args = parser.parse_args()

    import torch

    from assistant.config import Settings
    from assistant.llm.plan import cpu_model
    from assistant.retrieval import KnowledgeBase
    from assistant.retrieval.rerank import load_reranker, passage_text, resolve_reranker

    torch.set_num_threads(args.threads)
    reranker = load_reranker(resolve_reranker(args.reranker, Settings().rerankers_dir), args.precision)
    questions = [q.question for q in qa_company.load_questions()][: args.questions]
    with tempfile.TemporaryDirectory(prefix="rerank-speed-") as tmp:
        kb = KnowledgeBase(Path(tmp) / "index")
        kb.add([qa_company.build_corpus(Path(tmp) / "corpus")])
        candidates = [[passage_text(p) for p in kb.search(q, k=args.passages)] for q in questions]
        kb.close()
    reranker.score(questions[0], candidates[0])  # warm-up
    timings, cpu = [], []
    for _ in range(args.repeats):
        for question, texts in zip(questions, candidates):
            started, cpu_started = time.perf_counter(), time.process_time()
            reranker.score(question, texts)
            timings.append(1000 * (time.perf_counter() - started))
            cpu.append(1000 * (time.process_time() - cpu_started))
    timings.sort()
    print(f"reranker {reranker.name} ({reranker.precision}): {args.passages} passages per question, {len(questions)} questions x {args.repeats}: "
          f"median {statistics.median(timings):.0f} ms, p90 {timings[int(0.9 * (len(timings) - 1))]:.0f} ms per question; "
          f"CPU {statistics.median(cpu):.0f} ms per question (median)")
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, torch {torch.__version__} "
          f"({torch.backends.cpu.get_cpu_capability()}), {args.threads} threads; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
