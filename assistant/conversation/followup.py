"""Rewriting a follow-up question ("and how tall is it?") into one that stands alone, for retrieval."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..llm.base import BASE, ChatModel, GenerationOptions, Message
from ..skills.asking import plain_question, questions_in
from ..skills.grounding import WEEKDAY
from ..skills.table_lookup import Swap
from .commands import parse
from .references import (
    CLAUSE,
    DETERMINERS,
    PREPOSITIONS,
    SAME_WORD,
    Exchange,
    answered_person,
    demonstrative,
    determiner_before,
    is_name,
    last_index,
    refers_back,
    refers_to_person,
    resolve,
    split_words,
)
from .several import last_answer
from .types import Turn

log = logging.getLogger(__name__)

CONDITION_WORD = r"(?:if|once|unless|whenever|while)"
# An elided part is a noun phrase: "And how long did it last?" is a new question, "And if I'm not working?" a
# condition, not a part to swap in.
NOT_A_PART = re.compile(
    r"^(?:how|what|when|where|who|whom|whose|why|which|is|are|was|were|do|does|did|can|could|will|would|should|has|have|had|it|its|they|their|that|this|then|"
    rf"{CONDITION_WORD}|i|we|you)\b",  # "i" holds "I'm"
    re.I,
)
NAMED = re.compile(r"(?:^|\s)(?!I\b|I')[A-Z0-9]")  # a name or a number ("Sweden", "the HB-3"), not "the price" or "I"
_PREPOSITION = "|".join(sorted(PREPOSITIONS))
# "And on the gateway?", "What about Sweden?": the previous question with one part swapped. "What about the same thing
# at Greystone Park?" is "And at Greystone Park?".
ELLIPSIS = re.compile(
    rf"^\s*(?:and|(?:and )?(?:what|how) about)\s+(?:(?:the\s+)?same(?:\s+(?:thing|one|again))?\s+(?=(?:{_PREPOSITION})\s))?"
    rf"(?:({_PREPOSITION})\s+)?(?P<part>[^?]+?)\s*\??\s*$", re.I
)
# "And if it reports every minute?", "What if I live on Skye?": the previous question under another condition.
# A condition and nothing else: "If the block has a door entry system, how much is added?" is a question of its own.
CONDITION_FOLLOWUP = re.compile(rf"^\s*(?:and|but|so|(?:and |but )?what)?\s*(?P<condition>{CONDITION_WORD}\b[^?,]+?)\s*\??\s*$", re.I)
LEADING_CONDITION = re.compile(rf"^\s*{CONDITION_WORD}\b[^,?]*,\s*", re.I)  # "If the handheld breaks, what number ...?"
TRAILING_CONDITION = re.compile(rf"\s+{CONDITION_WORD}\b[^,?]*$", re.I)  # "How long will it last if I set it to 5 minutes?"
VALUE_PREPOSITIONS = PREPOSITIONS - {"of", "to"}  # a condition restating a phrase after one of these replaces it
COUNTED = {"a", "an", "one"}  # "a night", "one pallet": one thing of a kind, which a follow-up may swap for another
# "the next one", "the other one" point at another thing, not at the same kind described otherwise
ORDINAL = {"other", "next", "same", "last", "previous", "first", "second", "third", "former", "latter"}
# A word for a day or days of the week, or a holiday: "Sunday", "weekends", "(a bank) holiday", "Christmas"; and in a
# follow-up, "(during the) week" ("per week" in a question is no day).
DAY_WORD = rf"{WEEKDAY}|holidays?|christmas|easter"
DAY = re.compile(rf"^(?:{DAY_WORD})$", re.I)
DAY_ASKED = re.compile(rf"^(?:{DAY_WORD}|week)$", re.I)
ROLE_LABEL = re.compile(r"^(user|assistant|question|conversation)\s*:", re.I)
# Models whose rewrites are no use: asked to rewrite the 58 follow-ups of the training companies that no rule makes stand
# alone, the embedded SmolLM2-135M answered the conversation or repeated its transcript every time, and none was used
# (bench/README.md, forty-seventh session), for half a second before the first words of each. Such a follow-up is
# searched with the question before it at once. Any other model (a larger one, a served one) is asked.
NO_REWRITE = frozenset({"smollm2-135m"})
PROMPT = (
    "Rewrite the last question so that it can be understood without the conversation. "
    "Replace words like 'it' or 'they' with what they refer to. Reply with the rewritten question only."
)


def looks_like_followup(question: str, history: Sequence[Turn]) -> bool:
    """A short question, one with a word that points back, or a condition and nothing else ("What if I'm a student?")."""
    return bool(history) and (len(question.split()) <= 3 or refers_back(question) or bool(CONDITION_FOLLOWUP.match(question)))


def previous_questions(history: Sequence[Turn], most: int = 2) -> list[str]:
    """The conversation's last questions, latest first (an /ask without its command), back to the
    last message that was another command."""
    questions: list[str] = []
    for turn in reversed(history):
        if turn.role != "user":
            continue
        request = parse(turn.content)
        if request.command not in ("", "ask") or len(questions) == most:
            break
        questions.append(asked_last(request.text))
    return questions


def asked_last(message: str) -> str:
    """The last question a message asks (of several, the one a follow-up leans on), as plain_question reads it."""
    return questions_in(plain_question(message))[-1]


def cited_documents(history: Sequence[Turn]) -> frozenset[str]:
    """The documents the conversation's last reply cited, if it answered from them (a decline's sources
    are only the closest passages, and another command's reply changed the subject)."""
    last = last_answer(history[-1]) if history else None
    if last is None or last.role != "assistant" or last.skill != "qa" or last.declined:
        return frozenset()
    return frozenset(p.source for p in last.sources)


