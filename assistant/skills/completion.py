"""An answer cut short of its own fact, completed from the sentence it was copied from.

A small reader copies the right place of a passage but stops early: "2024" for "When is the next meeting?"
where the passage says "Next meeting: 8 October 2024", "€90" for what the company pays towards safety shoes
"per year", "12" for how many photos the app asks for where the passage says "12 photos", "Headingley" for which
of the clinics open on Saturdays where it says "Harrogate and Headingley also open on Saturdays", "Nadia" for who
audits the allergen matrices where it says "audited by Nadia Akhtar". The completion only widens the copy to the
date, rate, counted thing or name around it in the same sentence, so it says nothing the passage does not; of
several sentences holding the copy, the one that answers the question best decides. A date that is one end of a
range is the range ("2 January 2026" of "from 24 December 2025 to 2 January 2026", for when the depot is shut), or
its other end when the question asks for that one ("Until when are the prices valid?"). A time of day that answers
"When ...?" comes with the date it follows ("10:00" of "Next meeting: 8 October 2024, 10:00").
A bare "no" to "Do they lose access straight away?" is cut short of its reason: the sentence of the passage
that answers best follows it, so a person can check the one against the other.
"""

from __future__ import annotations

import re

from ..retrieval.base import Passage
from ..retrieval.rerank import Reranker
from .answer_kind import CLOCK, DATE, YEAR, asks_for, asks_for_several, asks_time_of_day
from .grounding import MONTH, NUMBERS, STOPWORDS, TIME_UNIT, WEEKDAY, content_words
from .names import name_lists
from .spans import LIST_ITEM, best_span, copies, is_heading, quote_units, scored_spans

# Answers longer than this are sentences, not a phrase cut short.
MOST_WORDS = 6

YEAR_ALONE = re.compile(YEAR)
DATE_PART = re.compile(rf"\b(?:{MONTH}|{YEAR})\b", re.I)  # what makes a copy part of a date: a month or a year
_QUALIFIER = r"(?:(?:up to|at (?:least|most)|about|around|over|under|more than|less than|nearly|almost|only)\s+)?"
_NUMBER = rf"(?:\d{{1,3}}(?:,\d{{3}})+|\d+(?:\.\d+)?|{'|'.join(NUMBERS)})"  # not a version ("5.1.0") nor a phone number
# An amount alone, perhaps qualified: "€90", "up to 4.50", "12", "25%", "twelve".
AMOUNT = re.compile(rf"{_QUALIFIER}(?:[€$£]\s?)?{_NUMBER}%?", re.I)
# A count alone, perhaps qualified ("12", "up to 20,000"): no money or share, which say what they count.
BARE_COUNT = re.compile(rf"{_QUALIFIER}{_NUMBER}", re.I)
PLAIN_WORD = re.compile(r"\s+([a-z][a-z-]*)\b")  # a word in lower case: no name, number or mark
NAME_OR_NUMBER = re.compile(r"\s+[A-Z0-9]")
# Words that link the thing counted to what follows it ("12 photos before the job is closed").
LINKS = frozenset("per before after during within until between from over under since across without".split())
# What a rate adds to its amount: "per kg", "per year", "a month", "an hour".
RATE = re.compile(rf"\s+(?:per\s+(?:[a-z]+\s+)?{TIME_UNIT}\b|per\s+[\w-]+|an?\s+{TIME_UNIT}\b)", re.I)
# The unit a count is in: "45 minutes", "2.5 kg".
UNIT_AFTER = re.compile(rf"\s+(?:{TIME_UNIT}|kg|g|km|m|cm|mm|l|ml|kwh|kw|gb|mb|tb|mph|°c|percent|euros?|pounds?|dollars?)\b", re.I)
COUNTED_WORDS = 3  # a count is completed with the thing counted up to this many words after it ("10 working days")
SHORT_REPLY = re.compile(r"([^\[\]\n]+?)(\s*\[1\]\.?)?")  # an answer, and its one citation if any
YES_OR_NO = re.compile(r"\s*(yes|no)\W*", re.I)
FIRST_NAME = re.compile(r"[A-Z][a-z'-]+")
SURNAME = re.compile(r"(?:\s+[A-Z][a-z'-]+)+")  # the capitalised words right after a first name
# What joins the two dates of a range: "from 1 January 2024 to 31 December 2024", "24 December – 2 January"; "and" only
# after "between" (RANGE_OPENING).
RANGE_JOIN = re.compile(r"\s*(?:to|until|till|through|[-–—])\s*|\s+and\s+", re.I)
RANGE_OPENING = re.compile(r"\bbetween\s+$", re.I)
# Two dates of a change, not a range: "The launch moved from 3 March to 10 March".
CHANGED_FROM = re.compile(r"\b(?:moved|changed|postponed|delayed|pushed back|put back|brought forward|rescheduled|shifted|"
                          r"deferred|extended|slipped|pulled forward)\s+(?:[\w-]+\s+)?from\s+$", re.I)
