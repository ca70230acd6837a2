"""Grounded question answering: retrieve, answer from numbered passages, cite, check support."""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence, Set
from dataclasses import replace

from ..llm.base import ChatModel, GenerationOptions
from ..reply import Reply, ReplyEvent, TextDelta
from ..retrieval.base import Passage, Retriever
from ..retrieval.rerank import Reranker, rerank
from ..retrieval.tables import row_cells
from ..text import without_loop
from .answer_kind import asks_for, kind_name, mismatch
from .completion import completed_reply
from .conditions import conditional_reply
from .counts import recounted
from .grounding import (
    cite_only,
    cited_numbers,
    cites_more_than_it_says,
    drop_unknown_citations,
    is_grounded,
    renumbered,
    restates,
    shares_a_word,
    small_talk,
    strip_citations,
    support,
    unmentioned_names,
    unstated_code,
    unstated_quantities,
)
from .names import better_described, described_person
from .phrases import first_of_several, sole_expression
from .prompts import NO_ANSWER, qa_messages, shorten_messages
from .qa_options import QAOptions
from .spans import best_span, best_span_of, by_best_sentence, copy_in, excerpt, weaker_source
from .spelling import respelled, slips
from .table_lookup import NoRow, Swap, swapped_cell, table_answer

log = logging.getLogger(__name__)

WORD = re.compile(r"[\w']+")  # a word of a question, as copied_answer compares them
# Small models open with a formula that carries no content ("The answer to the question is: 1760").
LEAD_IN = re.compile(r"^\s*(?:the )?answer(?: to (?:the|this|your) question)? is\s*:?\s*", re.I)
DECLINE_PATTERNS = re.compile(r"\bi (?:don'?t|do not) know\b|\bnot (?:mentioned|found|stated) in the (?:passages|documents)\b", re.I)
NOT_FOUND = "I couldn't find anything about this in your documents."
UNSUPPORTED = "I couldn't find an answer to this that your documents support."
QUOTE_INTRO = "The closest passage in your documents says [1]:"
SHORTENED_NOTICE = "Answered with the words of the passage that answers best."
TABLE_NOTICE = "Answered from a row of a table in your documents."
SHORT_ANSWER_TOKENS = 32  # the second reading's answer is a phrase of one sentence


def key(passage: Passage) -> tuple[str, int, str]:
    """What tells passages apart (a passage's relevance changes with each question)."""
    return passage.source, passage.chunk_id, passage.text


def is_decline(text: str) -> bool:
    return NO_ANSWER.lower() in text.lower() or bool(DECLINE_PATTERNS.search(text))


def is_declined_answer(text: str) -> bool:
    """Whether a stored QA reply said it does not know (for histories written before replies kept the flag)."""
    return text in (NOT_FOUND, UNSUPPORTED) or is_decline(text)


