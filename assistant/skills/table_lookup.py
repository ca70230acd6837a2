"""Answers looked up in a table: the row the question names, the cell its kind and its words point at.

A small reader picks the wrong cell of a table it reads whole ("€71", the price per pallet, for a full truckload to
the Ruhr area; "15 minutes", the emergency slot's length, for a hygiene visit's) or declines before one. A lookup
does not: when the unit of the passages read that the reranker finds answers best is a table row, the row is taken
among the passage's rows whose cells share most words and numbers with the question (ties go to the row whose
name states a band holding the quantity the question states, conditions.py, then to the one whose name says least
besides, then to the reranker), and the cell is the one of the kind asked for ("how much": money or a share), of a
person's name ("who"), or under the column whose header shares most words with the question ("Full truckload
(FTL)" for "a full truckload"). When no cell is plainly the one, or the row's name states another band than the
question's, there is no lookup and the reader answers as before. When a sentence answers best, a cell the asking
sentence names by its row and its column is still looked up (addressed_cell): the reranker reads a row as a sentence,
and "96.2% of P1 and P2 tickets met their response target." scores above the row of P2 tickets' response times.

Rows come as Markdown writes them ("| Bristol | 25 March |" under a header row) or as the HTML, Word and
plain-text loaders do ("Site: Bristol; Go-live date: 25 March", retrieval.tables and retrieval.text_tables).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..retrieval.base import Passage
from ..retrieval.rerank import Reranker, under_heading
from ..retrieval.tables import labelled, row_cells
from .answer_kind import DIMENSIONS, asks_day, asks_for, fits, mismatch
from .asking import asking_sentence
from .conditions import Band, band_match, bands, says_only
from .grounding import NUMBERS, ORDINALS, STOPWORDS, content_words, restates, same_term, strip_citations
from .names import is_person
from .phrases import expressions
from .spans import quote_units

log = logging.getLogger(__name__)

SEPARATOR = re.compile(r"^\|?\s*:?-{2,}")  # the line under a Markdown table's header
CHECKED_KINDS = ("count", "amount", "share", "length", "duration", "time", "phone", "version", *DIMENSIONS)
ROW_NUMBER = re.compile(r"no\.?|nr\.?|#", re.I)  # a column that numbers the rows: no cell of it answers anything


@dataclass(frozen=True)
class Row:
    """One row of a table in a passage: (header, cell) for each cell ("" when the table has no header row)."""

    passage: Passage
    cells: tuple[tuple[str, str], ...]

    @property
    def text(self) -> str:
        return labelled(self.cells)


@dataclass(frozen=True)
class TableAnswer:
    cell: str
    row: Row


@dataclass(frozen=True)
class Swap:
    """A follow-up that asks the question before it with one part swapped ("And for the ceremony itself?" after how many
    the Orangery holds for an evening reception): that part, the question before (made to stand alone), the answer it
    got and the passage that answer cited."""

    part: str
    question: str
    answer: str
    source: Passage


@dataclass(frozen=True)
class NoRow:
    """The table row that answers best is for another quantity than the one the question states (its name's band
    misses it), or for another thing of the kind the question names (names_another): the documents hold a table for
    it, without the row asked for."""

    row: Row


def units(passage: Passage) -> list[str | Row]:
    """The passage's sentences (as quote_units cuts them) and table rows, in order; a table's header and separator
    lines are no row."""
    blocks, tables, found = quote_units(passage.text)
    out: list[str | Row] = []
    for number, unit in found:
        if number in tables:
            lines = blocks[number].splitlines()
            headed = len(lines) > 2 and bool(SEPARATOR.match(lines[1].strip()))
            if SEPARATOR.match(unit.strip()) or (headed and unit == lines[0]):
                continue
            cells = split_row(unit)
            header = split_row(lines[0]) if headed else []
            pairs = zip(header, cells) if len(header) == len(cells) else (("", cell) for cell in cells)
            out.append(Row(passage, tuple((name, cell) for name, cell in pairs if cell)))
        elif all(labelled := [row_cells(line) for line in unit.splitlines()]):
            # One row a line (a Word table is one block), or one row.
            out.extend(Row(passage, tuple(cells)) for cells in labelled if cells)
        else:
            out.append(unit)
    return out


def split_row(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


# A number standing alone or with its unit ("8%", "2026-27"), not part of a name or a version ("SEV1", "4.2" whole).
STANDALONE_NUMBER = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)*(?![.,]?\w)")


NAME_WORD = re.compile(r"[^\W\d_][\w'-]*")  # a word of a row's name, not a number
BRACKETED = re.compile(r"\([^)]*\)")
# Words before a noun that say how much or which of them, not what kind ("much leave", "the next period", "the oldest
# Firefox" for the row "Mozilla Firefox").
NOT_KINDS = frozenset("much many more most less least few enough next last first previous other same "
                      "oldest newest latest earliest cheapest dearest biggest largest smallest highest lowest".split())
# An ordinal in digits, as a row's name writes it in words ("3rd year" is the row "Third year").
ORDINAL = re.compile(r"\b([1-9])(?:st|nd|rd|th)\b", re.I)
# "Billed annually" is "for the year" ("monthly" already begins with "month").
SAME_AS_YEAR = frozenset({"annual", "annum"})


# A time of day, on a 12-hour clock ("1pm", "1:30 p.m.") or a 24-hour one ("13:00").
TIME_OF_DAY = re.compile(r"\b(\d{1,2})(?:[:.](\d\d))?\s?([ap])\.?m\b\.?|\b(\d{1,2}):(\d\d)\b", re.I)


# An hour alone after a word that bounds a time ("until 6?", "by 11"): a time of day, on either half of the clock.
BARE_HOUR = re.compile(r"\b(?:until|till|by|before|after|from|at)\s+(1[0-2]|[1-9])(?=\s*(?:$|[?!.,;)]|o'?clock\b))", re.I)


def clock(time: re.Match[str]) -> str:
    """A time of day as the 24-hour clock writes it: "1pm" is "13:00", "12:30 am" "00:30"."""
    if time[3]:
        return f"{int(time[1]) % 12 + (12 if time[3].lower() == 'p' else 0):02d}:{time[2] or '00'}"
    return f"{int(time[4]):02d}:{time[5]}"


def terms(text: str) -> list[str]:
    """What a question and a row are matched on: content words, numbers as digits ("two-bedroom" holds "2"), and times
    of day as the 24-hour clock writes them ("until 1pm" names the row "Until 13:00", "until 6" the row "Until 18:00"
    as well as "Until 06:00")."""
    times = [clock(time) for time in TIME_OF_DAY.finditer(text)]
    times += [f"{int(hour) + half:02d}:00" for hour in BARE_HOUR.findall(text) for half in ((0, 12) if hour != "12" else (0,))]
    text = TIME_OF_DAY.sub(" ", text)
    words = ["year" if word in SAME_AS_YEAR else word for word in content_words(text)]
    return words + STANDALONE_NUMBER.findall(text) + [NUMBERS[word] for word in words if word in NUMBERS] + times


def shared(question_terms: Sequence[str], text: str) -> int:
    """How many of the question's terms ``text`` holds."""
    found = terms(text)
    return sum(any(same_term(a, b) for b in found) for a in set(question_terms))


