"""Train the answer reranker (rerankers/answer-ce): a cross-encoder that scores (question, passage) for
"this passage answers the question", started from the embedded all-MiniLM-L6-v2.

Training pairs, never from anything the benchmarks hold out:
- XQuAD English, training articles only (the split of scripts/build_qa_data.py, same seed, so the
  10 articles `bench/qa_xquad.py --split` asks about are never seen): the gold paragraph's window
  holding the answer (1) and, as hard negatives, windows of other paragraphs of the same article
  without the answer (0); the sentence holding the answer (1) and another sentence of the same
  paragraph (0), so that single sentences can be scored for quotes;
- SciFact train queries (never the test ones): the relevant abstracts (1), the best BM25 abstracts
  that are not relevant (0);
- the development half of bench/company_qa: its questions against the passages the knowledge base
  finds for them among the development documents (the held-out documents are not even indexed):
  a passage of the expected file holding the fact (1), any other (0), every passage for a question
  whose answer is in no document (0);
- with `--swaps S`, for that share of the XQuAD and development positives, the question with a name, a number or a
  qualifier swapped for one the text does not hold (scripts/question_swaps.py: "Sunday delivery" over a price list
  that gives Saturday's) against the same text (0): what the question asks about, it must be the text's case of it.
  Tried, not shipped: the reranker then tells the swapped case apart (0.12 for a Sunday surcharge, 0.91 for
  Saturday's), but also scores paraphrases low ("haulier" for "drivers": 0.07), so on the training companies
  fewer questions were answered right (158 -> 141 of 341) for 5 more of 116 unanswerable ones declined, and with
  names and numbers only, at lower thresholds, no better (bench/README.md, tenth session);
- with `--docs` (`--docs scripts/qa_docs/*`), training companies written for training (never the
  evaluation corpus), the same way against each company's own corpus: their unanswerable questions
  are about a document's topic but a fact no document holds. Tried, not shipped: its development gate
  was no better (bench/README.md), so the shipped reranker is trained without them;
- with `--docs-sentences N` besides, their sentences as the QA skill scores them (corpus_pairs). Tried with ten
  training companies, not shipped: on the three it did not see, at equal answerable questions kept the gate turns
  away 34 of 91 unanswerable ones where the shipped one turns away 17, and the passage holding the fact comes first
  for 165 of 215 (154), but end to end no more answers are right, more are wrong, and fewer follow-ups are right
  (bench/README.md, forty-eighth session).

All six transformer layers and the classifier are trained (`--freeze-layers N` keeps the lowest N as
the embedder has them), with binary cross-entropy, for `--epochs` passes over the pairs. The word
embeddings stay as the embedder has them: they are read from the embedded model at load time, so the
folder holds only what training changed (float16, 22 MB) and not a second copy of the vocabulary.

    nice -n 10 python scripts/train_answer_reranker.py                 # -> rerankers/answer-ce
    python scripts/train_answer_reranker.py --out /tmp/ce --threads 2 --seed 0
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import bm25s

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from build_doc_qa_data import DOCS, company_folder, standalone_questions  # noqa: E402
from build_qa_data import load_articles, normalize, split_articles  # noqa: E402
from question_swaps import KINDS, Pool, swapped  # noqa: E402
from rerank_quality import has_answer, xquad_held_out  # noqa: E402
from training_data import DEFAULT_SHARED, read_jsonl  # noqa: E402

from assistant.config import PROJECT_ROOT  # noqa: E402
from assistant.retrieval.rerank import (  # noqa: E402
    DEFAULT_RERANKER,
    CrossEncoderReranker,
    RerankerInfo,
    cross_encoder,
    passage_text,
    save_reranker,
    under_heading,
)
from assistant.text import sentences  # noqa: E402


@dataclass(frozen=True)
class Pair:
    question: str
    text: str
    label: float
    origin: str  # xquad | xquad-sentence | scifact | company | docs, or one of them with "-swap" (swap_negatives)


def xquad_pairs(articles: list[dict], rng: random.Random, negatives: int, limit: int, swaps: float = 0.0,
                swap_kinds: Sequence[str] = KINDS) -> list[Pair]:
    """For a sample of questions: the window of the gold paragraph holding the answer (1) and, from the
    `negatives` paragraphs of the SAME article that BM25 ranks best for the question but that lack the
    answer, the window closest to the question (0): same topic, same names, not the fact (the hard case of
    a person's documents). Then the sentence holding the answer (1) and another sentence of the same
    paragraph (0), so that single sentences can be scored for quotes. With `swaps`, that share of the positives also
    gets the question with a name, number or word swapped (question_swaps) against the same text (0)."""
    rows = [(article, row) for article in articles for row in article["questions"]]
    indexes: dict[str, bm25s.BM25] = {}
    pools: dict[str, Pool] = {}
    pairs = []
    for article, (_, question, answers, p_index, sentence) in rng.sample(rows, min(limit, len(rows))):
        title, paragraphs = article["title"], article["paragraphs"]
        if title not in indexes:
            indexes[title] = bm25s.BM25()
            indexes[title].index(bm25s.tokenize(paragraphs, stopwords="en", show_progress=False), show_progress=False)
            pools[title] = Pool.of(paragraphs)
        # Windows of a few sentences, about the length of a passage of a short document (and cheap to train on).
        positives = [Pair(question, f"{title}\n{w}", 1.0, "xquad") for w in windows(paragraphs[p_index], WINDOW) if has_answer(w, answers)][:1]
        pairs += positives + swap_negatives(positives + [Pair(question, sentence, 1.0, "xquad-sentence")], pools[title], swaps, rng, swap_kinds)
        hits, _ = indexes[title].retrieve(bm25s.tokenize([question], stopwords="en", show_progress=False),
                                          k=len(paragraphs), show_progress=False)
        chosen = [int(h) for h in hits[0] if int(h) != p_index and not has_answer(paragraphs[int(h)], answers)]
        for h in chosen[:negatives]:
            pairs.append(Pair(question, f"{title}\n{closest_window(question, paragraphs[h], answers)}", 0.0, "xquad"))
        pairs.append(Pair(question, sentence, 1.0, "xquad-sentence"))
        others = [s for s in sentences(paragraphs[p_index]) if not has_answer(s, answers) and len(s.split()) >= 5]
        if others:
            pairs.append(Pair(question, rng.choice(others), 0.0, "xquad-sentence"))
    return pairs


WINDOW = 3  # sentences


def windows(text: str, size: int) -> list[str]:
    units = sentences(text)
    return [" ".join(units[i : i + size]) for i in range(0, max(1, len(units) - size + 1))]


def swap_negatives(positives: list[Pair], pool: Pool, share: float, rng: random.Random, kinds: Sequence[str] = KINDS) -> list[Pair]:
    """For `share` of the positive pairs: the question with one thing swapped (question_swaps), which the same text
    does not answer (0)."""
    negatives = []
    for pair in positives:
        # At share 0 nothing is drawn from `rng`, so the pairs, their order and the model are a run's without swaps
        # (`--swaps 0` rebuilds the shipped answer-ce bit for bit).
        if share > 0 and rng.random() < share and (question := swapped(pair.question, pair.text, pool, rng, kinds)) is not None:
            negatives.append(Pair(question, pair.text, 0.0, f"{pair.origin}-swap"))
    return negatives


def closest_window(question: str, text: str, answers: list[str]) -> str:
    """The window without the answer sharing most words with the question: a hard negative, about the topic."""
    wanted = set(normalize(question).split())
    candidates = [w for w in windows(text, WINDOW) if not has_answer(w, answers)] or [text]
    return max(candidates, key=lambda w: len(wanted & set(normalize(w).split())))


def scifact_pairs(folder: Path, negatives: int, limit: int, rng: random.Random) -> list[Pair]:
    corpus = read_jsonl(folder / "corpus.jsonl.gz")
    queries = {str(row["_id"]): row["text"] for row in read_jsonl(folder / "queries.jsonl")}
    relevant: dict[str, set[str]] = {}
    for line in (folder / "qrels" / "train.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        query_id, doc_id, score = line.split("\t")
        if int(score) > 0:
            relevant.setdefault(query_id, set()).add(doc_id)
    texts = {str(d["_id"]): f"{d.get('title', '').strip()}\n{d['text'].strip()}" for d in corpus}
    ids = list(texts)
    bm25 = bm25s.BM25()
    bm25.index(bm25s.tokenize([texts[i] for i in ids], stopwords="en", show_progress=False), show_progress=False)
    pairs = []
    for query_id, docs in rng.sample(sorted(relevant.items()), min(limit, len(relevant))):
        question = queries[query_id]
        pairs += [Pair(question, texts[d], 1.0, "scifact") for d in sorted(docs) if d in texts]
        hits, _ = bm25.retrieve(bm25s.tokenize([question], stopwords="en", show_progress=False), k=negatives + len(docs), show_progress=False)
        pairs += [Pair(question, texts[ids[int(h)]], 0.0, "scifact") for h in hits[0] if ids[int(h)] not in docs][:negatives]
    return pairs


def company_pairs(k: int, swaps: float, rng: random.Random, swap_kinds: Sequence[str] = KINDS) -> list[Pair]:
    """Dev questions of bench/company_qa against what a knowledge base of the dev documents alone finds."""
    import qa_company

    questions = [q for q in qa_company.load_questions() if q.split == "dev" and q.kind != "followup"]
    with tempfile.TemporaryDirectory(prefix="reranker-data-") as tmp:
        corpus = qa_company.build_corpus(Path(tmp) / "all")
        dev = Path(tmp) / "dev"
        for source in sorted({q.source for q in questions}):
            (dev / source).parent.mkdir(parents=True, exist_ok=True)
            (dev / source).write_bytes((corpus / source).read_bytes())
        pairs = corpus_pairs(dev, questions, k, "company", Path(tmp) / "index")
    pool = Pool.of(sorted({p.text for p in pairs}))
    return pairs + swap_negatives([p for p in pairs if p.label == 1.0], pool, swaps, rng, swap_kinds)


def docs_pairs(folder: Path, k: int, sentence_negatives: int = 0) -> list[Pair]:
    """The questions of a training company of scripts/qa_docs (build_doc_qa_data.py) against its own corpus."""
    import qa_company

    questions = [qa_company.Question(**{**row, "split": "train", "answers": tuple(row["answers"])})
                 for row in standalone_questions(folder)]
    with tempfile.TemporaryDirectory(prefix="reranker-data-") as tmp:
        return corpus_pairs(folder / "corpus", questions, k, "docs", Path(tmp) / "index", sentence_negatives)


def corpus_pairs(corpus: Path, questions: list, k: int, origin: str, index: Path, sentence_negatives: int = 0) -> list[Pair]:
    """Each question against the `k` passages a knowledge base of `corpus` finds for it: 1 when the passage is of
    the expected file and holds the fact, else 0 (every passage of a question whose answer is in no document).
    With `sentence_negatives`, the sentences (and table rows) of those passages too, as the QA skill scores them
    under their heading (spans.quote_units): those of the expected file holding the fact (1, two at most) and the
    `sentence_negatives` sharing most words with the question among the others (0): the sentence beside the answer,
    and for a question no document answers, the one about the same thing that states another fact."""
    import qa_company

    from assistant.retrieval import KnowledgeBase
    from assistant.skills.grounding import content_words
    from assistant.skills.spans import quote_units

    kb = KnowledgeBase(index)
    kb.add([corpus])
    pairs = []
    for q in questions:
        wanted = set(content_words(q.question))
        units: list[tuple[str, bool]] = []
        for passage in kb.search(q.question, k=k):
            source = Path(passage.source).resolve().relative_to(corpus.resolve()).as_posix()
            expected = q.answerable and source == q.source
            label = float(expected and qa_company.has_fact(passage.text, q))
            pairs.append(Pair(q.question, passage_text(passage), label, origin))
            if sentence_negatives:
                units += [(under_heading(passage.title, unit), bool(expected and qa_company.has_fact(unit, q)))
                          for _, unit in quote_units(passage.text)[2]]
        if sentence_negatives:
            unique = list(dict.fromkeys(units))
            pairs += [Pair(q.question, text, 1.0, f"{origin}-sentence") for text, holds in unique if holds][:2]
            others = sorted((text for text, holds in unique if not holds), key=lambda text: -len(wanted & set(content_words(text))))
            pairs += [Pair(q.question, text, 0.0, f"{origin}-sentence") for text in others[:sentence_negatives]]
    kb.close()
    return pairs


def batched(pairs: list[Pair], size: int, rng: random.Random) -> list[list[Pair]]:
    """Batches of pairs of similar length (little padding, so less compute), in random order."""
    ordered = sorted(pairs, key=lambda p: (len(p.question) + len(p.text), rng.random()))
    batches = [ordered[i : i + size] for i in range(0, len(ordered), size)]
    rng.shuffle(batches)
    return batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "rerankers" / DEFAULT_RERANKER)
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--base", default="all-minilm-l6-v2")
    parser.add_argument("--eval-articles", type=int, default=10, help="XQuAD articles held out (as scripts/build_qa_data.py)")
    parser.add_argument("--split-seed", type=int, default=0, help="seed of the XQuAD article split (as scripts/build_qa_data.py)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--xquad-questions", type=int, default=600, help="training questions sampled from the XQuAD training articles")
    parser.add_argument("--xquad-negatives", type=int, default=2, help="paragraphs of the same article without the answer, per question")
    parser.add_argument("--scifact-queries", type=int, default=809, help="SciFact train queries sampled (809: all)")
    parser.add_argument("--scifact-negatives", type=int, default=1)
    parser.add_argument("--swaps", type=float, default=0.0,
                        help="share of the XQuAD and development positives that also get a swapped question as a negative")
    parser.add_argument("--swap-kinds", type=lambda text: tuple(text.split(",")), default=KINDS,
                        help=f"what a swap may replace, of {','.join(KINDS)} (default: all)")
    parser.add_argument("--company-k", type=int, default=8, help="passages searched per development question")
    parser.add_argument("--docs", type=company_folder, nargs="*", default=[],
                        help=f"training companies, e.g. {DOCS.relative_to(ROOT)}/* (default: none)")
    parser.add_argument("--docs-k", type=int, default=8, help="passages searched per training company question")
    parser.add_argument("--docs-sentences", type=int, default=0,
                        help="with --docs, also the sentences holding the fact and this many others of the passages found")
    parser.add_argument("--freeze-layers", type=int, default=0, help="lowest transformer layers kept as the embedder has them (0: all trained)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--eval-questions", type=int, default=120, help="held-out XQuAD questions scored after training")
    parser.add_argument("--no-eval", action="store_true")
    args = parser.parse_args()

    import torch

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    started = time.perf_counter()
    articles = load_articles(args.shared / "xquad" / "xquad.en.json")
    train_articles, eval_articles = split_articles(articles, args.eval_articles, random.Random(args.split_seed))
    pairs = xquad_pairs(train_articles, rng, args.xquad_negatives, args.xquad_questions, args.swaps, args.swap_kinds)
    pairs += scifact_pairs(args.shared / "scifact_beir", args.scifact_negatives, args.scifact_queries, rng)
    pairs += company_pairs(args.company_k, args.swaps, rng, args.swap_kinds)
    for folder in args.docs:
        pairs += docs_pairs(folder, args.docs_k, args.docs_sentences)
    counts = {origin: [sum(1 for p in pairs if p.origin == origin and p.label == label) for label in (1.0, 0.0)]
              for origin in sorted({p.origin for p in pairs})}
    print(f"{len(pairs)} pairs (positive, negative): {counts}; built in {time.perf_counter() - started:.0f} s", flush=True)

    model = cross_encoder(args.base, args.max_length)
    network, tokenizer = model.model, model.tokenizer
    frozen = [network.bert.embeddings.word_embeddings, *network.bert.encoder.layer[: args.freeze_layers]]
    for module in frozen:
        module.requires_grad_(False)
    shared = [name for name, parameter in network.named_parameters() if not parameter.requires_grad]
    trainable = [p for p in network.parameters() if p.requires_grad]
    batches = batched(pairs, args.batch_size, rng)
    steps = max(1, int(args.epochs * len(batches)))
    optimizer = torch.optim.AdamW(trainable, lr=args.learning_rate, weight_decay=0.01)
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / (steps - warmup))))
    loss_fn = torch.nn.BCEWithLogitsLoss()
    network.train()
    train_started, losses, tokens = time.perf_counter(), [], 0
    for step in range(steps):
        batch = batches[step % len(batches)]
        inputs = tokenizer([p.question for p in batch], [p.text for p in batch], truncation=True,
                           max_length=args.max_length, padding=True, return_tensors="pt")
        tokens += int(inputs["attention_mask"].sum())
        logits = network(**inputs).logits.squeeze(-1)
        loss = loss_fn(logits, torch.tensor([p.label for p in batch]))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        losses.append(loss.item())
        if (step + 1) % 25 == 0 or step + 1 == steps:
            recent = losses[-25:]
            elapsed = time.perf_counter() - train_started
            print(f"step {step + 1}/{steps}  loss {sum(recent) / len(recent):.4f}  {elapsed:.0f} s  {tokens / elapsed:.0f} tokens/s", flush=True)
    train_s = time.perf_counter() - train_started
    network.eval()
    trained = CrossEncoderReranker(args.out, model, args.out.name)
    evaluation = {} if args.no_eval else xquad_held_out(trained, eval_articles, args.eval_questions, 5, args.seed)
    if evaluation:
        print(f"held-out XQuAD articles: {evaluation}", flush=True)
    hyper = {k: v for k, v in vars(args).items() if k not in ("out", "shared", "no_eval", "docs")}
    hyper["docs"] = [folder.name for folder in args.docs]
    info = RerankerInfo(
        base=args.base, max_length=args.max_length, shared=shared,
        description="Scores (question, passage) for 'the passage answers the question': all-MiniLM-L6-v2 trained as a "
                    "cross-encoder on XQuAD training articles, SciFact train and the development half of bench/company_qa"
                    + (f" and the training companies {', '.join(hyper['docs'])}." if args.docs else "."),
        training={"hyperparameters": hyper, "pairs": counts, "steps": steps, "train_seconds": round(train_s),
                  "tokens": tokens, "tokens_per_second": round(tokens / train_s),
                  "threads": args.threads, "first_loss": round(sum(losses[:50]) / len(losses[:50]), 4),
                  "final_loss": round(sum(losses[-50:]) / len(losses[-50:]), 4),
                  "held_out_xquad": evaluation, "eval_articles": [a["title"] for a in eval_articles]},
    )
    save_reranker(model, args.out, info)
    print(f"saved to {args.out} ({sum(f.stat().st_size for f in args.out.iterdir()) / 1e6:.1f} MB); training {train_s:.0f} s, "
          f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
