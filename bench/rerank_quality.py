"""Does the answer reranker rank as well in another precision, and over fewer candidates?

For each `--precision`:
- held-out XQuAD (the 10 articles scripts/train_answer_reranker.py never trains on): each of
  `--xquad-questions` questions against its gold paragraph and the 5 best BM25 paragraphs of the same
  article without the answer: how often the gold one ranks first, scores >= 0.5 (kept), and, with it
  hidden, how often the best other scores < 0.5 (turned away). The training script prints the same.
- the knowledge base's hybrid search, then the reranker over its first k passages for each k of
  `--candidates` (the QA skill's `[qa] candidates`): recall@k (the gold passage among the k searched)
  and how often the gold passage is first once they are reranked; on bench/company_qa (each half's
  answerable questions, follow-ups aside; gold: a passage of the expected file holding the fact) and
  on the held-out XQuAD questions (all 240 paragraphs indexed; gold: the question's paragraph).

    nice -n 10 python bench/rerank_quality.py --reranker FOLDER [--precision float32,bfloat16] [--candidates 4,8,12,20]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import common
import qa_company
import qa_xquad

sys.path.insert(0, str(common.REPO / "scripts"))
from build_qa_data import load_articles, normalize, split_articles  # noqa: E402

EVAL_ARTICLES, SPLIT_SEED = 10, 0  # as scripts/build_qa_data.py and scripts/train_answer_reranker.py


def has_answer(text: str, answers: Sequence[str]) -> bool:
    normalized = f" {normalize(text)} "
    return any(a and f" {normalize(a)} " in normalized for a in answers)


def xquad_held_out(reranker, articles: list[dict], questions: int, others: int, seed: int) -> dict:
    """On a sample of questions of held-out XQuAD articles, against their gold paragraph and the best BM25
    paragraphs of the same article without the answer: how often the gold one ranks first and scores
    >= 0.5, and how often the best of the others (the question with its paragraph hidden) scores < 0.5."""
    import bm25s

    rows = [(a, q) for a in articles for q in a["questions"]]
    kept, turned_away, ranked_first = [], [], []
    for article, (_, question, answers, p_index, _) in random.Random(seed).sample(rows, min(questions, len(rows))):
        paragraphs = article["paragraphs"]
        bm25 = bm25s.BM25()
        bm25.index(bm25s.tokenize(paragraphs, stopwords="en", show_progress=False), show_progress=False)
        hits, _ = bm25.retrieve(bm25s.tokenize([question], stopwords="en", show_progress=False), k=min(len(paragraphs), others + 4), show_progress=False)
        rivals = [int(h) for h in hits[0] if int(h) != p_index and not has_answer(paragraphs[int(h)], answers)][:others]
        scores = reranker.score(question, [f"{article['title']}\n{paragraphs[i]}" for i in [p_index, *rivals]])
        kept.append(float(scores[0] >= 0.5))
        turned_away.append(float(max(scores[1:], default=0.0) < 0.5))
        ranked_first.append(float(all(scores[0] > s for s in scores[1:])))
    n = len(kept)
    return {"questions": n, "paragraphs per question": 1 + others, "gold first": sum(ranked_first) / n,
            "answerable kept (>= 0.5)": sum(kept) / n, "hidden turned away (< 0.5)": sum(turned_away) / n}


def candidates_rows(label: str, reranker, searched: Sequence[tuple[str, list]], is_gold: Callable[[int, object], bool],
                    ks: Sequence[int]) -> list[dict]:
    """Per k: recall@k of the search and gold first after reranking the first k. `searched`: (question,
    passages found, best first); `is_gold(question number, passage)`. The reranker scores each pair on its
    own (padding is masked), so the first k scores of the largest k are what scoring k alone gives."""
    from assistant.retrieval.rerank import passage_text

    scored = [reranker.score(question, [passage_text(p) for p in found]) for question, found in searched]
    rows = []
    for k in ks:
        recall = [any(is_gold(n, p) for p in found[:k]) for n, (_, found) in enumerate(searched)]
        first = [bool(found[:k]) and is_gold(n, max(zip(scores[:k], found[:k]), key=lambda pair: pair[0])[1])
                 for n, ((_, found), scores) in enumerate(zip(searched, scored))]
        rows.append({"questions": f"{label} ({len(searched)})", "k": k, "recall@k": sum(recall) / len(recall),
                     "gold first after reranking": sum(first) / len(first)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="evaluation data folder (default: ../shared/data, then /work/shared/data)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--seed", type=int, default=0, help="XQuAD sample seed (0: the training script's)")
    parser.add_argument("--reranker", required=True, help="a reranker folder, or a name under rerankers/")
    parser.add_argument("--precision", default="float32,bfloat16", help="comma-separated: float32, bfloat16, auto")
    parser.add_argument("--candidates", default="4,8,12,20", help="comma-separated k: passages searched and reranked")
    parser.add_argument("--xquad-questions", type=int, default=100, help="held-out XQuAD questions against 6 paragraphs each")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import torch

    from assistant.config import Settings
    from assistant.retrieval import KnowledgeBase
    from assistant.retrieval.rerank import load_reranker, resolve_reranker

    torch.set_num_threads(args.threads)
    ks = sorted(int(k) for k in args.candidates.split(","))
    data = common.data_dir(args.data)
    articles = load_articles(common.require(data / "xquad" / "xquad.en.json"))
    _, held_out = split_articles(articles, EVAL_ARTICLES, random.Random(SPLIT_SEED))
    titles = {a["title"] for a in held_out}
    paragraphs, xquad_questions = qa_xquad.load_xquad(data)
    article_of = {p.id: p.title for p in paragraphs}
    xquad_questions = [q for q in xquad_questions if article_of[q.paragraph] in titles]
    company = [q for q in qa_company.load_questions() if q.answerable and q.kind != "followup"]
    report = common.Report("rerank_quality")
    with tempfile.TemporaryDirectory(prefix="rerank-quality-") as tmp:
        work = Path(tmp)
        kb = KnowledgeBase(work / "company-index")
        root = qa_company.build_corpus(work / "corpus").resolve()
        kb.add([root])
        company_found = {split: [(q.question, kb.search(q.question, k=ks[-1])) for q in company if q.split == split]
                         for split in qa_company.SPLITS}
        kb.close()
        kb = KnowledgeBase(work / "xquad-index")
        qa_xquad.write_paragraphs(paragraphs, work / "paragraphs")
        kb.add([work / "paragraphs"])
        xquad_found = [(q.text, kb.search(q.text, k=ks[-1])) for q in xquad_questions]
        kb.close()

    folder = resolve_reranker(args.reranker, Settings().rerankers_dir)
    for precision in args.precision.split(","):
        reranker = load_reranker(folder, precision)
        name = f"{reranker.name}, {reranker.precision}"
        report.table(f"{name}: held-out XQuAD, gold paragraph against 5 BM25 rivals of its article",
                     [xquad_held_out(reranker, held_out, args.xquad_questions, 5, args.seed)])
        rows = []
        for split, searched in company_found.items():
            asked = [q for q in company if q.split == split]
            rows += candidates_rows(f"company_qa {split}", reranker, searched,
                                    lambda n, p, asked=asked: qa_company.relative(p, root) == asked[n].source
                                    and qa_company.has_fact(p.text, asked[n]), ks)
        rows += candidates_rows("XQuAD held-out", reranker, xquad_found,
                                lambda n, p: qa_xquad.paragraph_id(p) == xquad_questions[n].paragraph, ks)
        report.table(f"{name}: the search's first k passages, reranked", rows)
    report.info.update({"reranker": str(folder), "threads": args.threads, "seed": args.seed,
                        "torch": f"{torch.__version__} ({torch.backends.cpu.get_cpu_capability()})"})
    report.finish(args.json)


if __name__ == "__main__":
    main()
