"""Bounds: a question for the most or the least of something, and an answer that bounds what it gives from below
("at least 2", "£1,000 or more") or from above ("up to £50", "less than 24 hours"). One is no answer to the other."""

from __future__ import annotations

import re

from .asking import asking_sentence

# A question for an upper bound ("What's the most a patient can borrow?", "the maximum number of admins") and one for a
# lower bound ("the shortest shift"); an answer that gives a bound says which it is ("£1,000 or more", "at least one").
ASKS_MOST = re.compile(r"\b(?:maximum|max|the most|largest|highest|longest|latest|at most|up to)\b", re.I)
# Notice to give is a least ("at least 24 hours"): "less than 24 hours" is when a late cancellation is charged.
ASKS_LEAST = re.compile(r"\b(?:minimum|min|the least|smallest|lowest|shortest|earliest|at least|how much (?:advance |prior )?notice)\b",
                        re.I)
# The words before an amount that bound it from below and from above ("at least 2", "up to £50"); phrases.BOUND keeps them.
LOWER_BOUND = r"(?:at least|no less than|no fewer than|minimum of|more than)"
UPPER_BOUND = r"(?:at most|up to|no more than|not more than|maximum of|less than|fewer than)"
AT_LEAST = re.compile(rf"\b(?:{LOWER_BOUND}|or more)\b", re.I)
AT_MOST = re.compile(rf"\b(?:{UPPER_BOUND}|or less|or fewer)\b", re.I)


def opposite_bound(question: str, answer: str) -> str | None:
    """"most" when ``answer`` bounds from below what ``question`` asks the most of, "least" when it bounds from above
    what it asks the least of, else None: "£1,000 or more" is no answer to the most a patient can borrow, but the
    sentence about the least one can."""
    asked = asking_sentence(question)
    most, least = bool(ASKS_MOST.search(asked)), bool(ASKS_LEAST.search(asked))
    if most == least or not (AT_LEAST if most else AT_MOST).search(answer):
        return None
    return "most" if most else "least"
