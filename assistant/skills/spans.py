"""The sentences of a passage as the QA skill weighs them: units (a sentence, a bulleted item, a table row),
runs of them scored by the reranker, the best one for a question, and excerpts for quotes."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..retrieval.base import Passage
from ..retrieval.rerank import Reranker, under_heading
from ..text import paragraphs, sentences
from .grounding import content_words

log = logging.getLogger(__name__)

QUOTE_WORDS = 70  # enough for a step or a definition, short enough to read at a glance
SECOND_UNIT = 0.05  # how much better a span must score with a second sentence (or row) than without it
# A table this short is quoted whole: its rows explain each other, and the row the reranker likes best
# is not always the one asked about (asked how to add documents, it picked the table's sync row).
WHOLE_TABLE_ROWS = 6

# What opens a list item: its number ("1.", "2)") or its bullet.
ITEM_NUMBER = r"\d{1,3}[.)]"
BULLET_MARK = r"[-*•]"
# A list quoted for a question about steps is the procedure, up to this many words (longer: the best span alone).
LIST_WORDS = 150
LIST_ITEM = re.compile(rf"^\s*(?:{ITEM_NUMBER}|{BULLET_MARK})\s")

# Verbs the steps of a procedure open with ("Open Reports, then click Export.", "1. Log in and choose Open day."): what a
# span must tell, for a question about how to do something, when a span of the passage does.
INSTRUCTION_VERBS = frozenset("""
    add allow apply approve archive ask assign attach book bring call cancel carry change charge check choose clean clear
    click close collect complete configure confirm connect contact continue copy count create delete deliver dial disable
    disconnect double-click download drag drive drop edit email empty enable enter escalate export fax file fill find finish
    fit follow forward get give go hand hang hold inform install keep label leave let lift load lock log lodge make mark
    measure message move navigate note notify open order pay phone photograph pick place plug post power press print pull
    push put raise read reboot record refresh refund register reject reload remove rename reopen repair replace reply report
    request reserve reset restart return review right-click rinse ring run save scan schedule scroll search select send set
    share show sign stack start stay stop store submit swipe switch sync take tap tell test text tick top turn type unload
    unlock unplug update upgrade upload use verify visit wait wash wear weigh wipe wrap write""".split())
# A sentence's first word after a list item's number or bullet and words that order steps ("Then", "First,"); not a
# label ("Note: ...").
FIRST_WORD = re.compile(rf"^\s*(?:(?:{ITEM_NUMBER}|{BULLET_MARK})\s+)?(?:(?:first|then|next|finally|please|now|also),?\s+)*"
                        r"([\w-]+)(?![\w-]|:)", re.I)
# A sentence that opens by pointing back says little without the one before it ("That is why every migration ...").
POINTS_BACK = re.compile(r"^(?:that|this|these|those|it|they|so|therefore|thus|hence)\b", re.I)
# A sentence that ends in a list item's number ("Steps:\n1.") or is only one or two words says nothing alone.
FRAGMENT = re.compile(rf"(?:^|\s){ITEM_NUMBER}$|^\S+(?:\s+\S+)?$")
# Each bulleted item is a unit of its own ("- " does not start a sentence, so a list would be one long sentence).
BULLET = re.compile(rf"\n(?=[ \t]*{BULLET_MARK}[ \t])")


def list_items(block: str) -> list[str]:
    """The block cut before each bulleted item; a heading that introduces the list ("What we changed") stays with
    the first item, as a heading stays with the sentence under it."""
    items = BULLET.split(block)
    if len(items) > 1 and not items[0].rstrip().endswith((".", "!", "?")):
        items[:2] = [f"{items[0]}\n{items[1]}"]
    return items


def quote_units(text: str) -> tuple[list[str], set[int], list[tuple[int, str]]]:
    """(paragraphs, which of them are tables, (paragraph number, sentence or table row) for every unit a quote is made of).

    A bulleted item is a unit however it ends. A fragment (FRAGMENT) is joined to the sentence after it, so
    that a quote of a numbered step is the step ("1. Open the IT portal ..."), not "1." alone."""
    blocks = paragraphs(text)
    tables = {number for number, block in enumerate(blocks) if all(line.lstrip().startswith("|") for line in block.splitlines())}
    units: list[tuple[int, str]] = []
    for number, block in enumerate(blocks):
        pending = ""
        for unit in block.splitlines() if number in tables else [s for item in list_items(block) for s in sentences(item)]:
            unit = f"{pending} {unit}" if pending else unit
            pending = unit if number not in tables and FRAGMENT.search(unit) else ""
            if not pending:
                units.append((number, unit))
        if pending:
            units.append((number, pending))
    return blocks, tables, units


@dataclass(frozen=True)
class Span:
    """A run of consecutive units (quote_units) of one paragraph, units[start:end], with the reranker's score."""

    start: int
    end: int
    text: str  # the units joined, without the passage's heading
    score: float


