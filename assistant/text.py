"""Splitting text into paragraphs, sentences and pieces that fit a token budget: the one place that
says where a sentence ends, for skills and front-ends alike; and where a model's reply starts to loop."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

log = logging.getLogger(__name__)

# The characters that end a sentence: . ! ? … and the CJK full stops.
LATIN_STOPS, CJK_STOPS = ".!?…", "。！？"
SENTENCE_STOPS = LATIN_STOPS + CJK_STOPS
# A sentence ends at a Latin stop (and any closing quotes or brackets) followed by white space and
# what can start a sentence (checked in sentence_spans: after any opening quote or bracket, a capital
# or a digit, or a letter of a script without case); or right after a CJK stop and its closing
# bracket, with or without space (CJK puts none there).
_SENTENCE_END = re.compile(
    rf"(?<=[{re.escape(LATIN_STOPS)}])[\"'”’»)\]]*(?P<gap>\s+)(?=[\"'“‘«(\[]?(?P<next>\S))"
    rf"|(?:(?<=[{CJK_STOPS}])(?![」』）”])|(?<=[{CJK_STOPS}][」』）”]))(?P<cjk>\s*)"
)
# Words whose full stop does not end a sentence ("Dr. Smith", "e.g. this"); initials ("J. Smith") neither.
_ABBREVIATIONS = {"dr.", "mr.", "mrs.", "ms.", "prof.", "st.", "vs.", "e.g.", "i.e.", "etc.", "fig.", "no.", "vol.",
                  "p.", "pp.", "cf.", "al.", "approx.", "jr.", "sr.", "inc.", "ltd.", "co."}
PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in PARAGRAPH_BREAK.split(text) if p.strip()]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence in ``text``, the white space between them left out. "Dr. Smith",
    initials, "e.g. this" and "3 p.m. today" do not end one; CJK sentences end at 。！？ without a space."""
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        if match.group("gap") is not None:
            first = match.group("next")
            if first.islower() or not first.isalnum():  # "3 p.m. today", "Install it. - Then"
                continue
            end = match.start("gap")
        else:
            end = match.start("cjk")
        before = text[start:end].rsplit(None, 1)
        word = before[-1].lower() if before else ""
        if word in _ABBREVIATIONS or (len(word) == 2 and word[0].isalpha() and word[1] == "."):
            continue
        if end > start:
            spans.append((start, end))
        start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` (sentence_spans), stripped; none that is only white space."""
    return [sentence for start, end in sentence_spans(text) if (sentence := text[start:end].strip())]


CLAUSE_BREAK = re.compile(r",\s+|;\s+|\s+(?:and|but|while|whereas)\s+")  # where a sentence giving several values cuts


def clauses(sentence: str) -> list[str]:
    """The parts of a sentence that may each give a value: "€6 per user on Pro" and "€5 on Business"."""
    return CLAUSE_BREAK.split(sentence)


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


# Small models fall into loops ("[3] [3] [3] ...", "la Belle Étoile, la Belle Étoile, ..."): six times
# the same piece of 2-60 characters at the end.
LOOP = re.compile(r"(\S.{1,59}?)(?:\s*\1){5,}\s*$", re.S)
LOOP_WINDOW = 400  # characters at the end of the text searched for a loop


def without_loop(text: str) -> str | None:
    """`text` cut after the first round of the loop it ends in, or None when it does not end in one.

    Runs for every streamed piece of a reply, and LOOP alone costs about 1 ms a piece. A loop's text
    without its whitespace ends with one piece of 1-60 characters six times over; checking that
    first takes microseconds and only lets through what LOOP then decides.
    """
    window = text[-LOOP_WINDOW:]
    bare = "".join(window.split())
    if not any(bare.endswith(bare[-size:] * 6) for size in range(1, min(60, len(bare) // 6) + 1)):
        return None
    loop = LOOP.search(window)
    if loop is None:
        return None
    log.info("stopped a reply repeating %r", loop.group(1))
    return text[: len(text) - len(loop.group(0)) + len(loop.group(1))]