class QASkill:
    def __init__(self, model: ChatModel, retriever: Retriever | None, *, adapter: str | None, options: QAOptions = QAOptions(),
                 reranker: Reranker | None = None) -> None:
        self.model = model
        self.retriever = retriever
        self.adapter = adapter
        self.options = options
        self.reranker = reranker

    def reply(self, question: str, *, query: str | None = None, earlier: str | None = None,
              cited_documents: Set[str] = frozenset(), swap: Swap | None = None, cancel: threading.Event | None = None,
              otherwise: Callable[[], Iterator[ReplyEvent]] | None = None) -> Iterator[ReplyEvent]:
        """The whole answer to ``question``: passages searched for ``query`` (the question itself unless
        given, e.g. a follow-up's standalone rewrite), read, cited and checked; the text streamed as
        ``TextDelta``s, then one ``Reply``. When nothing found is about the query, ``otherwise()``
        answers instead if given (free text goes to chat); else the reply says nothing was found and
        lists the closest passages. ``earlier``: the conversation's previous questions, searched with
        this one when this one alone finds nothing that answers it; ``cited_documents``: the documents its
        previous answer cited (retrieve); ``swap``: the question is the one before with a part swapped, whose answer was a
        table's cell: the cell that part names is looked up in that table first (table_lookup.swapped_cell)."""
        started = time.perf_counter()
        if swap is not None and self.options.table_lookup and (cell := swapped_cell(swap)):
            yield Reply(f"{cell.cell} [1]", "qa", sources=[cell.row.passage], grounded=True, notice=TABLE_NOTICE,
                        timings={"generate_s": time.perf_counter() - started})
            return
        relevant, found = ([], []) if small_talk(question) else self.retrieve(query or question, cited_documents=cited_documents)
        if mended := slips(f"{question} {query or ''}", found):  # searched, scored and read as it was meant
            log.info("mended slips in %r: %s", question, mended)
            question, query = respelled(question, mended), query and respelled(query, mended)
            relevant, found = self.retrieve(query or question, cited_documents=cited_documents)
        if earlier and self.reranker is not None and not self.answers(relevant):
            # A question may lean on the one before without a word that says so ("Who was the incident
            # commander?" after the outage): search with both, but rank by the question as asked, so a
            # new topic is not answered from the old one's passages.
            with_earlier, found_with_earlier = self.retrieve(f"{question} ({earlier})", rank_by=question, cited_documents=cited_documents)
            if self.answers(with_earlier):
                log.info("searched %r with the previous questions %r", question, earlier)
                relevant, found = with_earlier, found_with_earlier
        retrieve_s = time.perf_counter() - started
        if not relevant and otherwise is not None:
            yield from otherwise()
            return
        for event in self._answer(question, relevant, found, cancel, cited_documents):
            if isinstance(event, Reply):
                event = replace(event, timings={**event.timings, "retrieve_s": retrieve_s})
            yield event

    def retrieve(self, query: str, rank_by: str | None = None,
                 cited_documents: Set[str] = frozenset()) -> tuple[list[Passage], list[Passage]]:
        """(relevant passages, all passages found): the first is empty when nothing is about the query.
        The reranker scores the passages against ``rank_by`` (default: the query). Passages found of
        ``cited_documents`` (those the conversation's previous answer cited) are read first if they answer."""
        if self.retriever is None:
            return [], []
        if self.reranker is None:
            found = self.retriever.search(query, k=self.options.k)
            return [p for p in found if self.topical(p)], found
        found = self.retriever.search(query, k=self.options.candidates)
        topical = {key(p) for p in found if self.topical(p)}
        ranked = worded(rerank(self.reranker, rank_by or query, found), query)
        if self.options.sentence_scores and not self.answers(ranked):
            ranked = worded(by_best_sentence(self.reranker, rank_by or query, ranked, self.options.sentence_scores), query)
        # Passages that answer, else those about the topic (for which `answer` then says "I don't know").
        relevant = [p for p in ranked if (p.relevance or 0.0) >= self.options.answer_score or key(p) in topical]
        # A conversation stays with its document: "How long did the rollback take?" after a question about the
        # firmware rollback is about that rollback, not the one in the deployment guide.
        relevant.sort(key=lambda p: not ((p.relevance or 0.0) >= self.options.answer_score and p.source in cited_documents))
        return relevant[: self.options.k], ranked

    def answers(self, relevant: Sequence[Passage]) -> bool:
        """The reranker found a passage that answers (relevant passages come best first)."""
        return bool(relevant) and (relevant[0].relevance or 0.0) >= self.options.answer_score

    def topical(self, passage: Passage) -> bool:
        """The retriever's own relevance (cosine) says the passage is about the question at all."""
        return passage.relevance is None or passage.relevance >= self.options.min_relevance

    def fit(self, question: str, passages: Sequence[Passage]) -> list[Passage]:
        """As many passages as fit beside the question and the answer, best first."""
        budget = self.model.context_window - self.options.answer_tokens
        kept: list[Passage] = []
        for passage in passages:
            if self.model.count_tokens(qa_messages(question, [*kept, passage])) > budget:
                break
            kept.append(passage)
        return kept

    def _answer(self, question: str, passages: Sequence[Passage], closest: Sequence[Passage],
                cancel: threading.Event | None, cited_documents: Set[str] = frozenset()) -> Iterator[ReplyEvent]:
        """The reader's answer from these passages (``closest``: what to list when it declines; ``cited_documents``: as
        for retrieve)."""
        started = time.perf_counter()
        passages = self.fit(question, passages)
        if not passages:
            yield Reply(NOT_FOUND, "qa", sources=list(closest[:3]), declined=True,
                        notice="Nothing in your documents matched; the closest passages are listed.")
            return
        if self.reranker is not None:
            if not self.answers(passages):
                log.info("no passage answers %r (best reranker score %.2f)", question, passages[0].relevance or 0.0)
                yield declined(closest, "The documents do not answer this; the closest passages are listed.")
                return
            # Only the passages that answer: every other one is a chance for a small model to copy the wrong fact.
            passages = [p for p in passages if (p.relevance or 0.0) >= self.options.answer_score]
        # Checked against every passage found of the documents read (``closest`` holds those read), not only those read:
        # a product's name is rarely repeated in each passage about it ("Harbor Console" in the price list's title, not
        # its rows). Not against other documents: "Sunday" in a claims FAQ's "not counting Sundays" does not make a price
        # list that gives Saturday's surcharge answer "What is the surcharge for a Sunday delivery?".
        read_documents = {p.source for p in passages}
        if missing := unmentioned_names(question, [p for p in closest or passages if p.source in read_documents]):
            log.info("no passage found of the documents read for %r mentions %s", question, missing)
            yield declined(closest, f"The documents that seem to answer this do not mention {' or '.join(map(repr, missing))}; "
                                    "the closest passages are listed.")
            return
        found = (table_answer(self.reranker, question, passages)
                 if self.reranker is not None and self.options.table_lookup else None)
        if isinstance(found, NoRow):
            log.info("no row of the table is for what %r asks about; the closest: %r", question, found.row.text[:200])
            yield declined(closest, "The table that answers this in your documents has no row for what you asked about; "
                                    "the closest passages are listed.")
            return
        if found:
            yield Reply(f"{found.cell} [1]", "qa", sources=[found.row.passage], grounded=True, notice=TABLE_NOTICE,
                        timings={"generate_s": time.perf_counter() - started})
            return
        whole: dict[Passage, Passage] = {}  # passage as the reader sees it -> the passage cited
        if self.reranker is not None and self.options.reader_sentences:
            # The reader sees the sentences that answer; citations and quotes still point at whole passages.
            whole = {dataclasses.replace(p, text=best_span(self.reranker, question, p, self.options.reader_sentences)[0]): p
                     for p in passages}
        answer_from = list(whole) or list(passages)
        stream = self.model.stream(
            qa_messages(question, answer_from),
            # Small models tend to carry on with a made-up next question: stop there.
            GenerationOptions(max_new_tokens=self.options.answer_tokens, stop=("\n\n\n", "\nQuestion:", "\nPassages:")),
            adapter=self.adapter,
            cancel=cancel,
        )
        text = ""
        for piece in stream:
            text += piece
            yield TextDelta(piece)
            if (cut := without_loop(text)) is not None:
                text = cut  # breaking out stops the generation
                break
        reply = self.check(question, text.strip(), answer_from, closest or passages)
        reply = replace(reply, sources=[whole.get(p, p) for p in reply.sources])
        if reply.declined:
            runner_up = max(((p.relevance or 0.0) for p in closest if key(p) != key(passages[0])), default=0.0)
            reply = self.fall_back(question, passages, cancel, runner_up, cited_documents) or reply
        if not (reply.declined or reply.quoted) and reply.sources:
            reply = self.finished(question, reply, closest or passages)
        yield replace(reply, usage=stream.usage, timings={**reply.timings, "generate_s": time.perf_counter() - started})

    def finished(self, question: str, reply: Reply, closest: Sequence[Passage]) -> Reply:
        """An answer as shown: for "who", the person the passage it cites describes as the question does (names), when
        the answer is another person's name; for "how many", the number the passage writes before what the question
        counts, when the answer is another number (counts); the one said under the condition ``question`` states
        (conditions), completed from that passage (completion); or "I don't know" when it is said only under another
        quantity, or when the passage it cites does not mention the question's names (grounding.unmentioned_names)."""
        source = reply.sources[0]
        # The documents read mention them (checked before reading), but the passage the answer comes from may be about
        # another clinic, month or version ("6.0%" for Skipton's rate in April, from Headingley's April). It is read
        # with its neighbours in the document, as a passage may lean on the one before it (release notes' "The timeout
        # is now 60 seconds." under "Dispatcha Pay timed out after 20 seconds").
        neighbours = [p for p in closest if p.source == source.source and source.chunk_id >= 0 and abs(p.chunk_id - source.chunk_id) == 1]
        context = [source, *neighbours]
        if missing := unmentioned_names(question, context):
            log.info("the passage %s that the answer %r comes from does not mention %s", source.location, reply.text, missing)
            return declined(closest, f"The passage that answer comes from does not mention {' or '.join(map(repr, missing))}; "
                                     "the closest passages are listed.")
        answer = strip_citations(reply.text).strip(" .")
        if asks_for(question) == "person" and (person := better_described(answer, question, source.text)):
            log.info("answered %r with %r, whom the passage describes as the question does, not %r", question, person, answer)
            reply = replace(reply, text=reply.text.replace(answer, person, 1))
        elif count := recounted(answer, question, source.text):
            log.info("answered %r with %r, which the passage writes before what it counts, not %r", question, count, answer)
            reply = replace(reply, text=reply.text.replace(answer, count, 1))
        text = conditional_reply(reply.text, question, source)
        if text is None:
            log.info("the answer %r is said for another quantity than the one %r states", reply.text, question)
            return declined(closest, "The documents give this only for another quantity than the one asked; "
                                     "the closest passages are listed.")
        if text != reply.text:
            log.info("answered %r under the condition it states: %r, not %r", question, text, reply.text)
            reply = replace(reply, text=text)
        if (text := completed_reply(reply.text, question, source, self.reranker)) != reply.text:
            log.info("completed the answer %r from its passage: %r", reply.text, text)
            reply = replace(reply, text=text)
        return reply

    def check(self, question: str, text: str, passages: Sequence[Passage], closest: Sequence[Passage]) -> Reply:
        """Turn the model's raw answer into a reply: citations mapped, declines, unsupported answers and answers of
        the wrong kind for ``question`` (answer_kind) said plainly."""
        text = LEAD_IN.sub("", text, count=1).strip()
        if cites_more_than_it_says(text):
            log.info("an answer of citations is no answer: %r", text[:200])
            text = ""
        if not text or is_decline(text):
            return declined(closest, "The documents do not answer this; the closest passages are listed.")
        text, grounded = supported(drop_unknown_citations(text, len(passages)), passages)
        if not grounded:
            return Reply(UNSUPPORTED, "qa", sources=list(closest[:3]), declined=True, grounded=False,
                         notice="The model's answer was not supported by the passages, so it is not shown.")
        if notice := self.withheld(question, text, passages):
            return declined(closest, notice)
        return cited_reply(text, passages)

    def withheld(self, question: str, text: str, passages: Sequence[Passage]) -> str | None:
        """Why a supported answer is still not shown (the reply's notice), or None: it is not of the kind
        ``question`` asks for, or it comes from a sentence that answers another question."""
        if unfit := mismatch(question, text):
            log.info("the answer %r to %r is %s", text[:100], question, unfit)
            return f"The model's answer was {unfit}, so it is not shown; the closest passages are listed."
        if self.reranker is not None and self.options.source_margin < 1.0:
            answer = strip_citations(text).strip(" .")
            if (gap := weaker_source(self.reranker, question, answer, passages)) is not None and gap > self.options.source_margin:
                log.info("the answer %r comes from a sentence scored %.2f below the best one for %r", answer[:100], gap, question)
                return ("The model's answer came from a part of the passages that does not answer the question, so it is not "
                        "shown; the closest passages are listed.")
        return None

    def fall_back(self, question: str, passages: Sequence[Passage], cancel: threading.Event | None,
                  runner_up: float = 0.0, cited_documents: Set[str] = frozenset()) -> Reply | None:
        """When the reader declined or was not supported, and the best of ``passages`` (those read, best first) is
        relevant enough: an answer copied from the sentence of them that answers best (with a reranker), else that
        part quoted; else None. ``runner_up``: the score of the next passage found. A conversation stays with its
        document (``cited_documents``, retrieve): when the best passage is of one, the sentence is of that document."""
        passage = passages[0]
        if passage.source in cited_documents:
            passages = [p for p in passages if p.source == passage.source]
        score = passage.relevance or 0.0
        if self.reranker is None:
            return self.quote(passage, excerpt(question, passage.text)) if score >= self.options.quote_relevance else None
        if score < self.options.answer_score:
            return None
        kind = asks_for(question)
        steps = kind == "steps"
        passage, sentence, cut_before, cut_after = span_read_again(self.reranker, question, passages)
        # A question of no known kind is not read again when the next passage scores nearly as well (`reread_margin`).
        unsure_which = kind is None and 0 < self.options.reread_margin and score - runner_up < self.options.reread_margin
        # A phrase copied from a sentence says neither yes nor no ("Sanne Kuipers and Ruud Bakker" for whether the
        # picker was warned): a yes-or-no question is not read again.
        if kind not in ("steps", "yes/no") and not unsure_which:
            # Under `reread_score` the model is not asked again, but the one phrase of the kind asked for answers
            # ("extension 4400" in "IT helpdesk: extension 4400" for what number to ring).
            answer = (self.shorten(question, kind, sentence, passage, cancel) if score >= self.options.reread_score
                      else sole_expression(question, sentence))
            if answer:
                log.info("answered %r from the best sentence of %s: %r", question, passage.location, answer)
                return Reply(f"{answer} [1]", "qa", sources=[passage], grounded=True, notice=SHORTENED_NOTICE)
        # Steps are no phrase: a copy of one of them ("sign in as admin") would pass for the whole procedure, so the
        # steps the reranker finds are quoted instead (the list whole, when they are one).
        if score < (self.options.reread_score if steps else self.options.quote_score):
            return None
        return self.quote(passage, [("… " if cut_before else "") + sentence + (" …" if cut_after else "")])

    def shorten(self, question: str, kind: str | None, sentence: str, passage: Passage,
                cancel: threading.Event | None) -> str | None:
        """The model's answer from ``sentence`` (of ``passage``) alone, if copied from it (copied_answer) and of the kind
        the question asks for (answer_kind; ``kind``: what asks_for says); else the one phrase of that kind in the
        sentence (sole_expression), or for "who" the person the passage describes as the question does
        (described_person), if there is one; else None."""
        text = self.model.generate(shorten_messages(question, sentence),
                                   GenerationOptions(max_new_tokens=SHORT_ANSWER_TOKENS, stop=("\n",)),
                                   adapter=self.adapter, cancel=cancel)
        answer = copied_answer(text, sentence, question)
        if answer is None:
            log.info("the second reading %r is not copied from the sentence %r", text[:100], sentence[:200])
        elif unfit := mismatch(question, answer):
            log.info("the second reading %r of %r is %s", answer, question, unfit)
            answer = None
        elif (first := first_of_several(question, answer)) != answer:
            log.info("cut the second reading %r to the first number to ring (address) it gives: %r", answer, first)
            answer = first
        # The small model declines or echoes the question with the date or amount asked for in front of it.
        if answer is None and (answer := sole_expression(question, sentence)) is not None:
            log.info("answered %r with the one phrase of %s in the sentence: %r", question, kind_name(question), answer)
        if answer is None and kind == "person" and (answer := described_person(question, passage.text)):
            log.info("answered %r with the person the passage describes as the question does: %r", question, answer)
        return answer

    def quote(self, passage: Passage, quoted: Sequence[str]) -> Reply:
        """A reply quoting these parts (paragraphs) of ``passage``."""
        log.info("quoting %s (relevance %.2f) instead of the model's answer", passage.location, passage.relevance or 0.0)
        body = "\n>\n".join("\n".join(f"> {line}" for line in paragraph.splitlines()) for paragraph in quoted)
        return Reply(f"{QUOTE_INTRO}\n\n{body}", "qa", sources=[passage], grounded=True, quoted=True,
                     notice="The model could not answer from the passages, so the closest one is quoted.")


