"""Is an answer supported by the passages it cites? A lexical check, cheap enough for every answer.

An answer is supported when most of its content words, and every number in it, occur in the
passages. Small models paraphrase little when answering from passages, so this catches invented
answers without rejecting faithful ones.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..retrieval.base import Passage

CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
WORD = re.compile(r"\w+", re.UNICODE)
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
SUPPORTED_AT = 0.6
STOPWORDS = frozenset(
    "a an the and or but if of to in on at by for with from as is are was were be been being it its this that these "
    "those there here which who whom whose what when where why how not no yes do does did done has have had can could "
    "would should will shall may might must i you he she we they them their our your his her my me us so than then "
    "also about into over under more most such only just very any some all each other based according passage passages "
    "document documents answer question".split()
)


def cited_numbers(text: str) -> list[int]:
    """The passage numbers cited like [1] or [1, 3], in order of first appearance."""
    seen: list[int] = []
    for group in CITATION.findall(text):
        for number in re.split(r"\s*,\s*", group):
            if int(number) not in seen:
                seen.append(int(number))
    return seen


def drop_unknown_citations(text: str, count: int) -> str:
    """Remove citations of passages 1..count never had: they would point at nothing."""
    return CITATION.sub(lambda m: m.group(0) if all(1 <= n <= count for n in cited_numbers(m.group(0))) else "", text)


def strip_citations(text: str) -> str:
    return CITATION.sub("", text)


def cites_more_than_it_says(text: str) -> bool:
    """More citation markers than words, by two or more ("folders [1] [2] [3] [4] [4]"): the model
    points at every passage and says nothing that one of them supports in particular."""
    words = [w for w in WORD.findall(strip_citations(text).lower()) if w not in STOPWORDS]
    return len(CITATION.findall(text)) > len(words) + 1


def _stem(word: str) -> str:
    # A 6-letter prefix matches most inflections (answer/answered, cities/city is the miss we accept).
    return word[:6]


def content_words(text: str) -> list[str]:
    return [_stem(w) for w in WORD.findall(text.lower()) if w not in STOPWORDS and not w.isdigit() and len(w) > 1]


def support(answer: str, passages: Sequence[Passage]) -> float:
    """The share of the answer's content words found in the passages (0 when a number is not)."""
    body = strip_citations(answer)
    evidence = " ".join(p.text for p in passages)
    evidence_numbers = {n.replace(",", "") for n in NUMBER.findall(evidence)}
    if any(n.replace(",", "") not in evidence_numbers for n in NUMBER.findall(body)):
        return 0.0
    words = content_words(body)
    if not words:
        return 1.0
    vocabulary = set(content_words(evidence))
    return sum(w in vocabulary for w in words) / len(words)


def is_grounded(answer: str, passages: Sequence[Passage]) -> bool:
    return bool(passages) and support(answer, passages) >= SUPPORTED_AT