# What joins a date to the time of day after it: "8 October 2024, 10:00", "Tuesday 14 May at 10:00".
DATE_TO_TIME = re.compile(r",?\s*(?:at\s+)?")
WEEKDAY_BEFORE = re.compile(rf"\b{WEEKDAY},?\s+$", re.I)
# A question for a range's end ("Until when are the prices valid?", "When does the offer finish?") or its start.
ASKS_END = re.compile(r"\b(?:until|till|by) when\b|\b(?:end|ends|ended|finish|finishes|finished|expire|expires|expired|"
                      r"last day|deadline|valid until|run out|runs out)\b", re.I)
ASKS_START = re.compile(r"\b(?:from|since) when\b|\b(?:start|starts|started|begin|begins|began|commence|commences|"
                        r"kick off|kicks off|first day|valid from)\b", re.I)


def completed(answer: str, question: str, passage: Passage, reranker: Reranker | None = None) -> str:
    """``answer`` widened to the date, rate or counted thing around it in the sentence of ``passage`` (the one it
    was copied from) that answers ``question`` best of those holding it: by the reranker's score when there is
    one, else by the question's words it shares. Unchanged when that sentence holds it complete, or when the best
    sentences would complete it differently."""
    wanted = " ".join(answer.split()).strip(" .,;:")
    if not wanted or len(wanted.split()) > MOST_WORDS:
        return answer
    asked = set(content_words(question))
    several = asks_for_several(question)
    kind = asks_for(question)
    person = kind == "person"
    range_end = range_end_asked(question)
    # A question for when something is (or its deadline, or which day) is answered only in part by a time of day ("10:00"
    # of "Next meeting: 8 October 2024, 10:00"); not one for what time it is (asks_time_of_day), nor one whose "when" opens
    # a clause ("What do I do when the alarm sounds?").
    when = kind == "time" and not asks_time_of_day(question)
    # Each sentence holding the copy, with the ways it widens it there (None: it is complete there).
    holding: list[tuple[int, str]] = []
    widenings: list[set[str | None]] = []
    for number, unit in quote_units(passage.text)[2]:
        unit = " ".join(unit.split())
        if not is_heading(unit) and (found := copies(unit, wanted)):  # a heading is not scored (scored_spans)
            holding.append((number, unit))
            lists = name_lists(unit, question) if several else []
            widenings.append({_widened(unit, match.start(), match.end(), asked, lists, person, range_end, when) for match in found})
    if not any(wider for ways in widenings for wider in ways):
        return answer  # nothing to complete: the reranker is not asked
    if reranker is not None:
        scores = [span.score for span in scored_spans(reranker, question, holding, passage.title, most=1)]
    else:
        scores = [float(len(asked & set(content_words(unit)))) for _, unit in holding]
    widened = set().union(*(ways for ways, score in zip(widenings, scores) if score == max(scores)))
    wider = widened.pop() if len(widened) == 1 else None
    return answer.replace(wanted, wider, 1) if wider else answer


def range_end_asked(question: str) -> str | None:
    """Which end of a range ``question`` asks for: "end" ("Until when are the prices valid?"), "start" ("From when
    ...?"), or None (both, or neither: the whole range)."""
    wants_end, wants_start = bool(ASKS_END.search(question)), bool(ASKS_START.search(question))
    return None if wants_end == wants_start else "end" if wants_end else "start"


def _in_range(unit: str, dates: list[re.Match[str]], at: int, range_end: str | None) -> str | None:
    """The range of ``dates`` (those of ``unit``) that the one ``at`` is an end of, as the question asks for it
    (``range_end``: range_end_asked): its other end when the question asks for that one ("31 December 2024", for "Until
    when are the prices valid?", of "from 1 January 2024 to 31 December 2024"), else the whole range ("24 December 2025
    to 2 January 2026" for when the depot is shut over Christmas). None when the date is no end of a range, or is the
    end asked for."""
    for first, last in ((at - 1, at), (at, at + 1)):
        if first < 0 or last >= len(dates):
            continue
        join = RANGE_JOIN.fullmatch(unit, dates[first].end(), dates[last].start())
        opening = RANGE_OPENING.search(unit, 0, dates[first].start())
        if join is None or (join.group().strip() == "and" and not opening) or CHANGED_FROM.search(unit, 0, dates[first].start()):
            continue
        if range_end is None:  # "between 1 June and 31 August", not "1 June and 31 August"
            return unit[opening.start() if opening else dates[first].start():dates[last].end()]
        wanted = last if range_end == "end" else first
        return None if wanted == at else dates[wanted].group()
    return None