def worded(ranked: Sequence[Passage], query: str) -> list[Passage]:
    """``ranked`` with each passage that shares no word with ``query`` scored 0, best first: no passage answers "hello",
    "thanks!", "🙂" or "how are you?", but out of what it learned the small cross-encoder scores most as answering
    (0.3-0.8), so a greeting in a chat with documents got "I don't know" and three passages instead of a reply."""
    scored = [p if shares else replace(p, relevance=0.0) for p, shares in zip(ranked, shares_a_word(query, ranked))]
    return sorted(scored, key=lambda p: -(p.relevance or 0.0))


def span_read_again(reranker: Reranker, question: str, passages: Sequence[Passage]) -> tuple[Passage, str, bool, bool]:
    """What the second reading reads of ``passages`` (or quotes, for steps), with the passage it is of: the span the
    reranker finds answers ``question`` best; for a question about steps, the best that tells what to do, the list whole
    (spans.best_span_of); and whether text was cut before and after it."""
    return best_span_of(reranker, question, passages, steps=asks_for(question) == "steps")


def declined(closest: Sequence[Passage], notice: str) -> Reply:
    """"I don't know", with the closest passages as sources and ``notice`` saying why."""
    return Reply(NO_ANSWER, "qa", sources=list(closest[:3]), declined=True, notice=notice)