def last_exchange(history: Sequence[Turn]) -> Exchange | None:
    """The conversation's last question and its answer, the question made to stand alone by rule (each question of
    the conversation completed or resolved against the one before it); None after another command."""
    exchange: Exchange | None = None
    for i, turn in enumerate(history):
        if turn.role != "user":
            continue
        request = parse(turn.content)
        if request.command not in ("", "ask"):
            exchange = None
            continue
        reply = last_answer(history[i + 1]) if i + 1 < len(history) and history[i + 1].role == "assistant" else None
        answered = reply is not None and reply.skill == "qa" and not (reply.declined or reply.quoted)
        asked = asked_last(request.text)
        question, thing = by_rule(asked, exchange) or (asked, None)
        source = reply.sources[0] if reply is not None and answered and reply.sources else None
        answer = reply.content if reply is not None and answered else None
        carried = exchange.person if exchange is not None and refers_to_person(asked) else None
        exchange = Exchange(question, answer, thing, source, answered_person(question, answer) or carried)
    return exchange


def by_rule(question: str, before: Exchange | None) -> tuple[str, str | None] | None:
    """``question`` made to stand alone without a model (and what its "it" stood for), or None."""
    if before is None:
        return None
    if completed := complete_condition(question, before.question) or complete_ellipsis(question, before.question):
        return completed, before.thing
    if resolved := resolve(question, before):
        return resolved
    return (standalone, before.thing) if (standalone := demonstrative(question, before)) else None


def swap_of(question: str, before: Exchange | None) -> Swap | None:
    """The follow-up as the question before it with one part swapped in ("And carbon monoxide?", "And if I'm a
    member?"), with the answer that question got and the passage it cited; None when it is not of that form, or the
    question before was not answered from a passage."""
    if before is None or before.answer is None or before.source is None:
        return None
    condition = CONDITION_FOLLOWUP.match(question)
    part = condition["condition"] if condition else ellipsis_part(question)
    return Swap(part, before.question, before.answer, before.source) if part else None


