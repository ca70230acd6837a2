"""The number a "how many" question asks for: the one the passage writes before the thing counted.

A sentence with several counts is where the small reader copies the wrong one: "312" for how many invoices were not
marked as paid, from "1,847 invoices were not marked as paid and 312 customers received a reminder by mistake". The
question names what it counts ("how many invoices"), and the passage writes each count before what it counts.
"""

from __future__ import annotations

import re

from ..text import sentences
from .asking import OPENING, asking_sentence
from .grounding import NUMBERS, content_words, strip_citations
from .spans import copies

# A number alone: not part of a code, a version or a range ("PDS-44817", "4.2", "3/4").
COUNTED = re.compile(rf"(?<![\w.,:/-])(?:\d{{1,3}}(?:,\d{{3}})+|\d+)(?![\w.,:/-]*\w)|\b(?:{'|'.join(NUMBERS)})\b", re.I)
COUNTED_THING = re.compile(rf"{OPENING}how many\s+([\w'-]+)", re.I)
BETWEEN = 2  # words a count may stand before what it counts ("1,847 unpaid invoices")


def counted_thing(question: str) -> str | None:
    """What the question counts, as content_words writes it ("invoic" of "How many invoices ..."), or None. A name
    after "how many" says whose, not what ("How many Panthers defense players ...?")."""
    match = COUNTED_THING.match(" ".join(asking_sentence(question).split()))
    words = content_words(match[1]) if match and not match[1][:1].isupper() else []
    return words[0] if words else None


def counts_of(thing: str, text: str) -> list[str]:
    """The numbers ``text`` writes before ``thing`` (at most BETWEEN words before it)."""
    found = []
    for number in COUNTED.finditer(text):
        if thing in content_words(" ".join(text[number.end():].split()[:BETWEEN + 1])):
            found.append(number[0])
    return found


def recounted(answer: str, question: str, text: str) -> str | None:
    """When ``answer`` is a number alone that the sentences of ``text`` holding it write before something else than what
    ``question`` counts, and they write one other number before that: the other number. Else None."""
    number = strip_citations(answer).strip(" .")
    thing = counted_thing(question)
    if thing is None or not COUNTED.fullmatch(number):
        return None
    holding = [sentence for sentence in sentences(text) if copies(sentence, number)]
    counts = {count for sentence in holding for count in counts_of(thing, sentence)}
    if not holding or number in counts or len(counts) != 1:
        return None
    return counts.pop()