def unasked(question_terms: Sequence[str], row: Row) -> int | None:
    """How many terms of the row's name (its first cell) the question does not hold, None when it holds none: of
    "Monthly price" and "Price per month, billed annually", the first is the row "How much is the Pro plan a month?"
    names."""
    name = set(terms(row.cells[0][1])) if row.cells else set()
    missing = sum(not any(same_term(a, b) for b in question_terms) for a in name)
    return missing if missing < len(name) else None


def table_answer(reranker: Reranker, question: str, passages: Sequence[Passage]) -> TableAnswer | NoRow | None:
    """The cell of a table row among ``passages`` that answers ``question``, when the reranker finds a table row
    answers best and one cell of the row the question names is plainly the one asked for; NoRow when that row is for
    another quantity than the one the question states. When a sentence answers best, the cell the question names by
    its row and its column (addressed_cell). Else None (the reader answers)."""
    if asks_for(question) == "yes/no":
        return None  # no cell says yes or no: the reader answers
    found = [(passage, unit) for passage in passages for unit in units(passage)]
    if not any(isinstance(unit, Row) for _, unit in found):
        return None
    scores = reranker.score(question, [under_heading(p.title, text_of(u)) for p, u in found])
    best_passage, best = found[max(range(len(found)), key=scores.__getitem__)]
    if not isinstance(best, Row):
        scored_rows = [(unit, score) for (_, unit), score in zip(found, scores) if isinstance(unit, Row)]
        scored_sentences = [(unit, score) for (_, unit), score in zip(found, scores) if not isinstance(unit, Row)]
        return addressed_cell(question, scored_rows, scored_sentences)
    asked = terms(question)
    rows = [(unit, score, shared(asked, " ".join(cell for _, cell in unit.cells)))
            for (passage, unit), score in zip(found, scores) if passage is best_passage and isinstance(unit, Row)]
    most = max(named for _, _, named in rows)
    if most == 0:  # no row names what the question asks about: the reranker's liking is not enough
        return None
    # Of the rows naming as much, the one whose name's band holds the quantity the question states ("Over 2 years" for
    # "more than two years"); then one the question names by its name (first cell) over one whose other cells hold its
    # words ("Ottawa, 214 Bank Street" over Halifax's "closed" for when the Ottawa centre closes); then, when the question
    # names each by its name, the one whose name says least besides; then the reranker's choice.
    tied = [(row, score) for row, score, named in rows if named == most]
    stated = bands(question)
    extra = [unasked(asked, row) for row, _ in tied]
    closeness = [0 if n is None or None in extra else -n for n in extra]
    _, row = max((((band_rank(stated, row), n is not None, close, score), row)
                  for (row, score), n, close in zip(tied, extra, closeness)), key=lambda ranked: ranked[0])
    if for_another(question, row, stated):
        return NoRow(row)
    if (column := answer_column(question, row)) is None:
        return None
    cell = row.cells[column][1]
    log.info("looked %r up in the table row %r: %r", question, row.text[:200], cell)
    return TableAnswer(cell, row)


