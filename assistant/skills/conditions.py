"""The condition a question states, and the part of a passage that holds under it.

Policies give a value, then the value under a condition: "Full-time employees get 25 days of annual leave per year.
After 5 years of service this rises to 27 days." Asked "How much annual leave do I get once I've been here more than
5 years?", the small reader copies the first value, and the reranker scores the second sentence low (it points back:
"this"). Tables of bands fare no better: "End of probation to 2 years | 10 days at full pay" and "Over 2 years | 20 days
at full pay" share the same words with "I've been here more than two years. How much sick pay do I get a year?". And
one sentence may give a value for each of several things: "additional users cost €6 per user per month on Pro and €5
per user per month on Business".

A quantity the question states ("more than 5 years", "three years", "every minute", "a €700 refund") is its
condition. In prose, the answer must come from a sentence stating that quantity when one of the passage's sentences
does (``conditional``): prose says "spread over 12 months" as often as "over 2 years", so only the number and its unit
are compared there. A table's row labels are terse ("Over 2 years", "Up to 5 kg", "0-2 years", "5+ years"): there the
band a label states and the one the question states are compared as ranges (``band_match``). A name or a day the
question states ("the Business plan", "on a Saturday") picks the clause of the answer's sentence that names it, and
so does what a clause is for, when the question asks about it: "Inês Marques for engineering, Rui Carvalho for other
roles" answers who has the final interview with engineering candidates.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..retrieval.base import Passage
from ..text import clauses
from .answer_kind import asks_for
from .completion import SHORT_REPLY
from .currency import SYMBOL
from .grounding import MONTH, NUMBERS, STOPWORDS, TIME_UNIT, WEEKDAY, asked_names, content_words
from .names import names
from .phrases import unsaid
from .spans import copies, quote_units

_NUMBER = rf"\d+(?:,\d{{3}})*(?:\.\d+)?|\b(?:{'|'.join(NUMBERS)})\b"
ONE = ("a", "an")  # "over a year" is over one year; only after a comparison, of time ("€40 a day" states no band)
ABOVE = "more than|greater than|longer than|older than|over|above|beyond|exceeding"  # the number itself excluded
FROM = "at least|from|after|starting at"
BELOW = "less than|fewer than|shorter than|under|below"
UP_TO = "up to|at most|no more than|not more than|within|until|to|the first|first"
BAND = re.compile(
    rf"(?:\b(?P<compare>{ABOVE}|{FROM}|{BELOW}|{UP_TO}|between)\s+)?"
    rf"(?P<currency>[€$£])?\s?(?<![\w.])(?<![^\W\d_]-)(?P<low>{_NUMBER}|\b(?:{'|'.join(ONE)})\b)"  # not of a code or a version ("G10", "B-52", "v4.2")
    rf"(?:\s*(?:-|–|to|and)\s*[€$£]?\s?(?P<high>{_NUMBER}))?(?P<plus>\+)?"
    rf"(?:\s+or\s+(?P<open>more|over|longer|above|less|fewer|under|below|shorter)\b)?(?:-|\s*)(?P<unit>%|[a-z]+\b)?"
    rf"(?:\s+or\s+(?P<open_after>more|over|longer|above|less|fewer|under|below|shorter)\b)?",
    re.I,
)
EVERY = re.compile(rf"\bevery\s+(?P<unit>{TIME_UNIT})\b", re.I)  # "every minute" is "a 1-minute interval"
# Words before the unit that qualify it ("2-3 working days", "10 calendar days"): the unit is the word after.
QUALIFIERS = frozenset("working business calendar consecutive full extra additional paid unpaid".split())
NOT_UNITS = re.compile(rf"^(?:{MONTH}|{WEEKDAY}|am|pm|st|nd|rd|th|per|[a-z])$", re.I)  # dates and times are no band, nor "one per"
AFTER_MONTH = re.compile(rf"\b{MONTH}\.?,?\s*$", re.I)  # the year of a date ("12 March 2024 starts")
# "rises to 27 days" states a value, not a band up to it.
CHANGED_TO = re.compile(r"(?:ris|rose|increas|go|goes|went|drop|fall|fell|reduc|decreas|grow|grew|chang|extend|mov|rais|"
                        r"cut|lower)\w*\s+(?:up\s+|down\s+)?$", re.I)
MORE = ("more", "over", "longer", "above")  # "5 or more", as against "5 or less"
EPSILON = 1e-6  # "more than 2" starts just above 2
DAY = re.compile(rf"\b{WEEKDAY}\b", re.I)
FOR = re.compile(r"\bfor\s+(.+)", re.I)  # what a clause gives its value for ("€5 for Business", "Inês Marques for engineering")


@dataclass(frozen=True)
class Band:
    """A quantity as a range of one unit ("year", "€", "%", "kg", "pallet"): [low, high], and the numbers it was
    written with."""

    unit: str
    low: float
    high: float
    values: tuple[float, ...]

    def overlaps(self, other: Band) -> bool:
        return self.unit == other.unit and self.low <= other.high and other.low <= self.high

    def within(self, other: Band) -> bool:
        return self.unit == other.unit and other.low <= self.low and self.high <= other.high


# Units compared as another: "After 12 months" is a band of service that "just over a year" falls in.
SAME_UNIT = {"year": ("month", 12.0)}


def value(number: str) -> float:
    return 1.0 if number.lower() in ONE else float(NUMBERS.get(number.lower(), number.replace(",", "")))


def band(unit: str, low: float, high: float, values: tuple[float, ...]) -> Band:
    """A band in the unit it is compared in (years as months)."""
    if unit in SAME_UNIT:
        unit, factor = SAME_UNIT[unit]
        low, high, values = low * factor, high * factor, tuple(v * factor for v in values)
    return Band(unit, low, high, values)


def bands(text: str) -> list[Band]:
    """The quantities ``text`` states, each as the range it says: "over 2 years" (2, ∞), "up to €500" (-∞, 500],
    "2-3 working days" [2, 3], "5+ years" [5, ∞), "three years" [3, 3], "every minute" [1, 1]. A number without a
    unit is none, nor a date."""
    found = []
    for match in BAND.finditer(text):
        unit = match["currency"] or _unit(match, text)
        if unit is None or AFTER_MONTH.search(text[: match.start()]):
            continue
        if match["low"].lower() in ONE and (match["high"] or not match["compare"] or match["compare"].lower() == "to"
                                            or not re.fullmatch(TIME_UNIT, unit)):
            continue
        low = high = value(match["low"])
        values: tuple[float, ...] = (low,)
        compare = (match["compare"] or "").lower()
        opened = (match["open"] or match["open_after"] or "").lower()
        if compare == "to" and CHANGED_TO.search(text[: match.start()]):
            compare = ""
        if match["high"] is not None:
            high = value(match["high"])
            values = (low, high)
            if compare not in ("", "between", "from"):
                continue  # "up to 3-4 days": not a band this reads
        elif compare in ABOVE.split("|"):
            low, high = low + EPSILON, math.inf
        elif compare in FROM.split("|") or match["plus"] or opened in MORE:
            high = math.inf
        elif compare in BELOW.split("|"):
            low, high = -math.inf, high - EPSILON
        elif compare in UP_TO.split("|") or opened:
            low = -math.inf
        found.append(band(unit, low, high, values))
    return found + [band(singular(match["unit"].lower()), 1.0, 1.0, (1.0,)) for match in EVERY.finditer(text)]


def _unit(match: re.Match[str], text: str) -> str | None:
    """The unit after a band's number: a currency or "%", else the word (its singular), the one after a qualifier."""
    word = (match["unit"] or "").lower()
    if word in QUALIFIERS and (following := re.match(r"\s+([a-z]+)\b", text[match.end("unit"):], re.I)):
        word = following[1].lower()
    if word in SYMBOL:
        return SYMBOL[word]
    if not word or word in STOPWORDS or NOT_UNITS.match(word):
        return None
    return singular(word)


def singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def band_match(asked: list[Band], text: str) -> int | None:
    """How well the bands ``text`` states fit those of the question (``asked``): 2 when one holds a band asked
    whole, 1 when one overlaps it, 0 when those in its units all miss it; None when it states none in those units."""
    stated = [band for band in bands(text) if any(band.unit == a.unit for a in asked)]
    if not stated:
        return None
    if any(a.within(band) for a in asked for band in stated):
        return 2
    # Sharing a number counts too: "over two weeks in a row" is two weeks, as "two consecutive weeks" is.
    return 1 if any(a.overlaps(band) or set(a.values) & set(band.values) for a in asked for band in stated) else 0


def states(text: str, asked: list[Band]) -> bool:
    """Whether ``text`` states one of these quantities (a number of the unit, whatever band it says)."""
    return any(band.unit == a.unit and set(band.values) & set(a.values) for band in bands(text) for a in asked)


def says_only(text: str, asked: list[Band]) -> bool:
    """Whether ``text`` says one of these quantities and nothing more ("4 weeks" for "the next four-week period")."""
    return states(text, asked) and not content_words(BAND.sub(" ", text))


def holding_units(answer: str, passage: Passage) -> tuple[list[str], list[str]]:
    """The passage's sentences and table rows (quote_units), and those of them the answer is copied from."""
    wanted = " ".join(answer.split()).strip(" .,;:")
    units = [" ".join(unit.split()) for _, unit in quote_units(passage.text)[2]]
    return units, [unit for unit in units if copies(unit, wanted)]