def ellipsis_part(question: str) -> str | None:
    """The part a follow-up of the form "And on the gateway?" or "What about Sweden?" swaps in ("the gateway"), when it
    is one: not a question of its own ("And how long did it last?") nor more than six words."""
    match = ELLIPSIS.match(question)
    if not match or NOT_A_PART.match(match["part"]) or len(match["part"].split()) > 6:
        return None
    return str(match["part"]).strip()


def complete_condition(question: str, previous: str) -> str | None:
    """The previous question under the follow-up's condition ("How much annual leave does a full-timer get?" + "And
    once they've been here five years?" -> "How much annual leave does a full-timer get once they've been here five
    years?"), in place of its own condition if it states one; None when the follow-up is no bare condition."""
    match = CONDITION_FOLLOWUP.match(question)
    if not match or not previous:
        return None
    condition, asked = match["condition"].strip(), previous.strip().rstrip(" ?")
    if LEADING_CONDITION.match(asked):
        rest = LEADING_CONDITION.sub("", asked, count=1)
        return f"{rest[:1].upper()}{rest[1:]} {condition}?"
    if not TRAILING_CONDITION.search(asked) and (restated := swap_restated(condition, asked)):
        return restated
    return f"{TRAILING_CONDITION.sub('', asked)} {condition}?"


def swap_restated(condition: str, asked: str) -> str | None:
    """The question ``asked`` with the value its phrase after a preposition names swapped for the one the condition's
    phrase after the same preposition names ("What's the charge for late check-out until 1pm?" + "if they want to stay
    on until 6" -> "What's the charge for late check-out until 6?"): a condition that restates a phrase of the question
    replaces it, where one put after it would leave both ("until 1pm ... until 6"). None when they share no such
    preposition, or more than one, or the question has it twice, or one names a number and the other none."""
    words, lowered = split_words(asked)
    said, said_lowered = split_words(condition)
    ours, theirs = valued_phrases(words, lowered), valued_phrases(said, said_lowered)
    common = [p for p in ours if p in theirs]
    if len(common) != 1 or len(ours[common[0]]) != 1 or len(theirs[common[0]]) != 1:
        return None
    (start, end), (their_start, their_end) = ours[common[0]][0], theirs[common[0]][0]
    if has_digit(words[start:end]) != has_digit(said[their_start:their_end]):
        return None  # a time for a place: "at 6pm" states when, not instead of "at the Zwolle branch"
    return " ".join([*words[:start], *said[their_start:their_end], *words[end:]]) + "?"


def has_digit(words: Sequence[str]) -> bool:
    return any(c.isdigit() for word in words for c in word)


def valued_phrases(words: Sequence[str], lowered: Sequence[str]) -> dict[str, list[tuple[int, int]]]:
    """Where each phrase after a preposition that names a value (a number, a time, a name: "until 1pm", "in Norway")
    is, by its preposition: (start, end), from the preposition to the next preposition or clause. Not "of" or "to",
    which join words more than they state a value ("cost to park")."""
    found: dict[str, list[tuple[int, int]]] = {}
    for at, word in enumerate(lowered[:-1]):
        if word in VALUE_PREPOSITIONS and lowered[at + 1] not in PREPOSITIONS | CLAUSE:
            end = phrase_end(lowered, at)
            if NAMED.search(" ".join(words[at + 1 : end])):
                found.setdefault(word, []).append((at, end))
    return found