def addressed_cell(question: str, rows: Sequence[tuple[Row, float]],
                   sentences: Sequence[tuple[str, float]]) -> TableAnswer | None:
    """The cell of the one row of ``rows`` (with the reranker's scores) whose name (first cell) the question states,
    under the column whose header it names: "4 hours" under "Essentials" in the row "P2 – High" for the response time
    of a P2 ticket on Essentials, though the reranker scores "96.2% of P1 and P2 tickets met their response target."
    higher. A person looks a cell up by its row and its column; the reranker reads a row as a sentence, however low it
    scores it ("Day: Saturday; ... Galway: 09:00–13:00" scores 0.29 for when the Galway clinic closes on a Saturday, the
    Sunday row 0.66 for its "closed"). None when no row or several are named, when the cell is not chosen by its header
    (answer_column), when the row is for another thing or quantity (table_answer), or when one of ``sentences`` (with
    their scores) that scores higher names the same row and column: it is about that cell, and may say what changed
    ("costs €950 from 1 July")."""
    # The asking sentence names the cell: a situation before it tells who asks ("I'm not a member. What do I pay ...?").
    asked = terms(asking_sentence(question))
    named = [(row, score) for row, score in rows if row.cells and shared(asked, row.cells[0][1])]
    if len(named) != 1:
        return None
    row, score = named[0]
    if for_another(question, row, bands(question)):
        return None
    if (column := answer_column(question, row)) is None:
        return None
    header, cell = row.cells[column]
    if not shared(asked, header):
        return None
    address = [term for term in asked if any(same_term(term, word) for word in terms(f"{row.cells[0][1]} {header}"))]
    if any(shared(address, text) == len(set(address)) for text, higher in sentences if higher > score):
        return None
    log.info("looked %r up in the table row %r by its name and the column %r: %r", question, row.text[:200], header, cell)
    return TableAnswer(cell, row)


def swapped_cell(swap: Swap) -> TableAnswer | None:
    """The cell a follow-up that swaps one part of the question before it asks for, when that question was answered by
    one cell of a table in the passage it cited: the same row's cell under the column the part names ("100" under
    "Ceremony" in the Orangery's row, for "And for the ceremony itself?" after 120 under "Evening reception"), or the same
    column's cell in the row the part names ("Below 25 ppm" in the carbon monoxide row, for "And carbon monoxide?" after
    the oxygen row's safe level). A person reads the same table again; the reranker, reading the follow-up alone, may
    score the table under the gate. None when the answer is not the one cell of the table that the question before asks
    for (answer_row), when the part names no other column or row, or several, or when the cell is not of the kind the
    question before asks for (the follow-up asks the same with one part swapped)."""
    table = table_rows(swap.source)
    if (answered := answer_row(swap.question, swap.answer, table)) is None:
        return None
    row, column = answered
    rows = [unit for unit in table if len(unit.cells) > column]
    # "one" stands for the thing itself: "And the large one?" names the row "Large service".
    part = [term for term in terms(re.sub(r"\bones?\b", " ", swap.part, flags=re.I)) if term not in STOPWORDS]
    columns = [(named(part, name), cell, row) for i, (name, cell) in enumerate(row.cells) if i not in (0, column)]
    others = [(named(part, other.cells[0][1]), other.cells[column][1], other) for other in rows if other is not row]
    best = max((n for n, _, _ in columns + others), default=(False, 0))
    chosen = [(cell, chosen_row) for n, cell, chosen_row in columns + others if n == best]
    if best[1] == 0 or len(chosen) != 1 or not (cell := chosen[0][0]) or mismatch(swap.question, cell):
        return None
    log.info("looked %r swapped into %r up in the table that answered it: %r in %r", swap.part, swap.question, cell,
             chosen[0][1].text[:200])
    return TableAnswer(cell, chosen[0][1])


