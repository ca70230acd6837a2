"""Build the translate adapter's training data from the sentence pairs in ../shared/data/train/translation.

Both directions of en-fr and en-de (Tatoeba and Multi30k) and a little en-zh (Tatoeba), each pair used
in one direction only. Tatoeba's exports are sorted by length and their sentences are short (4-5
words on average, against 8 in the evaluation's LASER test set), so only pairs whose English side
has at least --min-words words are drawn from them; Multi30k image captions (12 words on average)
give longer sentences. People also paste paragraphs, and an adapter trained on single sentences
learns to drop parts of long inputs (WMT22 de->en fell with the first adapter, its output 0.70 of the
reference's length), so a share of the examples (--joined) are two or three pairs joined into one
text. Known overlaps with the evaluation sets were removed upstream (SOURCES.md there).

Prompts come from `assistant.skills.translate.translate_messages`, the function the translate skill
uses at run time, with the source language named as the skill names it: by `detect_language` on the
text (so a short sentence that the detector gets wrong is trained with the same wrong name it will
meet in use), and the target named as `find_language` names it.

    python scripts/build_translate_data.py                 # writes ~/.cache/assistant/data/translate/train.jsonl
    python scripts/build_translate_data.py --out DIR --seed 1 --per-direction 1000 --zh-per-direction 250 --joined 0.25
"""

from __future__ import annotations

import argparse
import itertools
import random
from pathlib import Path

from training_data import DATA_CACHE, DEFAULT_SHARED, read_jsonl, write_jsonl

from assistant.skills.translate import detect_language, find_language, translate_messages

DEFAULT_OUT = DATA_CACHE / "translate"
TATOEBA_SHARE = 2 / 3  # of each fr/de direction; the rest from Multi30k


def read_pairs(path: Path, min_words: int) -> list[tuple[str, str]]:
    """(English, other) pairs, English side at least min_words words long."""
    return [(r["src"].strip(), r["tgt"].strip()) for r in read_jsonl(path) if len(r["src"].split()) >= min_words]


def draw(
    pairs: list[tuple[str, str]], count: int, joined: float, separator: str, rng: random.Random
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``count`` pairs for en->X and ``count`` other pairs for X->en; a ``joined`` share of each is two
    or three pairs joined (the other side with ``separator``), every pair used once."""
    # No random draws when nothing is joined, so --joined 0 reproduces the first adapter's data byte for byte.
    sizes = [rng.choice((2, 3)) if rng.random() < joined else 1 for _ in range(2 * count)] if joined else [1] * (2 * count)
    chosen = iter(rng.sample(pairs, min(len(pairs), sum(sizes))))
    units = []
    for size in sizes:
        group = list(itertools.islice(chosen, size))
        if len(group) < size:  # the corpus ran out
            break
        units.append((" ".join(en for en, _ in group), separator.join(other for _, other in group)))
    return units[:count], units[count:]


def example(text: str, translation: str, target_code: str) -> dict:
    messages = translate_messages(text, detect_language(text), find_language(target_code))
    return {"messages": [*messages, {"role": "assistant", "content": translation}]}


def build(shared: Path, per_direction: dict[str, int], min_words: int, joined: float, seed: int) -> list[dict]:
    """``per_direction`` maps fr, de and zh to the examples drawn for each of their two directions."""
    rng = random.Random(seed)
    folder = shared / "train" / "translation"
    examples = []
    plan = [(other, corpus, count) for other in ("fr", "de") for corpus, count in (
        ("tatoeba", round(per_direction[other] * TATOEBA_SHARE)),
        ("multi30k", per_direction[other] - round(per_direction[other] * TATOEBA_SHARE)))]
    plan.append(("zh", "tatoeba", per_direction["zh"]))
    for other, corpus, count in plan:
        pairs = read_pairs(folder / f"en-{other}.{corpus}.train.jsonl.gz", min_words)
        to_other, to_english = draw(pairs, count, joined, "" if other == "zh" else " ", rng)
        examples += [example(en, foreign, other) for en, foreign in to_other]
        examples += [example(foreign, en, "en") for en, foreign in to_english]
    rng.shuffle(examples)
    return examples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="the shared data folder (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    parser.add_argument("--per-direction", type=int, default=1000, help="examples per direction for fr and de (default: %(default)s)")
    parser.add_argument("--fr-per-direction", type=int, help="examples per direction for fr (default: --per-direction)")
    parser.add_argument("--de-per-direction", type=int, help="examples per direction for de (default: --per-direction)")
    parser.add_argument("--zh-per-direction", type=int, default=250, help="examples per direction for zh (default: %(default)s)")
    parser.add_argument("--min-words", type=int, default=4, help="shortest English side drawn, in words (default: %(default)s)")
    parser.add_argument("--joined", type=float, default=0.25, help="share of examples that join two or three pairs (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    per_direction = {"fr": args.fr_per_direction or args.per_direction, "de": args.de_per_direction or args.per_direction,
                     "zh": args.zh_per_direction}
    examples = build(args.shared, per_direction, args.min_words, args.joined, args.seed)
    target = args.out / "train.jsonl"
    write_jsonl(target, examples)
    print(f"{len(examples)} examples -> {target}")


if __name__ == "__main__":
    main()