def complete_ellipsis(question: str, previous: str) -> str | None:
    """The previous question with the follow-up's part swapped in ("How long is the warranty on the buoy?" +
    "And on the gateway?" -> "How long is the warranty on the gateway?"), or None when the follow-up is not
    of that form or the swap has no clear place. No model is asked: a small one repeats the transcript."""
    match = ELLIPSIS.match(question)
    if not match or not previous or (part := ellipsis_part(question)) is None:
        return None
    preposition = SAME_WORD.get(low := (match.group(1) or "").lower(), low)
    words, lowered = split_words(previous)
    head = part.split()[-1].lower()
    runs = name_runs(words)
    name = part.split(" ", 1)[1] if part.split()[0].lower() in DETERMINERS and " " in part else part
    after = before_name(lowered, runs[0][0], bare=name == part) if len(runs) == 1 else ()
    if head not in ("one", "ones") and any(DAY_ASKED.match(w) for w in part.split()) and (day := day_phrase(lowered)) is not None:
        # "And at the weekend?" after "What time do you open on weekdays?": the day for the day
        start, end, attributive = day
        said = day_words(part, attributive)
        swapped = [*words[:start], *(said if attributive else [preposition or words[start], *said]), *words[end:]]
    elif len(runs) == 1 and all(is_name(w) for w in name.split()) and preposition in ("", *after):
        # "What about Business?" after "How much is the Pro plan a month?": the one name the question has is swapped
        # ("And before 10:00?" after "Which bus leaves after 09:00?" does not swap "after 09:00" for it)
        start, end = runs[0]
        swapped = [*words[:start], name, *words[end:]]
    elif head in ("one", "ones"):  # "And the large one?" after "...a small service?"
        if (described := one_described(part, words, lowered)) is None:
            return None
        start, end, body = described
        swapped = [*words[:start], *body, *words[end:]]
    elif head in lowered[1:]:  # "And the Pro plan?" after "...the Basic plan cost?": swap the phrase ending in "plan"
        end = last_index(lowered, head)
        swapped = [*words[: phrase_start(lowered, end)], part, *words[end + 1 :]]
    elif (phrase := like_phrase(part, preposition, lowered)) is not None:
        start, end = phrase
        swapped = [*words[:start], *([preposition] if preposition else []), part, *words[end:]]
    else:  # "And in Sweden?" after "...per night in Norway?": swap what follows the last such preposition
        wanted = (preposition,) if preposition else PREPOSITIONS
        at = max((i for i, w in enumerate(lowered[:-1]) if w in wanted and i > 0), default=None)
        if at is not None and (preposition or NAMED.search(part)):
            # What follows the swapped phrase stays: "And at Greystone Park?" after "...at Millbrook if I pay yearly?"
            swapped = [*words[: at + 1], part, *words[phrase_end(lowered, at) :]]
        elif preposition:  # "And for part-time staff?" after "How many days of leave do I get?"
            swapped = [*words, preposition, part]
        else:  # "And the price?" after "...warranty on the buoy?" asks another thing, not about another buoy
            return None
    return " ".join(swapped) + "?"


def day_phrase(lowered: Sequence[str]) -> tuple[int, int, bool] | None:
    """Where the one day (or days, or holiday) the previous question (its words, lower-cased) names is: from its
    preposition ("on a Sunday", "at weekends"), or the day alone when it describes a thing ("a Sunday shift"), to its
    end; and whether it describes a thing. None when it names no day or more than one."""
    days = [i for i, word in enumerate(lowered) if DAY.match(word) and i > 0]
    if len(days) != 1:
        return None
    start = next((i for i in range(days[0] - 1, max(days[0] - 4, 0), -1) if lowered[i] in PREPOSITIONS), None)
    if start is not None and all(w in DETERMINERS or w in ("bank", "public") for w in lowered[start + 1 : days[0]]):
        return start, phrase_end(lowered, start), False  # "on a weekday evening" whole
    return days[0] - (lowered[days[0] - 1] in ("bank", "public")), days[0] + 1, True


def day_words(part: str, attributive: bool) -> list[str]:
    """The words of a follow-up's day without its preposition ("at the weekend": "the weekend"); for a day that describes
    a thing, without its determiner too and in the singular ("on Saturdays" for "a Sunday shift": "a Saturday shift")."""
    words = part.split()
    if words[0].lower() in PREPOSITIONS:
        words = words[1:]
    if not attributive:
        return words
    return [re.sub(r"(day)s$", r"\1", word) for word in words if word.lower() not in DETERMINERS]


