"""The phrases of a sentence that could answer a question of a kind (answer_kind): dates and clock times for "when",
money for "how much", durations, counts, measures, version numbers, numbers to ring, email addresses, and names
(names.py) for who and which app. When the second reading of a sentence gives nothing, the one phrase of the kind
asked for that the question does not state is the answer (sole_expression): "31 March" in "Carried-over days must be
taken by 31 March or they are lost." for "By when do I have to use holiday I carried over?".
"""

from __future__ import annotations

import re

from ..retrieval.tables import LABELLED_CELL
from ..text import clauses
from .answer_kind import (
    CALL_WHOM,
    CLOCK,
    DATE,
    EMAIL,
    EXTENSION,
    MEASURES,
    MONEY,
    NUMBER_WORD,
    PHONE,
    SHARE_OF,
    UNIT,
    VERSION,
    WHICH_DAYS,
    asks_about_named,
    asks_for,
    asks_for_several,
    fits,
    is_telephone_number,
    named_thing,
    without_non_counts,
    without_times,
)
from .asking import asking_words
from .bounds import LOWER_BOUND, UPPER_BOUND
from .counts import COUNTED, counted_thing, counts_of
from .grounding import MONTH, TIME_UNIT, asked_names, content_words, same_term
from .names import name_lists, names

COUNTED_DAYS = r"(?:unused|paid|unpaid|extra|additional|full)"  # "5 unused days", "2 full days"
# A duration or a length ("3 working days", "45 km"): what is left of a sentence once they, money and shares are gone
# holds its counts.
# Up to two words may say which days or hours are counted ("3 consecutive teaching days", "5 unused days").
LENGTH = re.compile(rf"(?:\b\d[\d.,]*|\b{NUMBER_WORD})[\s-]*(?:(?:(?:{WHICH_DAYS}|{COUNTED_DAYS})\s+){{0,2}}{TIME_UNIT}|{UNIT})(?!\w)", re.I)
# How long a text is ("at least 14 characters", "two pages"): a length, though no count's unit.
TEXT_LENGTH = re.compile(rf"(?:\b\d[\d,]*|\b{NUMBER_WORD})\s+(?:characters|digits|letters|words|pages|lines)\b", re.I)
# Words that bound an amount, a duration or a count, right before it ("at least 24 hours", "up to £50").
BOUND = re.compile(rf"\b(?:{LOWER_BOUND}|{UPPER_BOUND}|no later than|within)\s+$", re.I)


def expressions(kind: str | None, text: str) -> list[str]:
    """The expressions in ``text`` that say what a question of this kind asks for: dates and clock times for
    "time", money and shares for "amount", shares for "share", durations and lengths for "length" and "duration",
    numbers that are none of these for "count", measures in their units for "temperature", "weight" and "speed", dotted numbers for
    "version", extensions and telephone numbers for "phone", addresses for "email"; none for the other kinds, which no pattern finds."""
    if kind == "amount":
        return [qualified(text, m) for pattern in (MONEY, SHARE_OF) for m in pattern.finditer(text)]
    if kind == "share":
        return [qualified(text, m) for m in SHARE_OF.finditer(text)]
    rest = SHARE_OF.sub(" ", MONEY.sub(" ", text))
    if kind == "time":
        return [m.group(0) for pattern in (DATE, CLOCK) for m in pattern.finditer(rest)]
    if kind in ("length", "duration"):
        return [qualified(rest, m) for pattern in ((LENGTH, TEXT_LENGTH) if kind == "length" else (LENGTH,))
                for m in pattern.finditer(rest)]
    if kind == "count":
        counted = LENGTH.sub(" ", without_times(without_non_counts(rest)))
        return [qualified(counted, m) for m in COUNTED.finditer(counted)]
    if kind in MEASURES:
        return [m.group(0) for m in MEASURES[kind].finditer(rest)]
    if kind == "version":
        return [m.group(0) for m in VERSION.finditer(without_times(rest)) if "." in m.group(0)]
    if kind == "email":
        return EMAIL.findall(text)
    if kind == "phone":  # an extension or a telephone number: no amount, count, code or date
        return [m.group(0) for m in EXTENSION.finditer(text)] + [
            m.group(0) for m in PHONE.finditer(EXTENSION.sub(" ", MONEY.sub(" ", without_times(text))))
            if is_telephone_number(m.group(0))]
    return []


def qualified(text: str, match: re.Match[str]) -> str:
    """The expression ``match`` found in ``text``, with the words before it that bound it ("more than 2 consecutive
    days": a note is needed after more than 2 days, not after 2)."""
    bound = BOUND.search(text, 0, match.start())
    return text[bound.start():match.end()] if bound else match.group(0)


def sole_expression(question: str, text: str) -> str | None:
    """The one expression in ``text`` of the kind ``question`` asks for (expressions; names, for who and which app)
    that the question does not state itself, if there is exactly one: "31 March" in "Carried-over days must be taken
    by 31 March or they are lost." for "By when do I have to use holiday I carried over?"; for a question that several
    things may answer (asks_for_several), the one list of names."""
    if re.search(r"\band (?:who|what|when|where|which|how|why)\b", question.lower()):
        return None  # two questions in one ("When did it stop and who investigated?"): one phrase answers half
    kind, written, text = asks_for(question), text, " ".join(text.split())
    if asks_for_several(question) and len(lists := name_lists(text, question)) == 1:
        return lists[0]  # "Skipton, Wakefield and Darlington" for which of the clinics have free parking
    if kind == "person" and asks_about_named(question):
        return None  # another name is no answer to who the one named is
    found = set(names(text, question, people=kind == "person")) if kind in ("person", "name") else unsaid(kind, question, text)
    if len(found) > 1:
        found = labelled(question, written, found) or found
    if kind == "name" and len(found) > 1:
        found = beside_thing(question, text, found) or found
    if kind == "count" and len(found) > 1:
        found = before_counted(question, text, found) or found
    if not found and kind == "person" and CALL_WHOM.match(asking_words(question)):
        found = unsaid("phone", question, text)  # "call HopLedger support on 01 443 9020" for who to ring
    # The same thing said again in short is one answer: "the 25th of each month; if the 25th falls on a Sunday ...".
    found = {e for e in found if not any(e != other and said_within(e, other) for other in found)}
    return found.pop() if len(found) == 1 else None