def table_rows(passage: Passage) -> list[Row]:
    """The table rows of ``passage`` (units), in order."""
    return [unit for unit in units(passage) if isinstance(unit, Row)]


def answer_row(question: str, answer: str, rows: Sequence[Row]) -> tuple[Row, int] | None:
    """The one row of ``rows`` (a passage's table rows: table_rows) with a cell besides its name that says ``answer``
    (its citations aside), and where in the row that cell is, when it is the cell ``question`` asks for in that row
    (answer_column): the answer is what looking the question up in the row gives. A reader's answer that only equals a cell may be another
    column's ("$219", the call-out fee, for the hourly rate on a weekday evening), and what follows it would be read
    there too. None when no row has such a cell, or several."""
    said = " ".join(strip_citations(answer).split()).strip(" .").lower()
    found = [(row, i) for row in rows for i, (_, cell) in enumerate(row.cells)
             if i > 0 and " ".join(cell.split()).lower() == said]
    if len(found) != 1 or answer_column(question, found[0][0]) != found[0][1]:
        return None
    return found[0]


def named(part: Sequence[str], name: str) -> tuple[bool, int]:
    """How plainly the swapped-in ``part`` (its terms) names a column's header or a row's name: whether it holds all the
    name's words, and how many, when it holds them all or the name holds each of the part's ("carbon monoxide" names
    "Carbon monoxide (CO)"); else (False, 0). "standard" names the row "Standard" more plainly than "Standard Plus"."""
    words = [term for term in terms(name) if term not in STOPWORDS]
    held = [any(same_term(word, term) for term in part) for word in words]
    if not words or not part or not (all(held) or all(any(same_term(term, word) for word in words) for term in part)):
        return False, 0
    return all(held), sum(held)


def for_another(question: str, row: Row, stated: list[Band]) -> bool:
    """Whether the row is for another quantity than the one the question states (``stated``, its bands: the row's name's
    band misses it, "90 x 230 mm" for the 135 x 280 mm pouches) or for another thing of the kind it names ("Paternity
    leave" for adoption leave, "Week 35" for week 37)."""
    return (bool(stated) and band_rank(stated, row) == 0) or names_another(question, row) or numbered_another(question, row)


def names_another(question: str, row: Row) -> bool:
    """Whether the row's name (first cell) is another thing of the kind the question names: "Paternity leave" for
    adoption leave, "Premium plan" for the Standard plan. The question holds the name's last word after a word the name
    lacks (not a number: "three years" is a band, for conditions.py; nor "much" or "next"), and none of the name's other
    words (a bracket's too: "Critical vulnerabilities (CVSS 9.0 or higher)" is the row for a CVSS 9.5 vulnerability). The
    name's last word outside brackets is its kind: "Children's bike (20" or 24")" is a kind of bike."""
    first = row.cells[0][1].lower() if row.cells else ""
    name, every = NAME_WORD.findall(BRACKETED.sub("", first)), NAME_WORD.findall(first)
    asked = NAME_WORD.findall(ORDINAL.sub(lambda n: ORDINALS[int(n[1]) - 1], question.lower()))
    if len(name) < 2 or any(word in asked for word in every if word != name[-1]):
        return False
    kind = content_words(name[-1])
    return bool(kind) and any(content_words(word) == kind and content_words(before) and before not in NOT_KINDS
                              and before.split("-")[0] not in NUMBERS for before, word in zip(asked, asked[1:]))


# A thing named by a word and its number ("Week 35", "Room 12", "Bay 4"); in a row's name, not a quantity ("Over 2
# years", "Orders 10 pallets or more").
NUMBERED = re.compile(r"\b([^\W\d_]{2,})\s+(\d+)\b(?![.,]?\d)")
NUMBERED_NAME = re.compile(NUMBERED.pattern + r"(?!\s*(?:%|[^\W\d_]))")