def phrase_start(lowered: Sequence[str], end: int) -> int:
    """Where the phrase ending at ``end`` starts: at its determiner ("the Basic plan"), else after the preposition before
    it ("low season" of "in low season"), four words back at most; else at ``end`` itself."""
    if (determiner := determiner_before(lowered, end)) is not None:
        return determiner
    return next((i + 1 for i in range(end - 1, max(end - 5, 0), -1) if lowered[i] in PREPOSITIONS), end)


def phrase_end(lowered: Sequence[str], at: int) -> int:
    """Where the phrase whose first word is at ``at``, and that has one word more at least, ends: at its next
    preposition or clause."""
    return next((i for i in range(at + 2, len(lowered)) if lowered[i] in PREPOSITIONS | CLAUSE), len(lowered))


def like_phrase(part: str, preposition: str, lowered: Sequence[str]) -> tuple[int, int] | None:
    """Where the previous question (its words, lower-cased) has the phrase that ``part`` stands in for (start, end),
    the end at its next preposition or clause, or None: with ``preposition``, the one phrase after it that shares a
    word with ``part`` ("in the blast freezer" for "And in the normal freezer rooms?", not "in one go"); without, the
    one phrase opening with "a", "an" or "one" when ``part`` opens with one of them ("a new patient exam" for "And a
    hygiene visit?", "one pallet" for "And a full truckload?"), or the one opening with "the" when ``part`` is a named
    thing ("the medium van" for "And the Luton?"; "And the price?" names no phrase of "...the warranty on the
    buoy?")."""
    words = set(part.lower().split()) - DETERMINERS
    if preposition:
        starts = [at for at, word in enumerate(lowered[:-1])
                  if word == preposition and at > 0 and words & set(lowered[at + 1 : phrase_end(lowered, at)])]
    elif part.split()[0].lower() in COUNTED:
        counted = [at for at, word in enumerate(lowered[:-1]) if at > 0 and word in COUNTED]
        # One after a preposition first: "for a cat" in "How much is a dog's annual booster for a cat?"
        after_preposition = [at for at in counted if lowered[at - 1] in PREPOSITIONS]
        starts = after_preposition if len(after_preposition) == 1 else counted
    elif part.split()[0].lower() == "the" and NAMED.search(part):
        # A named thing for the one thing the question names with "the": "the Luton" for "the medium van" of "How much is
        # the medium van for a full day?"; not "the price", which is no such thing
        starts = [at for at, word in enumerate(lowered[:-1]) if at > 0 and word == "the"]
    else:
        return None
    return (starts[0], phrase_end(lowered, starts[0])) if len(starts) == 1 else None


def one_described(part: str, previous: Sequence[str], lowered: Sequence[str]) -> tuple[int, int, list[str]] | None:
    """For ``part`` that describes a thing of the previous question by "one" ("the 50 litre one", "the large one"):
    where that thing's phrase is in the previous question (its words, and ``lowered``) past its determiner (start, end),
    and its words described so ("50 litre keg" for "a 30 litre keg", "large service" for "a small service"); None when
    ``part`` is no such description, or the previous question has no one phrase for it (two, and none shares a word
    with the description, or more than one with words to swap). "ones" stands for a plural, "one" for a singular."""
    words = part.split()
    described = [w for w in words[:-1] if w.lower() not in DETERMINERS]
    if len(words) < 2 or words[-1].lower() not in ("one", "ones") or not described or {w.lower() for w in described} & ORDINAL:
        return None
    plural = words[-1].lower() == "ones"
    phrases = [(at + 1, phrase_end(lowered, at)) for at, word in enumerate(lowered[:-1]) if at > 0 and word in DETERMINERS | COUNTED]
    phrases = [(start, end) for start, end in phrases if lowered[end - 1].endswith("s") == plural]
    shared = [(start, end) for start, end in phrases if {w.lower() for w in described} & set(lowered[start:end])]
    chosen = shared or phrases
    if len(chosen) > 1:  # "the Pro plan", not "a year", for "the Business one": a description swaps words
        chosen = [(start, end) for start, end in chosen if end - start > len(described)]
    if len(chosen) != 1:
        return None
    start, end = chosen[0]
    body = list(previous[start:end])
    return start, end, [*described, *body[min(len(described), len(body) - 1) :]]  # the thing's own word stays