def is_heading(unit: str) -> bool:
    """A heading written in capitals in the text ("2. WAKEFIELD AUTOCLAVE", "QUARTERLY OPERATIONS MEETING - Q2 2024"),
    as plain text writes them: it names what the sentences after it are about, and answers nothing itself. Not a table
    row, a bulleted item ("- NO LIFTS IN A FIRE") nor a sentence shouted ("DO NOT ENTER.")."""
    return (unit.isupper() and not unit.rstrip().endswith((".", "!", "?"))
            and re.match(rf"\s*(?:\||{BULLET_MARK}\s)", unit) is None)


def scored_spans(reranker: Reranker, question: str, units: Sequence[tuple[int, str]], title: str | None,
                 most: int = 2) -> list[Span]:
    """Every run of 1 to `most` consecutive units within a paragraph, scored by the reranker under the passage's heading;
    not a run of headings alone (is_heading): a heading shares the question's words ("When's the next production
    meeting?" and "NEXT MEETING") more than the sentence that answers does."""
    bounds = [(start, end) for start in range(len(units)) for end in range(start + 1, min(start + most, len(units)) + 1)
              if units[start][0] == units[end - 1][0] and not all(is_heading(unit) for _, unit in units[start:end])]
    texts = [" ".join(unit for _, unit in units[start:end]) for start, end in bounds]
    scores = reranker.score(question, [under_heading(title, text) for text in texts])
    return [Span(start, end, text, score) for (start, end), text, score in zip(bounds, texts, scores)]


def is_list(block: str) -> bool:
    """Two items or more ("1. Open ...", "- Tick ..."), after an introducing line at most; a line that is no item
    goes on the one before (indented, or in lower case: a wrapped item)."""
    lines = block.splitlines()
    first = next((i for i, line in enumerate(lines) if LIST_ITEM.match(line)), len(lines))
    items = [line for line in lines[first:] if LIST_ITEM.match(line)]
    wrapped = [line for line in lines[first:] if not LIST_ITEM.match(line)]
    return first <= 1 and len(items) >= 2 and all(line[:1].isspace() or line.lstrip()[:1].islower() for line in wrapped)


def is_instruction(text: str) -> bool:
    """Whether a sentence (or line) of ``text`` tells what to do: it opens with one of INSTRUCTION_VERBS."""
    return any((first := FIRST_WORD.match(sentence)) and first[1].lower() in INSTRUCTION_VERBS
               for line in text.splitlines() for sentence in sentences(line))


def best_span(reranker: Reranker, question: str, passage: Passage, most: int = 2,
              steps: bool = False, self_contained: bool = False) -> tuple[str, bool, bool]:
    """The span of ``passage`` best_span_of finds."""
    return best_span_of(reranker, question, [passage], most, steps, self_contained)[1:]


def best_span_of(reranker: Reranker, question: str, passages: Sequence[Passage], most: int = 2,
                 steps: bool = False, self_contained: bool = False) -> tuple[Passage, str, bool, bool]:
    """The passage, and its one sentence (or table row, with the table's header; or a short table whole), or run of up
    to `most` consecutive ones in a paragraph, that the reranker finds answers the question best; and whether text was
    cut before and after it. With ``steps`` (the question asks how to do something), the best span that tells what to do
    (is_instruction), when one does: the reranker likes a sentence that shares the question's words ("PDF reports
    include ..." for how to get a PDF) as much as the step that answers ("Open Reports, ..., then click Export."); and a
    span in a list is the list whole (if short): a step of a procedure ("1. Open StaffHub") is no answer to how to do
    it. With ``self_contained``, a span that opens by pointing back ("That is why ...") comes with the sentence before it
    in its paragraph.

    Of several ``passages``, the span is the best of them all, and comes with the passage it is of: the passage that
    scores best as a whole may hold no sentence that answers ("Allowances are paid as a percentage of your basic hourly
    wage", of the shift policy, for what day of the month salary comes in), and the one that does be in the next ("Salary
    is paid on the 25th of each month.")."""
    cut = [(passage, *quote_units(passage.text)) for passage in passages]
    spans = [(n, span) for n, (passage, _, _, units) in enumerate(cut) for span in scored_spans(reranker, question, units, passage.title, most)]
    if not spans:
        return passages[0], passages[0].text.strip(), False, False
    if steps:
        spans = [(n, span) for n, span in spans if is_instruction(span.text)] or spans
    # The shorter span unless the longer one scores clearly better: a second sentence must earn its place; of spans
    # scoring alike, the one of the passage ranked first.
    n, best = max(spans, key=lambda found: (found[1].score - SECOND_UNIT * (found[1].end - found[1].start), -found[0]))
    passage, blocks, tables, units = cut[n]
    start, end = best.start, best.end
    number = units[start][0]
    if number in tables:
        rows = blocks[number].splitlines()
        if len(rows) - 2 <= WHOLE_TABLE_ROWS:
            return passage, blocks[number], False, False
        return passage, "\n".join([*rows[:2], *(unit for _, unit in units[start:end] if unit not in rows[:2])]), False, False
    if steps and is_list(blocks[number]) and len(blocks[number].split()) <= LIST_WORDS:
        return passage, blocks[number], False, False
    if self_contained and start > 0 and units[start - 1][0] == number and POINTS_BACK.match(units[start][1]):
        start -= 1
    cut_before = start > 0 and units[start - 1][0] == number
    return passage, " ".join(unit for _, unit in units[start:end]), cut_before, end < len(units)