def supported(text: str, passages: Sequence[Passage]) -> tuple[str, bool]:
    """The answer to show and whether the passages support it: the grounding check, its quantities as a passage it
    cites states them (unstated_quantities), a code some passage states. Of an unsupported answer, its supported first
    paragraph is kept."""
    grounded = is_grounded(text, passages)
    first_paragraph = text.split("\n\n", 1)[0].strip()
    if not grounded and is_grounded(first_paragraph, passages):
        # Small models follow a supported answer with invented commentary: keep the answer.
        log.info("kept the supported first paragraph of an answer, dropped %r", text[len(first_paragraph):][:200])
        text, grounded = first_paragraph, True
    # The passages it cites, even where cited_reply then cites another: "four minutes [1]" joins the number of another
    # passage to passage 1's rollback, which took four hours.
    cited = [passages[n - 1] for n in cited_numbers(text)]
    if grounded and (unstated := unstated_quantities(text, cited or passages)):
        log.info("no passage it cites states %s: %r", ", ".join(" ".join(d) for d in sorted(unstated)), text[:200])
        grounded = False
    if grounded and (invented := unstated_code(text, passages)):
        log.info("no passage states the code %s: %r", ", ".join(map(repr, invented)), text[:200])
        grounded = False
    if not grounded:
        log.info("answer failed the grounding check (support %.2f): %r", support(text, passages), text[:200])
    return text, grounded