def before_name(lowered: Sequence[str], start: int, bare: bool) -> tuple[str, ...]:
    """The word before a name at ``start``; for a ``bare`` name (a follow-up's, with no determiner of its own), the one
    before its determiner too: a bare name may stand for one after a determiner ("And on Fleet?" after "...on the
    ColdTrack Standard plan?")."""
    if bare and start > 1 and lowered[start - 1] in DETERMINERS:
        return lowered[start - 1], lowered[start - 2]
    return (lowered[start - 1],)


def name_runs(words: Sequence[str]) -> list[tuple[int, int]]:
    """Where the names of a question are (start, end), past its first word: "Pro" in "How much is the Pro plan?"."""
    runs: list[tuple[int, int]] = []
    for i, word in enumerate(words):
        if i == 0 or not is_name(word):
            continue
        if runs and runs[-1][1] == i:
            runs[-1] = (runs[-1][0], i + 1)
        else:
            runs.append((i, i + 1))
    return runs


@dataclass(frozen=True)
class Standalone:
    """A question made to stand alone: what to search for, and what the reader is asked."""

    query: str
    question: str
    swap: Swap | None = None  # a follow-up that swaps one part of the question before it, and what answered that one


def model_rewrite(model: ChatModel, question: str, history: Sequence[Turn], previous: str) -> str | None:
    """The model's rewrite of the follow-up ``question`` (``previous``: the question before it), if it is plausibly one:
    a question when the follow-up is one, not much longer, neither a transcript's line nor either question again."""
    recent = list(history)[-4:]
    transcript = "\n".join(f"{t.role.capitalize()}: {t.content[:400]}" for t in recent)
    messages: list[Message] = [{"role": "user", "content": f"{PROMPT}\n\nConversation:\n{transcript}\n\nLast question: {question}"}]
    try:
        candidate = model.generate(messages, GenerationOptions(max_new_tokens=48, stop=("\n",)), adapter=BASE).strip()
    except Exception:  # a failed rewrite must never fail the answer
        log.warning("follow-up rewrite failed", exc_info=True)
        return None
    candidate = candidate.removeprefix("Rewritten question:").strip().strip('"')
    plausible = (3 <= len(candidate) <= 3 * len(question) + 80 and candidate.endswith("?") == question.endswith("?")
                 and not ROLE_LABEL.match(candidate))  # "User: <the previous question>" is the transcript, not a rewrite
    return candidate if plausible and candidate.lower() not in (question.lower(), previous.lower()) else None


def rewrite(model: ChatModel, question: str, history: Sequence[Turn]) -> Standalone:
    """The follow-up made to stand alone by rule, else the model's rewrite (not asked of a model in NO_REWRITE), for both
    search and reader. When there is none, search looks for the question joined with the previous one (so the passages
    are about the same thing), but the reader gets the question as asked: given the previous question too, a small model
    answers that one again ("Who led the investigation?" "Priya Raman" "What caused it?" "Priya Raman")."""
    if not looks_like_followup(question, history):
        return Standalone(question, question)
    exchange = last_exchange(history)
    swap = swap_of(question, exchange)
    if ruled := by_rule(question, exchange):
        log.debug("made %r stand alone as %r", question, ruled[0])
        return Standalone(ruled[0], ruled[0], swap)
    previous = next(iter(previous_questions(history, 1)), "")
    if model.name not in NO_REWRITE and (candidate := model_rewrite(model, question, history, previous)):
        log.debug("rewrote %r as %r", question, candidate)
        return Standalone(candidate, candidate, swap)
    # The last message was another command (/translate ...): no question to lean on.
    return Standalone(f"{question} ({previous})" if previous else question, question, swap)