def weaker_source(reranker: Reranker, question: str, answer: str, passages: Sequence[Passage]) -> float | None:
    """How much lower the reranker scores the best span of ``passages`` that holds ``answer`` word for word than
    their best span of all; None when no span holds it (a paraphrase: nothing to compare)."""
    def holds(text: str) -> bool:
        return copy_in(" ".join(text.split()), wanted) is not None

    wanted = " ".join(answer.split())
    best = holding = None
    for passage in passages:
        units = quote_units(passage.text)[2]
        spans = scored_spans(reranker, question, units, passage.title)
        alone = {span.start: span.score for span in spans if span.end - span.start == 1}  # a heading alone is not scored
        for span in spans:
            best = span.score if best is None else max(best, span.score)
            # A sentence may lean on the one before it ("Claims must be made within 30 days" after the credits it
            # means): the two are read together, and count if they score clearly better than the one before alone
            # (else that one is what answers). Not on the one after, which may be what answers instead.
            if span.end - span.start > 1 and (holds(units[span.start][1]) or span.score - SECOND_UNIT <= alone.get(span.start, 0.0)):
                continue
            if holds(span.text):
                holding = span.score if holding is None else max(holding, span.score)
    return None if best is None or holding is None else best - holding


def by_best_sentence(reranker: Reranker, question: str, ranked: Sequence[Passage], first: int) -> list[Passage]:
    """``ranked`` (reranked, best first) ranked again with each of the ``first`` passages scored as the best of
    itself and its sentences (quote_units, under the passage's heading)."""
    rescored = []
    for passage in ranked[:first]:
        spans = scored_spans(reranker, question, quote_units(passage.text)[2], passage.title, most=1)
        best = max((span.score for span in spans), default=0.0)
        if best > (passage.relevance or 0.0):
            log.info("%s scores %.2f by its best sentence (%.2f whole)", passage.location, best, passage.relevance or 0.0)
            passage = replace(passage, relevance=best)
        rescored.append(passage)
    return sorted([*rescored, *ranked[first:]], key=lambda p: -(p.relevance or 0.0))


def excerpt(question: str, text: str, words: int = QUOTE_WORDS) -> list[str]:
    """About `words` words of `text`, as paragraphs, from the sentence (or table row) sharing most words with the question."""
    wanted = set(content_words(question))
    blocks, tables, units = quote_units(text)
    if not units:
        return [text.strip()]
    # The earliest of the best units: passages tend to lead with their point.
    start = max(range(len(units)), key=lambda i: (len(wanted & set(content_words(units[i][1]))), -i))
    kept: dict[int, list[str]] = {}
    count, end = 0, start  # end: the first unit not quoted
    for number, unit in units[start:]:
        length = len(unit.split())
        if kept and count + length > words:
            break
        kept.setdefault(number, []).append(unit)
        count, end = count + length, end + 1
    first_table = units[start][0] if units[start][0] in tables else None
    if first_table is not None:  # a table quoted from the middle keeps its header row
        header = blocks[first_table].splitlines()[:2]
        kept[first_table] = [*header, *(row for row in kept[first_table] if row not in header)]
    quoted = ["\n".join(part) if number in tables else " ".join(" ".join(part).split()) for number, part in kept.items()]
    if first_table is None and start > 0 and units[start - 1][0] == units[start][0]:
        quoted[0] = "… " + quoted[0]
    if end < len(units) and list(kept)[-1] not in tables:
        quoted[-1] += " …"
    return quoted


def copies(words: str, answer: str) -> list[re.Match[str]]:
    """Where ``words`` hold ``answer`` as a run of whole words, case aside ("day" is not in "today", nor "15" in
    "150"); none for an empty answer."""
    return list(re.finditer(rf"(?<!\w){re.escape(answer)}(?!\w)", words, re.I)) if answer else []


def copy_in(words: str, answer: str) -> str | None:
    """``answer`` as ``words`` write it (the document's case), if it is a run of whole words of it (copies)."""
    found = copies(words, answer)
    return found[0].group(0) if found else None
