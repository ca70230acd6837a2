"""Build the summarize adapter's training data from DialogSum train and SAMSum in ../shared/data/train/summarization.

Dialogues with their reference summaries (one or two sentences: the "short" style, /summarize's
default), drawn at random from those of at most --max-words words so that an example stays within
the trainer's --max-length of 512 tokens. DialogSum dialogues identical to its dev/test ones were
removed upstream (SOURCES.md there); DialogSum test is what bench/summarize_rouge.py evaluates on.

Prompts come from `assistant.skills.summarize.summary_messages`, the function the abstractive
summarizer uses at run time.

    python scripts/build_summarize_data.py                 # writes ~/.cache/assistant/data/summarize/train.jsonl
    python scripts/build_summarize_data.py --out DIR --seed 0 --dialogsum 600 --samsum 150
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from training_data import DATA_CACHE, DEFAULT_SHARED, read_jsonl, write_jsonl

from assistant.skills.summarize import summary_messages

DEFAULT_OUT = DATA_CACHE / "summarize"
STYLE = "short"


def draw(records: list[dict], count: int, max_words: int, rng: random.Random) -> list[dict]:
    fitting = [r for r in records if len(r["document"].split()) <= max_words and r["summary"].strip()]
    return rng.sample(fitting, min(count, len(fitting)))


def example(record: dict) -> dict:
    messages = summary_messages(record["document"].strip(), STYLE)
    return {"messages": [*messages, {"role": "assistant", "content": record["summary"].strip()}]}


def build(shared: Path, dialogsum: int, samsum: int, max_words: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    folder = shared / "train" / "summarization"
    chosen = draw(read_jsonl(folder / "dialogsum.train.jsonl.gz"), dialogsum, max_words, rng)
    chosen += draw(read_jsonl(folder / "samsum.train_first1000.jsonl"), samsum, max_words, rng)
    rng.shuffle(chosen)
    return [example(r) for r in chosen]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="the shared data folder (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    parser.add_argument("--dialogsum", type=int, default=600, help="DialogSum train dialogues (default: %(default)s)")
    parser.add_argument("--samsum", type=int, default=150, help="SAMSum train dialogues (default: %(default)s)")
    parser.add_argument("--max-words", type=int, default=250, help="longest dialogue drawn, in words (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    examples = build(args.shared, args.dialogsum, args.samsum, args.max_words, args.seed)
    target = args.out / "train.jsonl"
    write_jsonl(target, examples)
    print(f"{len(examples)} examples -> {target}")


if __name__ == "__main__":
    main()