def numbered_another(question: str, row: Row) -> bool:
    """Whether the row's name (first cell) is another thing of those the question numbers: "Week 35" for week 37."""
    if not row.cells:
        return False
    # A time of day numbers nothing: "until 3 pm" is no "Until" numbered 3.
    asked = {(word.lower(), number) for word, number in NUMBERED.findall(TIME_OF_DAY.sub(" ", question))}
    numbered = {word for word, _ in asked}
    return any(word.lower() in numbered and word.lower() not in STOPWORDS and (word.lower(), number) not in asked
               for word, number in NUMBERED_NAME.findall(TIME_OF_DAY.sub(" ", row.cells[0][1])))


def band_rank(stated: list[Band], row: Row) -> int:
    """Rows whose name (first cell) states a band holding the one stated first, then those overlapping it, those
    stating none, those missing it. Not the other cells: "Settlement period | 4 weeks" is no band of four-week periods.
    A bare number is of the unit its column names ("3" under "Day" is day 3)."""
    if not stated:
        return 0
    return {2: 3, 1: 2, None: 1, 0: 0}[band_match(stated, row_name(row)) if row.cells else None]


BARE_NUMBER = re.compile(r"[\d.,]+(?:\s*[-–]\s*[\d.,]+)?\+?")


def row_name(row: Row) -> str:
    """The row's first cell, with its column's header after it when the cell is a bare number ("3 Day")."""
    header, cell = row.cells[0]
    return f"{cell} {header}" if header and BARE_NUMBER.fullmatch(cell.strip()) else cell


def text_of(unit: str | Row) -> str:
    return unit.text if isinstance(unit, Row) else unit


def answer_column(question: str, row: Row) -> int | None:
    """Where in ``row`` the one cell is that the question does not state and that is of the kind it asks for (or a
    person's name, for "who"); of several, the one under the header sharing most words with the question; else None.
    A place, not a header: a table without a header row has "" over every column."""
    asked, stated = " ".join(question.lower().split()), bands(question)
    kind = asks_for(question)
    # Not what the question says, in its words or in others ("4 weeks" for "the next four-week period"), nor a cell that
    # says nothing more than it ("On-call, Saturday or Sunday" names the row asked about, under "Allowance").
    cells = [(i, name, cell) for i, (name, cell) in enumerate(row.cells)
             if cell.lower() not in asked and not says_only(cell, stated) and not ROW_NUMBER.fullmatch(name.strip())
             and not (content_words(cell) and restates(cell, question))]
    if kind in CHECKED_KINDS:
        # A count is any number, a phone number any digits (fits); the others say themselves in a cell ("30 minutes").
        # "How much" is said in any unit too ("20 days at full pay" for how much sick pay): then the header decides.
        # A day is said by its name too ("Wednesday"), which no expression of a time finds.
        fitting = [(i, name, cell) for i, name, cell in cells if fits(question, cell)]
        said_whole = kind in ("count", "phone") or asks_day(question)
        cells = [(i, name, cell) for i, name, cell in fitting if said_whole or expressions(kind, cell)] or (
            fitting if kind == "amount" else [])
    elif kind == "person":
        cells = [(i, name, cell) for i, name, cell in cells if is_person(cell)]
    if len(cells) == 1:
        return cells[0][0]
    # Columns of bands ("Starting rate | After 12 months | After 24 months"): the one holding the quantity the question
    # states ("just over a year"); of several ("three years" is after 12 and after 24 months), the one starting latest.
    fit = [(band_match(stated, name) or 0, max((b.low for b in bands(name)), default=0.0)) for _, name, _ in cells] if stated else []
    if fit and max(fit)[0] > 0 and fit.count(max(fit)) == 1:
        return cells[fit.index(max(fit))][0]
    # The question's words that another cell naming the row holds name the row, not this column: "failing for some
    # customers" (its Example cell) does not point at "Update customers every" for how quickly to acknowledge a page;
    # "Category B" may hold the "category" asked for under "Category". A cell names the row when it is the row's name
    # or holds two of the question's words: the "deposit" of "€75 plus the deposit" (the charge for a lost keg) still
    # points at the "Deposit" column.
    question_terms = terms(question)
    naming = [j for j, (_, other) in enumerate(row.cells) if j == 0 or shared(question_terms, other) >= 2]

    def naming_column(i: int) -> list[str]:
        elsewhere = [term for j in naming if j != i for term in terms(row.cells[j][1])]
        return [word for word in question_terms if not any(same_term(word, term) for term in elsewhere)]

    matches = [shared(naming_column(i), name) for i, name, _ in cells]
    if not matches or max(matches) == 0 or matches.count(max(matches)) > 1:
        return None
    return cells[matches.index(max(matches))][0]
