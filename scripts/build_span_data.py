"""Build the training data of the `answer-span` adapter: the QA skill's second reading.

When the reader declines although the reranker found a passage that answers, the QA skill asks the model
again with only that passage's best sentence (spans.best_span) and the question (prompts.shorten_messages),
and keeps the reply only if it is copied from the sentence (qa.copied_answer). The grounded-qa adapter,
trained to decline, declines there too with the answer in front of it ("I don't know the answer to that
question yet." for "There is free parking at Skipton, Wakefield and Darlington."). Each example here is
that prompt as the skill builds it, the sentence chosen by the shipped reranker as at run time, answered
with the answer as the sentence writes it, or exactly NO_ANSWER when the sentence does not hold it:
- XQuAD English's training articles (the same held-out articles as build_qa_data.py, never read here):
  each question against its own paragraph's best sentence, and for a share (--hidden) also against the
  best sentence of the paragraph BM25 finds next (which holds no answer);
- companies in the users' style (--docs, each a folder with corpus/ and questions.jsonl: the training
  companies of scripts/qa_docs, bench/company_qa's development half): each question searched and reranked
  by the QA skill itself over the company's own documents, against the best sentence of its best passage
  when that passage scores `reread_score` (when the skill would read it again); unanswerable questions too.

    python scripts/build_span_data.py --docs scripts/qa_docs/halden-coldchain scripts/qa_docs/ledgerly \
        --dev bench/company_qa          # writes ~/.cache/assistant/data/answer-span/train.jsonl
"""

from __future__ import annotations

import argparse
import random
import tempfile
from collections import Counter
from pathlib import Path

from build_doc_qa_data import find_answer
from build_qa_data import Split, load_articles, split_articles
from training_data import DATA_CACHE, DEFAULT_SHARED, read_jsonl, write_jsonl

from assistant.retrieval.base import Passage
from assistant.retrieval.rerank import Reranker
from assistant.skills.prompts import NO_ANSWER, shorten_messages
from assistant.skills.spans import best_span

DEFAULT_OUT = DATA_CACHE / "answer-span"


def example(qid: str, question: str, sentence: str, target: str) -> dict:
    return {"messages": [*shorten_messages(question, sentence), {"role": "assistant", "content": target}], "id": qid}


def read_again(reranker: Reranker, qid: str, question: str, passage: Passage, answers: list[str]) -> dict:
    """The second reading of ``passage``: its best sentence, answered with the answer it holds, else NO_ANSWER."""
    sentence = best_span(reranker, question, passage)[0]
    return example(qid, question, sentence, find_answer(sentence, answers) or NO_ANSWER)


def xquad_examples(shared: Path, reranker: Reranker, hidden: float, eval_articles: int, seed: int,
                   rng: random.Random) -> list[dict]:
    articles = load_articles(shared / "xquad" / "xquad.en.json")
    train_articles, _ = split_articles(articles, eval_articles, random.Random(seed))  # as build_qa_data.py splits them
    split = Split(train_articles)
    examples = []
    for a_index, article in enumerate(train_articles):
        for qid, question, answers, p_index, _ in article["questions"]:
            examples.append(read_again(reranker, qid, question, split.passage((a_index, p_index)), answers))
            if rng.random() < hidden and (other := split.distractors(question, (a_index, p_index), answers, 1)):
                examples.append(read_again(reranker, qid + "-hidden", question, split.passage(other[0]), answers))
    return examples


def company_examples(folder: Path, splits: set[str] | None) -> list[dict]:
    from assistant.config import Settings
    from assistant.runtime import Runtime

    questions = [row for row in read_jsonl(folder / "questions.jsonl")
                 if row.get("kind") != "followup" and (splits is None or row.get("split") in splits)]
    examples = []
    with tempfile.TemporaryDirectory(prefix="assistant-span-") as tmp:
        runtime = Runtime(Settings(data_dir=Path(tmp) / "data", index=Path(tmp) / "index"))
        assert runtime.knowledge is not None
        runtime.knowledge.add([folder / "corpus"])
        qa = runtime.manager.qa
        assert qa.reranker is not None, "the QA skill has no reranker: install rerankers/answer-ce"
        for row in questions:
            _, found = qa.retrieve(row["question"])
            if found and (found[0].relevance or 0.0) >= qa.options.reread_score:
                examples.append(read_again(qa.reranker, row["id"], row["question"], found[0], row["answers"]))
    return examples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="the shared data folder (XQuAD)")
    parser.add_argument("--docs", type=Path, nargs="*", default=[], help="company folders whose questions are all used")
    parser.add_argument("--dev", type=Path, help="a company folder whose development half only is used (bench/company_qa)")
    parser.add_argument("--hidden", type=float, default=0.3, help="share of XQuAD questions also read against another paragraph")
    parser.add_argument("--declines", type=float, default=1.0,
                        help=f"share of the examples answered {NO_ANSWER!r} that are kept (fewer: the adapter declines less)")
    parser.add_argument("--eval-articles", type=int, default=10, help="XQuAD articles held out (as build_qa_data.py)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write train.jsonl")
    parser.add_argument("--threads", type=int, help="CPU threads (1 is fastest on a busy machine)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    from assistant.retrieval.rerank import load_reranker

    rng = random.Random(args.seed)
    reranker = load_reranker(Path(__file__).resolve().parents[1] / "rerankers" / "answer-ce")
    made = {"xquad": xquad_examples(args.shared, reranker, args.hidden, args.eval_articles, args.seed, rng)}
    for folder in args.docs:
        made[folder.name] = company_examples(folder, None)
    if args.dev:
        made[f"{args.dev.name} (dev)"] = company_examples(args.dev, {"dev"})
    for name, examples in made.items():
        examples[:] = [e for e in examples if e["messages"][-1]["content"] != NO_ANSWER or rng.random() < args.declines]
        counts = Counter("declined" if e["messages"][-1]["content"] == NO_ANSWER else "answered" for e in examples)
        print(f"{name}: {len(examples)} examples ({counts['answered']} answered, {counts['declined']} {NO_ANSWER!r})", flush=True)
    examples = [e for group in made.values() for e in group]
    rng.shuffle(examples)
    write_jsonl(args.out / "train.jsonl", examples)
    print(f"{len(examples)} examples -> {args.out / 'train.jsonl'}")


if __name__ == "__main__":
    main()
