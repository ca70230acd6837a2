"""Questions a passage no longer answers: one thing the question names swapped for another of its kind.

The hard unanswerable question of a person's documents is about the topic of a passage but asks for
another case of it: the surcharge for a Sunday delivery over a price list that gives Saturday's, adoption
leave over a policy that lists compassionate leave, the sandbox API's limits over the production ones.
A reranker trained only on questions and the passages that answer them scores these as high as the
real question (0.76 against 0.85 for Sunday against Saturday; 0.81 for adoption leave), and the reader
then answers with the other case's fact. Swapping a name, a number or a word that qualifies another
("compassionate" in "compassionate leave") for one the passage does not hold makes such a question from
each answerable one, with the passage as its negative, as SQuAD 2.0 made unanswerable questions by
swapping entities. The replacement comes from the same documents, and a qualifier only for one that
qualifies the same word there ("annual leave", "maternity leave"), so the swapped question reads like
one a person would ask of them.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from assistant.skills.grounding import NUMBER, STOPWORDS, asked_names

WORD = re.compile(r"[a-z][a-z-]{2,}")  # a word that may qualify another ("night", "tail-lift"), lowercased text


@dataclass(frozen=True)
class Pool:
    """What a swap may put in a question, from the same documents: names, numbers, and for each word the words
    written just before it."""

    names: tuple[str, ...]
    numbers: tuple[str, ...]
    before: dict[str, tuple[str, ...]]

    @classmethod
    def of(cls, texts: Iterable[str]) -> Pool:
        texts = list(texts)
        joined = " ".join(texts)
        # A name is written after a word in lower case somewhere ("at Leeds"), and never in lower case itself: a
        # capitalised word that only opens lines or list items ("Today", "Current") is no name.
        found_names = {name for text in texts for name in asked_names(text)
                       if re.search(rf"[a-z] {re.escape(name)}(?![\w-])", joined)
                       and not re.search(rf"(?<![\w-]){re.escape(name.lower())}(?![\w-])", joined)}
        found_numbers = {number for text in texts for number in NUMBER.findall(text)}
        before: dict[str, set[str]] = {}
        for first, second in bigrams(joined.lower()):
            before.setdefault(second, set()).add(first)
        return cls(tuple(sorted(found_names)), tuple(sorted(found_numbers)),
                   {word: tuple(sorted(firsts)) for word, firsts in before.items()})


def bigrams(text: str) -> list[tuple[str, str]]:
    """Pairs of neighbouring content words (neither a stopword) in lowercased ``text``, within a sentence."""
    pairs = []
    for sentence in re.split(r"[.!?;:,()\n|]", text):
        words = sentence.split()
        for first, second in zip(words, words[1:]):
            if WORD.fullmatch(first) and WORD.fullmatch(second) and first not in STOPWORDS and second not in STOPWORDS:
                pairs.append((first, second))
    return pairs


KINDS = ("name", "number", "qualifier")


def swapped(question: str, passage: str, pool: Pool, rng: random.Random, kinds: Sequence[str] = KINDS) -> str | None:
    """``question`` with one thing that ``passage`` holds swapped for one of ``pool`` that it does not hold: a name,
    a number, or a word before another ("Saturday delivery" -> "next-day delivery"), at random among those the
    question has, of ``kinds``; None when nothing can be swapped."""
    held, said = passage.lower(), set(bigrams(passage.lower()))
    options: list[tuple[str, str]] = []  # (what the question says, what replaces it)
    absent_names = [n for n in pool.names if n.lower() not in held]
    for name in asked_names(question) if "name" in kinds else ():
        if name.lower() in held and absent_names:
            options.append((name, rng.choice(absent_names)))
    for number in NUMBER.findall(question) if "number" in kinds else ():
        # Of the same length: a year for a year ("1980" -> "1975"), a count for a count.
        if number in passage and (others := [n for n in pool.numbers if n not in passage and len(n) == len(number)]):
            options.append((number, rng.choice(others)))
    for first, second in bigrams(question.lower()) if "qualifier" in kinds else ():
        if (first, second) in said and (others := [w for w in pool.before.get(second, ()) if (w, second) not in said and w not in held]):
            options.append((first, rng.choice(others)))
    if not options:
        return None
    old, new = rng.choice(options)
    at = re.search(rf"(?<![\w-]){re.escape(old)}(?![\w-])", question, re.I)
    if at is None:
        return None
    if at.group(0)[:1].isupper():
        new = new[:1].upper() + new[1:]
    return question[: at.start()] + new + question[at.end():]
