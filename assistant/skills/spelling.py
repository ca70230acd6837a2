"""A slip of the keys in a question, mended with the words of the passages found for it: "How long do I watch the canary
dasbhoard?" asks about the "dashboard" the runbook names. The reranker and the small reader score and read a misspelt
word as another word: two letters swapped in one word cost 30 of 103 right answers on two companies' questions.

A word is mended only when it is no English word (pyspellchecker's word list) and no word of the passages, and a word
of the passages is one slip away from it (a letter left out, added or changed, or two letters swapped), as search
engines allow one typo in a longer word (here six letters or more). A real word is never mended: "When is
lunch?" next to a passage on a product launch asks about lunch; nor is a plural ("litre" where the price list says
"litres", which the English list lacks), nor a word whose first letter would change (people rarely slip on it, and
"lates", the late shifts, is one slip from "rates"). A name is mended only to a name, the one of the passages a slip away,
as they spell it ("Barednrecht" for "Barendrecht"): a name a document lacks is what the checks decline for
(grounding.unmentioned_names), so one misspelt answered nothing."""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Mapping, Sequence

from spellchecker import SpellChecker

from ..retrieval.base import Passage

WORD = re.compile(r"\b[A-Za-z]+(?:'[A-Za-z]+)?\b")
SHORTEST = 6  # a slip in a shorter word is as likely another word ("cost", "cast"; "lates", the late shifts, and "later")
LONGEST = 30  # no word is longer; a pasted run of letters has thousands of spellings a slip away


@functools.cache
def english() -> SpellChecker:
    return SpellChecker(language="en", distance=1)


def slips(question: str, passages: Sequence[Passage]) -> dict[str, str]:
    """The words of ``question`` that are slips, each with the word of ``passages`` it was meant to be (the one the
    passages use most, when several are a slip away)."""
    written = WORD.findall(" ".join(f"{p.title or ''} {p.text}" for p in passages))
    said = Counter(word.lower() for word in written)
    names = {word for word in written if word[0].isupper()}
    mended: dict[str, str] = {}
    for word in set(WORD.findall(question)):
        lowered = word.lower()
        name = word[0].isupper() and not word.isupper()  # not an acronym, nor "iPhone"
        if not (word.islower() or name) or not SHORTEST <= len(word) <= LONGEST or lowered in said or lowered in english():
            continue
        near = [candidate for candidate in english().edit_distance_1(lowered)
                if said[candidate] and candidate[0] == lowered[0] and not plural(lowered, candidate)]
        if name:
            # A name for the one name of the passages a slip away ("Barednrecht" for "Barendrecht"), as they write it
            spelt = {written_name for written_name in names if written_name.lower() in near}
            if len(spelt) == 1:
                mended[word] = spelt.pop()
        elif near:
            mended[word] = max(near, key=lambda candidate: (said[candidate], candidate))
    return mended


def plural(word: str, other: str) -> bool:
    """One is the other with an "s" ("litre", "litres"): no slip, the same thing."""
    return word + "s" == other or other + "s" == word


def respelled(text: str, mended: Mapping[str, str]) -> str:
    return WORD.sub(lambda word: mended.get(word[0], word[0]), text)