def cited_reply(text: str, passages: Sequence[Passage]) -> Reply:
    """A supported answer as a reply whose citations point at the passages that hold it, numbered as its sources."""
    numbers = cited_numbers(text)
    supporting = max(range(len(passages)), key=lambda i: support(text, [passages[i]]))  # the first of the best
    if numbers and not is_grounded(text, [passages[n - 1] for n in numbers]) and is_grounded(text, [passages[supporting]]):
        # Small models cite a passage by its place and miscount ("20 June 2026 [3]", the date being in [1]).
        log.info("cited passage %d instead of %s, which do not support %r", supporting + 1, numbers, text[:100])
        text, numbers = cite_only(text, supporting + 1), [supporting + 1]
    if not numbers:
        return Reply(text, "qa", sources=[passages[supporting]], grounded=True, notice="Answered from your documents.")
    # Sources are listed in the order first cited, numbered from 1: the text's numbers follow the list.
    return Reply(renumbered(text, numbers), "qa", sources=[passages[n - 1] for n in numbers], grounded=True,
                 notice="Answered from your documents.")


def copied_answer(text: str, sentence: str, question: str) -> str | None:
    """The answer in ``text`` (before any bracket: small models append "[1]", "[I]" or worse), if it is a
    shorter run of words copied from ``sentence``, case and spacing aside, that says something ``question``
    does not; else None. Copied, it cannot say what the sentence does not; shorter, it is an answer and not
    the sentence again (nor a table row again, cells and their headers); and "the service boat" is no answer to
    "What was the service boat called?". Words of the question it opens with echo the question and are not part
    of the copy: "I can end up with 31 days" for "What is the most leave I can end up with?" is the copy "31 days"."""
    answer = " ".join(text.split("[", 1)[0].split()).strip(" .,;:")
    words = " ".join(sentence.split())
    if not answer or is_decline(answer):
        return None
    asked = {word.lower() for word in WORD.findall(question)}
    copied = completed_copy(words, answer)
    while copied is None and " " in answer and answer.split(" ", 1)[0].lower().strip(".,;:!?\"'") in asked:
        answer = answer.split(" ", 1)[1]
        copied = completed_copy(words, answer)
    if copied is None or len(copied.split()) >= len(words.split()) or restates(copied, question) or is_row(copied):
        return None
    return copied


def completed_copy(words: str, answer: str) -> str | None:
    """``answer`` as ``words`` write it (copy_in), its last word completed from them when it stops inside one: the
    token limit cut "… or email it-helpdesk@alder"."""
    if (copied := copy_in(words, answer)) is not None or not answer[-1:].isalnum():  # "... Language (" is cut between words
        return copied
    cut = re.search(rf"(?<!\w){re.escape(answer)}\w\S*", words, re.I)
    return cut.group(0).rstrip(".,;:") if cut else None


def is_row(text: str) -> bool:
    """Cells of a table row: "| 3 | Replace light fittings |", or "No.: 3; Action: Replace light fittings" as the HTML,
    Word and plain-text loaders write a row."""
    return "|" in text or row_cells(text) is not None
