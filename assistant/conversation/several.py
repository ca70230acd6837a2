"""A message of several questions ("What's the wifi password? Where do I park?"), answered as if they were sent one
after another: each answered alone, a later one read as a follow-up of those before it ("How long is a sabbatical and
who is eligible?" asks who is eligible for one), and one reply that gives each answer under its question."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

from ..reply import Passage, Reply, ReplyEvent, TextDelta, Usage
from ..skills.grounding import CITATION, cited_numbers
from ..skills.qa import NOT_FOUND, QUOTE_INTRO, is_declined_answer, key
from .types import Turn

# Where the answer to each question starts in a joined reply: its question in bold, then a space.
QUESTION_HEADING = re.compile(r"(?:^|\n\n)\*\*[^*\n]+\?\*\* ")

# One question's answer, given the conversation before it (the turns of the questions before it in the message included).
AnswerOne = Callable[[str, Sequence[Turn]], Iterator[ReplyEvent]]


def answered_each(questions: Sequence[str], answer_one: AnswerOne, history: Sequence[Turn], cancel: threading.Event,
                  otherwise: Callable[[], Iterator[ReplyEvent]] | None = None) -> Iterator[ReplyEvent]:
    """Each question answered in turn, its answer streamed under the question in bold, then one ``Reply`` of them all.
    When nothing in the documents is about any of them, ``otherwise()`` answers the message instead, if given (free
    text goes to chat)."""
    replies: list[Reply] = []
    before = list(history)
    streamed = False
    for question in questions:
        if cancel.is_set():
            break
        shown, reply = False, None
        for event in answer_one(question, before):
            if isinstance(event, Reply):
                reply = event
                continue
            if not shown:  # the question only once its answer starts (nothing at all when nothing is found)
                yield TextDelta(("\n\n" if streamed else "") + f"**{question}** ")
                shown = streamed = True
            yield event
        if reply is None:
            break
        replies.append(reply)
        before += [Turn(0, "", "user", question), Turn(0, "", "assistant", reply.text, "qa", tuple(reply.sources),
                                                        declined=reply.declined, quoted=reply.quoted)]
    if otherwise is not None and not streamed and all(r.text == NOT_FOUND for r in replies):
        yield from otherwise()
        return
    yield together(questions, replies)


def together(questions: Sequence[str], replies: Sequence[Reply]) -> Reply:
    """One reply of each question's: each answer after its question, the sources of all listed once, each citation
    renumbered to its passage's place there; declined or quoted only when every answer is."""
    sources: list[Passage] = []
    listed: dict[tuple[str, int, str], int] = {}  # a passage's key -> its place among the sources
    parts = []
    for question, reply in zip(questions, replies):
        places = {}
        for number, passage in enumerate(reply.sources, 1):
            if key(passage) not in listed:
                sources.append(passage)
                listed[key(passage)] = len(sources)
            places[number] = listed[key(passage)]
        parts.append(f"**{question}** {recited(reply.text, places)}")
    answered = [r for r in replies if not r.declined]
    verdicts = {r.grounded for r in answered}  # the grounding check's, when it said the same of every answer
    notices = dict.fromkeys(r.notice for r in replies if r.notice)
    timings: dict[str, float] = {}
    for reply in replies:
        for name, seconds in reply.timings.items():
            timings[name] = timings.get(name, 0.0) + seconds
    usages = [r.usage for r in replies if r.usage is not None]
    usage = Usage(sum(u.prompt_tokens for u in usages), sum(u.completion_tokens for u in usages),
                  usages[0].time_to_first_token_s, sum(u.total_s for u in usages)) if usages else None
    return Reply("\n\n".join(parts), "qa", sources=sources, declined=not answered, usage=usage,
                 grounded=verdicts.pop() if len(verdicts) == 1 else None,
                 quoted=bool(answered) and all(r.quoted for r in answered), notice=" ".join(notices),
                 error=any(r.error for r in replies), timings=timings, parts=tuple(replies))


def recited(text: str, places: dict[int, int]) -> str:
    """The text with each citation [n] pointing at ``places[n]``."""
    return CITATION.sub(lambda m: "[" + ", ".join(str(places.get(n, n)) for n in cited_numbers(m[0])) + "]", text)


def last_answer(turn: Turn) -> Turn:
    """A stored reply to a message of several questions as the reply to its last one, which a follow-up leans on ("And
    at weekends?" after "What's the wifi password? When does the office open?"): that answer's text, its citations
    numbered from 1, the passages they cite, declined or quoted as that answer was. Any other turn as it is."""
    headings = list(QUESTION_HEADING.finditer(turn.content)) if turn.skill == "qa" else []
    if len(headings) < 2 or headings[0].start() != 0:
        return turn
    text = turn.content[headings[-1].end():]
    cited = [n for n in cited_numbers(text) if 0 < n <= len(turn.sources)]
    quoted = text.startswith(QUOTE_INTRO.split("[")[0])
    return replace(turn, content=recited(text, {n: i for i, n in enumerate(cited, 1)}),
                   sources=tuple(turn.sources[n - 1] for n in cited), quoted=quoted,
                   declined=not quoted and is_declined_answer(text))
