"""Build the translate adapter's training data from the sentence pairs in ../shared/data/train/translation.

Both directions of en-fr and en-de (Tatoeba and Multi30k) and a little en-zh (Tatoeba), each pair used
in one direction only. Tatoeba's exports are sorted by length and their sentences are short (4-5
words on average, against 8 in the evaluation's LASER test set), so only pairs whose English side
has at least --min-words words are drawn from them; Multi30k image captions (12 words on average)
give longer sentences. Known overlaps with the evaluation sets were removed upstream (SOURCES.md there).

Prompts come from `assistant.skills.translate.translate_messages`, the function the translate skill
uses at run time, with the source language named as the skill names it: by `detect_language` on the
text (so a short sentence that the detector gets wrong is trained with the same wrong name it will
meet in use), and the target named as `find_language` names it.

    python scripts/build_translate_data.py                 # writes ~/.cache/assistant/data/translate/train.jsonl
    python scripts/build_translate_data.py --out DIR --seed 0 --per-direction 450 --zh-per-direction 150
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from training_data import DATA_CACHE, DEFAULT_SHARED, read_jsonl, write_jsonl

from assistant.skills.translate import detect_language, find_language, translate_messages

DEFAULT_OUT = DATA_CACHE / "translate"
TATOEBA_SHARE = 2 / 3  # of each fr/de direction; the rest from Multi30k


def read_pairs(path: Path, min_words: int) -> list[tuple[str, str]]:
    """(English, other) pairs, English side at least min_words words long."""
    return [(r["src"].strip(), r["tgt"].strip()) for r in read_jsonl(path) if len(r["src"].split()) >= min_words]


def draw(pairs: list[tuple[str, str]], count: int, rng: random.Random) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``count`` pairs for en->X and ``count`` other pairs for X->en."""
    chosen = rng.sample(pairs, min(len(pairs), 2 * count))
    return chosen[:count], chosen[count:]


def example(text: str, translation: str, target_code: str) -> dict:
    messages = translate_messages(text, detect_language(text), find_language(target_code))
    return {"messages": [*messages, {"role": "assistant", "content": translation}]}


def build(shared: Path, per_direction: int, zh_per_direction: int, min_words: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    folder = shared / "train" / "translation"
    examples = []
    plan = [("fr", "tatoeba", round(per_direction * TATOEBA_SHARE)), ("fr", "multi30k", per_direction - round(per_direction * TATOEBA_SHARE)),
            ("de", "tatoeba", round(per_direction * TATOEBA_SHARE)), ("de", "multi30k", per_direction - round(per_direction * TATOEBA_SHARE)),
            ("zh", "tatoeba", zh_per_direction)]
    for other, corpus, count in plan:
        to_other, to_english = draw(read_pairs(folder / f"en-{other}.{corpus}.train.jsonl.gz", min_words), count, rng)
        examples += [example(en, foreign, other) for en, foreign in to_other]
        examples += [example(foreign, en, "en") for en, foreign in to_english]
    rng.shuffle(examples)
    return examples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="the shared data folder (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    parser.add_argument("--per-direction", type=int, default=450, help="examples per direction for fr and de (default: %(default)s)")
    parser.add_argument("--zh-per-direction", type=int, default=150, help="examples per direction for zh (default: %(default)s)")
    parser.add_argument("--min-words", type=int, default=4, help="shortest English side drawn, in words (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    examples = build(args.shared, args.per_direction, args.zh_per_direction, args.min_words, args.seed)
    target = args.out / "train.jsonl"
    write_jsonl(target, examples)
    print(f"{len(examples)} examples -> {target}")


if __name__ == "__main__":
    main()