def other_condition(answer: str, question: str, passage: Passage) -> bool:
    """Whether ``answer`` is said in ``passage`` only under another quantity than the one ``question`` states, and no
    sentence of the passage states that one: "£7.60" from "Sterilisation pouches, 90 x 230 mm ... £7.60" for a box of
    the 135 x 280 mm ones. (A sentence stating no quantity of that unit is the general case: "25 days" of leave holds
    for someone who has been here three years when only "after 5 years" says otherwise.)"""
    asked = bands(question)
    units, holding = holding_units(answer, passage)
    return bool(asked and holding) and all(band_match(asked, unit) == 0 for unit in holding) and not any(
        band_match(asked, unit) for unit in units)


def conditional(answer: str, question: str, passage: Passage) -> str | None:
    """The answer under the condition ``question`` states, when ``answer`` (copied from ``passage``) is said under
    another: the one phrase of the kind asked for in the sentence stating the quantity asked ("27 days" in "After 5
    years of service this rises to 27 days."), or in the clause naming what is asked ("€5" in "... cost €6 per user
    per month on Pro and €5 per user per month on Business" for the Business plan) or being for it (serves; for "who",
    the one person that clause names); else None."""
    kind = asks_for(question)
    if kind not in ("amount", "length", "duration", "count", "time", "person"):
        return None
    units, holding = holding_units(answer, passage)
    if not holding:
        return None
    if (asked := bands(question)) and kind != "person":
        stating = [unit for unit in units if states(unit, asked)]
        if any(unit in stating for unit in holding) or len(stating) != 1:
            return None
        return sole_phrase(kind, stating[0], question, asked)
    if len(holding) != 1:
        return None
    parts = clauses(holding[0])
    wanted = " ".join(answer.split()).strip(" .,;:")
    answering = [clause for clause in parts if copies(clause, wanted)]
    if named := asked_names(question):
        # The answer's clause names another thing ("on Pro"), one other clause the one asked about.
        naming = [clause for clause in parts if any(name in clause for name in named)]
        elsewhere = all(names_other(clause, question) for clause in answering)
    else:
        # The answer's clause is for another thing ("Rui Carvalho for other roles"), one other clause for the one asked
        # about ("Inês Marques for engineering", asked who has the final interview with engineering candidates).
        naming = [clause for clause in parts if serves(clause, question)]
        elsewhere = bool(answering) and all(FOR.search(clause) for clause in answering)
    if len(naming) == 1 and naming[0] not in answering and elsewhere:
        if kind == "person":
            people = names(naming[0], question, people=True)
            return people[0] if len(people) == 1 else None
        return sole_phrase(kind, naming[0], question, [])
    return None


def serves(clause: str, question: str) -> bool:
    """Whether ``clause`` gives its value for something the question asks about: a word after its "for" that the
    question uses."""
    found = FOR.search(clause)
    return bool(found and set(content_words(found[1])) & set(content_words(question)))


def names_other(clause: str, question: str) -> bool:
    """Whether ``clause`` names a thing or a day that ``question`` does not: "on Pro" for the Business plan, "Monday to
    Friday" for a Saturday (names.names leaves days out: a day is when, not what)."""
    asked = question.lower()
    return bool(names(clause, question)) or any(day.lower().rstrip("s") not in asked for day in DAY.findall(clause))


def sole_phrase(kind: str, text: str, question: str, asked: list[Band]) -> str | None:
    """The one phrase of ``kind`` in ``text`` that the question does not say nor states as its condition (unlike
    phrases.sole_expression, "how much" takes a measure too: "How much leave" is said in days)."""
    phrases = {phrase for phrase in unsaid(kind, question, text, measures=kind == "amount") if not states(phrase, asked)}
    return phrases.pop() if len(phrases) == 1 else None


def conditional_reply(text: str, question: str, source: Passage) -> str | None:
    """A reply's answer ("25 days [1]", or with no citation) as said under the condition the question states: the
    reply unchanged, or with the answer that holds under it (``conditional``), or None when the answer is said only
    under another quantity (``other_condition``). A reply of more than the answer and its one citation is left as it is."""
    found = SHORT_REPLY.fullmatch(text.strip())
    if found is None:
        return text
    if other_condition(found.group(1), question, source):
        return None
    if (answer := conditional(found.group(1), question, source)) is None:
        return text
    return answer + (found.group(2) or "")
