"""Build grounded-QA training examples from documents in the users' style: scripts/qa_docs/<company>/.

XQuAD's Wikipedia paragraphs are not what people keep: the adapter trained on them alone declines or
copies the wrong number on handbooks, price tables and incident reports (bench/README.md, company_qa).
Each folder here is a small fictional company written for training (never the evaluation corpus in
bench/company_qa): `corpus/` and `questions.jsonl` in bench/company_qa's format, unanswerable
questions being about a document's topic but a fact no document holds.

Every company's corpus is indexed on its own and every question is searched and reranked by the QA
skill itself (QASkill.retrieve and fit, the shipped reranker), so the examples show the reader the
chunks, titles, order and number of passages it meets at run time:
- an answerable question whose answer is in the passages the reader would get: answered with the
  answer as the passage writes it and the passage's number, like ``14 days [2]``;
- for a share (--hard) of those, also the same question with every passage holding the answer
  replaced by the next ones found that do not (same company, often the same document): answered
  exactly NO_ANSWER;
- an unanswerable question, with the best passages found: answered NO_ANSWER.
An answerable question whose answer is in none of the passages (a search miss, or an answer written
differently) gives no example: its right target is unknown.

    python scripts/build_doc_qa_data.py                    # writes ~/.cache/assistant/data/grounded-qa-docs/train.jsonl
    python scripts/build_doc_qa_data.py --out DIR --hard 0.3 --seed 0 --mix ~/.cache/assistant/data/grounded-qa-v5/train.jsonl --mix-count 150
    python scripts/build_doc_qa_data.py --docs scripts/qa_docs/{alderfinch,brightwell,...}   # some companies, to validate
    python scripts/build_doc_qa_data.py --docs scripts/qa_docs/{northvale-it,hartwell-services} --seed 1 --out VALIDATION_DIR   # on the others
"""

from __future__ import annotations

import argparse
import random
import re
import tempfile
from collections import Counter
from pathlib import Path

from training_data import DATA_CACHE, read_jsonl, write_jsonl

from assistant.retrieval.base import Passage
from assistant.skills.prompts import NO_ANSWER, qa_messages

DOCS = Path(__file__).resolve().parent / "qa_docs"
DEFAULT_OUT = DATA_CACHE / "grounded-qa-docs"


def find_answer(text: str, answers: list[str]) -> str | None:
    """The first answer that the text holds, as the text writes it (case and spacing), or None."""
    flat = " ".join(text.split())
    for answer in answers:
        match = re.search(r"\s+".join(re.escape(word) for word in answer.split()), flat, re.I)
        if match:
            return match.group(0)
    return None


def companies(root: Path) -> list[Path]:
    """The company folders under ``root`` (those with a questions.jsonl), in order."""
    return sorted(p for p in root.iterdir() if is_company(p))


def is_company(folder: Path) -> bool:
    return (folder / "questions.jsonl").is_file()


def company_folder(text: str) -> Path:
    """A --docs argument: a training company's folder, or a one-line usage error (argparse's ``type``)."""
    if not is_company(folder := Path(text)):
        raise argparse.ArgumentTypeError(f"not a training company (no questions.jsonl): {text}")
    return folder


def standalone_questions(folder: Path) -> list[dict]:
    """A training company's questions that stand alone: a follow-up ("And for a Sunday?"), searched alone, finds the
    wrong passages."""
    return [row for row in read_jsonl(folder / "questions.jsonl") if row["kind"] != "followup"]


def company_examples(folder: Path, hard: float, unanswerable: float, rng: random.Random) -> tuple[list[dict], Counter]:
    from assistant.config import Settings
    from assistant.runtime import Runtime

    questions = standalone_questions(folder)
    counts: Counter = Counter()
    examples = []
    with tempfile.TemporaryDirectory(prefix="assistant-qa-docs-") as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", index=Path(tmp) / "index")
        runtime = Runtime(settings)
        knowledge = runtime.knowledge
        assert knowledge is not None
        knowledge.add([folder / "corpus"])
        qa = runtime.manager.qa
        for row in questions:
            question, answers = row["question"], row["answers"]
            _, found = qa.retrieve(question)
            # What the reader gets at run time: the passages that pass the reranker's gate (for a question the
            # gate turns away, the best ones found anyway: declining them is what the reader should learn).
            passing = [p for p in found[: qa.options.k] if (p.relevance or 0.0) >= qa.options.answer_score]
            reader = qa.fit(question, passing or found[: qa.options.k])
            if not answers:
                if unanswerable < 1 and rng.random() >= unanswerable:
                    continue
                examples.append(example(row["id"], question, reader, NO_ANSWER))
                counts["unanswerable"] += 1
                continue
            holding = [(n, written) for n, p in enumerate(reader, 1) if (written := find_answer(p.text, answers))]
            if not holding:
                counts["answer not in the passages (skipped)"] += 1
                continue
            number, written = holding[0]
            examples.append(example(row["id"], question, reader, f"{written} [{number}]"))
            counts["answerable"] += 1
            if rng.random() < hard:
                without = [p for p in found if not find_answer(p.text, answers)]
                if without:
                    examples.append(example(row["id"] + "-without", question, qa.fit(question, without[: len(reader)]), NO_ANSWER))
                    counts["answer removed"] += 1
    return examples, counts


def example(qid: str, question: str, passages: list[Passage], target: str) -> dict:
    return {"messages": [*qa_messages(question, passages), {"role": "assistant", "content": target}], "id": qid}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=company_folder, nargs="+", default=companies(DOCS),
                        help=f"training companies' folders, each with corpus/ and questions.jsonl, as train_answer_reranker.py "
                             f"takes them (default: all of {DOCS.name}/; name some to validate on the others)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write train.jsonl")
    parser.add_argument("--hard", type=float, default=0.3, help="share of answerable questions also asked with the answer's passages removed")
    parser.add_argument("--unanswerable", type=float, default=1.0, help="share of the unanswerable questions kept "
                        "(with --hard, they set how often the adapter learns to decline)")
    parser.add_argument("--mix", type=Path, help="another training file (e.g. build_qa_data.py's XQuAD train.jsonl) to draw from, "
                        "so that the adapter keeps what it learned there")
    parser.add_argument("--mix-count", type=int, default=150, help="examples drawn from --mix (default: %(default)s)")
    parser.add_argument("--threads", type=int, help="CPU threads (1 is fastest on a busy machine)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    examples: list[dict] = []
    for folder in sorted(args.docs):
        made, counts = company_examples(folder, args.hard, args.unanswerable, rng)
        print(f"{folder.name}: {len(made)} examples ({', '.join(f'{n} {what}' for what, n in counts.items())})", flush=True)
        examples += made
    if args.mix:
        drawn = rng.sample(read_jsonl(args.mix), args.mix_count)
        print(f"{len(drawn)} examples drawn from {args.mix}")
        examples += drawn
    rng.shuffle(examples)
    write_jsonl(args.out / "train.jsonl", examples)
    print(f"{len(examples)} examples -> {args.out / 'train.jsonl'}")


if __name__ == "__main__":
    main()