def _widened(unit: str, start: int, end: int, asked: set[str], lists: list[str], person: bool = False,
             range_end: str | None = None, when: bool = False) -> str | None:
    """The copy unit[start:end] widened to the date holding it, or to the range of dates that date is one end of as the
    question asks for it (``range_end``; _in_range), or to the list of names (``lists``: those of the unit) holding it,
    or, for who (``person``), a first name to the whole name, or with its amount's rate, or its count's unit or counted
    thing, or, for when (``when``), a time of day to the date before it; None when it is complete as it is."""
    copy = unit[start:end]
    if when and CLOCK.match(copy) and (dated := _date_before(unit, start)) is not None:
        return unit[dated:end]  # "8 October 2024, 10:00", not "10:00"
    if person and FIRST_NAME.fullmatch(copy) and (surname := SURNAME.match(unit, end)):
        return unit[start:surname.end()]  # "Nadia Akhtar", not "Nadia"
    for listed in lists:
        at = unit.find(listed)
        if at <= start and end <= at + len(listed) and len(copy) < len(listed):
            return listed
    if DATE_PART.search(copy):
        dates = list(DATE.finditer(unit))
        for i, date in enumerate(dates):
            if date.start() <= start and end <= date.end():
                if ranged := _in_range(unit, dates, i, range_end):
                    return ranged
                if (date.start(), date.end()) != (start, end):
                    return unit[date.start():date.end()]
    if not AMOUNT.fullmatch(copy) or YEAR_ALONE.fullmatch(copy):
        return None
    if BARE_COUNT.fullmatch(copy):
        if measure := UNIT_AFTER.match(unit, end):
            end = measure.end()
        else:
            end = _counted_thing(unit, end, asked)
    while rate := RATE.match(unit, end):  # "€5 per user per month"
        end = rate.end()
    return unit[start:end] if end > start + len(copy) else None


def _date_before(unit: str, start: int) -> int | None:
    """Where the date that the time of day at ``start`` is on begins ("Tuesday 8 October 2024, 10:00": its weekday), when
    the time follows the date straight ("," or "at" between); None when it does not."""
    for date in DATE.finditer(unit, 0, start):
        if DATE_TO_TIME.fullmatch(unit, date.end(), start):
            weekday = WEEKDAY_BEFORE.search(unit, 0, date.start())
            return weekday.start() if weekday else date.start()
    return None


def _counted_thing(unit: str, end: int, asked: set[str]) -> int:
    """Where the thing counted ends, for a count ending at ``end``: the plain words right after it, up to the last
    one the question asks about ("10 working days", "14 driver vacancies"); ``end`` when there is none."""
    thing_end = position = end
    for _ in range(COUNTED_WORDS):
        word = PLAIN_WORD.match(unit, position)
        if word is None or word.group(1) in STOPWORDS or word.group(1) in LINKS:
            break
        if thing_end > end and word.group(1).endswith(("ed", "ing")):
            break  # a verb after the thing counted, though the question asks with it ("40,000 people died")
        position = word.end()
        # A plural after the word asked about is the thing counted ("10 export jobs" for "How many exports ...?").
        if set(content_words(word.group(1))) & asked or (thing_end > end and word.group(1).endswith("s")):
            thing_end = position
            if word.group(1).endswith("s"):
                break  # the plural ends the noun: "25 bodies", not "25 bodies exhumed"
    # A name or a number right after is part of the thing ("five wrong PIN entries"): not cut there.
    return end if NAME_OR_NUMBER.match(unit, thing_end) else thing_end


def completed_reply(text: str, question: str, source: Passage, reranker: Reranker | None = None) -> str:
    """A reply's answer ("2024 [1]", or with no citation) completed from ``source``, the passage it cites first;
    a reply of more than the answer and its one citation is left as it is."""
    found = SHORT_REPLY.fullmatch(text.strip())
    if found is None:
        return text
    if (yes_or_no := YES_OR_NO.fullmatch(found.group(1))) and reranker is not None and asks_for(question) == "yes/no":
        return with_reason(yes_or_no.group(1), question, source, reranker) or text
    answer = completed(found.group(1), question, source, reranker)
    return text if answer == found.group(1) else answer + (found.group(2) or "")


def with_reason(yes_or_no: str, question: str, source: Passage, reranker: Reranker) -> str | None:
    """"No. Claim amounts may not be deducted from invoices [1]." for a bare "no": the answer followed by the
    sentence of ``source`` that the reranker finds answers ``question`` best (with the one before, when it opens by
    pointing back); None when that is no sentence of prose (a table, a list). A sentence over several lines of a
    hard-wrapped paragraph is one."""
    sentence, _, _ = best_span(reranker, question, source, most=1, self_contained=True)
    lines = [line.strip() for line in sentence.strip().splitlines()]
    if "|" in lines[0] or any(line.startswith("|") or LIST_ITEM.match(line) for line in lines[1:]):
        return None
    sentence = LIST_ITEM.sub("", " ".join(lines), count=1)  # "4. If the measurements ...": the item, not its number
    return f"{yes_or_no.capitalize()}. {sentence.rstrip('.')} [1]."