def labelled(question: str, text: str, found: set[str]) -> set[str]:
    """Of the phrases ``found`` in ``text``, those in the value of a field (fields) whose label names what the question
    does, leaving out what the value says in brackets: "Anouk Meijer" of a meeting's "Minutes:   Anouk Meijer" for who
    took the minutes, not the chair; "10%" of a row's "Labour discount: 10%" for how much off labour; "1,284" of "Jobs
    completed: 1,284 (January: 1,107)"."""
    asked, written = set(content_words(question)), fields(text)
    # A record is of its date: the header of March's meeting does not say who chairs June's.
    if (asked_months := months(question)) and any(label.lower() == "date" and not asked_months & months(value)
                                                  for label, value in written):
        return set()
    # A word and its inflection name the same ("chaired" and "Chair"); a word of under four letters names nothing here.
    values = [" ".join(re.sub(r"\([^)]*\)", " ", value).split()) for label, value in written
              if any(min(len(a), len(b)) >= 4 and same_term(a, b) for b in content_words(label) for a in asked)]
    return {phrase for phrase in found if any(said_within(phrase, value) for value in values)}


def fields(text: str) -> list[tuple[str, str]]:
    """The (label, value) fields of a record in ``text``: the lines of a meeting's header ("Minutes:   Anouk Meijer", a
    value going on over indented lines) and the cells of a table row as the loaders write one ("Plan: Care Essential;
    Labour discount: 10%"). A label is a few words: "Two new engineers start next month: Lewis ..." is a sentence."""
    return [(cell[1].strip(), cell[2]) for line in re.split(r"\n(?![ \t])", text) for part in " ".join(line.split()).split("; ")
            if (cell := LABELLED_CELL.match(part)) and len(cell[1].split()) <= 4]


def months(text: str) -> set[str]:
    """The months ``text`` names, in lower case ("may" in lower case is the verb: "Who may take the minutes?")."""
    return {month.lower() for month in re.findall(rf"\b{MONTH}\b", text, re.I) if month != "may"}


def beside_thing(question: str, text: str, found: set[str]) -> set[str]:
    """Of the names ``found`` in ``text``, those written beside the kind of thing the question asks for: "R-2" of "send
    form R-2 from your CallowayLearn account" for which form to fill in."""
    if (thing := named_thing(question)) is None:
        return set()
    stem = re.escape(thing.rstrip("s"))
    return {name for name in found
            if re.search(rf"\b{stem}s?\s+{re.escape(name)}(?!\w)|(?<!\w){re.escape(name)}\s+{stem}s?\b", text, re.I)}


def before_counted(question: str, text: str, found: set[str]) -> set[str]:
    """Of the counts ``found`` in ``text``, those written before what the question counts (counts.counts_of), in a
    clause that names what the question names: "up to 50" of "print up to 50 labels in one batch" for how many labels,
    but not "6" of "Bristol wants 6 places and Leeds 4" for how many places Leeds wants."""
    if (thing := counted_thing(question)) is None:
        return set()
    before, named = set(counts_of(thing, text)), [name for name in asked_names(question) if name in text]
    return {count for count in found if (number := COUNTED.search(count)) and number[0] in before
            and all(name in clause for clause in clauses(text) if count in clause for name in named)}


def said_within(phrase: str, other: str) -> bool:
    """Whether ``other`` says ``phrase`` whole: "the 25th" in "the 25th of each month", not "5%" in "15%" nor "€15" in
    "€150"."""
    return re.search(rf"(?<![\w.,]){re.escape(phrase)}(?![.,]?\w)", other, re.I) is not None


def unsaid(kind: str | None, question: str, text: str, *, measures: bool = False) -> set[str]:
    """The expressions of ``kind`` in ``text`` that ``question`` does not say itself and that pass the check an answer
    passes too ("60 °C" is a unit, but no duration); with ``measures``, durations and lengths besides ("How much leave"
    is said in days)."""
    asked = " ".join(question.lower().split())
    found = expressions(kind, text) + (expressions("length", text) if measures else [])
    return {e for e in found if e.lower() not in asked and fits(question, e)}


def first_of_several(question: str, answer: str) -> str:
    """``answer`` cut to the number to ring (or the address) it opens with, when another one follows: the copy "203, or
    the Tandem emergency line 085 303 7799 for a complete outage" answers what Fleur Jansen's extension is with "203".
    Other kinds are left whole: a second amount or date may be the first one's condition."""
    kind = asks_for(question)
    opening = (EXTENSION.match(answer) or PHONE.match(answer)) if kind == "phone" else EMAIL.match(answer) if kind == "email" else None
    if opening is None or not expressions(kind, answer[opening.end():]):
        return answer
    return opening.group(0)
