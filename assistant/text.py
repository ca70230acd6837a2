"""Splitting text into paragraphs, sentences and pieces that fit a token budget: the one place that
says where a sentence ends, for skills and front-ends alike."""

from __future__ import annotations

import re
from collections.abc import Callable

# The characters that end a sentence: . ! ? … and the CJK full stops.
LATIN_STOPS, CJK_STOPS = ".!?…", "。！？"
SENTENCE_STOPS = LATIN_STOPS + CJK_STOPS
# A sentence ends at a Latin stop followed by space, or right after a CJK stop (CJK puts no space there).
SENTENCE_END = re.compile(rf"(?<=[{re.escape(LATIN_STOPS)}])\s+(?=\S)|(?<=[{CJK_STOPS}])")
PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in PARAGRAPH_BREAK.split(text) if p.strip()]


def sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(text) if s and s.strip()]


def pack(units: list[str], budget: int, count: Callable[[str], int], joiner: str = " ") -> list[str]:
    """Join consecutive units into pieces of at most ``budget`` tokens; a unit larger than that stands alone."""
    pieces: list[str] = []
    current: list[str] = []
    for unit in units:
        candidate = joiner.join([*current, unit])
        if current and count(candidate) > budget:
            pieces.append(joiner.join(current))
            current = [unit]
        else:
            current.append(unit)
    if current:
        pieces.append(joiner.join(current))
    return pieces


def split_to_fit(text: str, budget: int, count: Callable[[str], int]) -> list[list[str]]:
    """Paragraphs, each as a list of pieces within the budget (split by sentence only when needed)."""
    return [[p] if count(p) <= budget else pack(sentences(p), budget, count) for p in paragraphs(text)]
