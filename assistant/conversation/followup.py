"""Rewriting a follow-up question ("and how tall is it?") into one that stands alone, for retrieval."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..llm.base import BASE, ChatModel, GenerationOptions, Message
from .commands import parse
from .types import Turn

log = logging.getLogger(__name__)

REFERRING = re.compile(
    r"\b(it|its|they|them|their|this|that|these|those|he|she|him|her|his|hers|there|then|one|ones|same|"
    r"former|latter|above|else|more|also|what about|how about|and)\b",
    re.I,
)
ROLE_LABEL = re.compile(r"^(user|assistant|question|conversation)\s*:", re.I)
PROMPT = (
    "Rewrite the last question so that it can be understood without the conversation. "
    "Replace words like 'it' or 'they' with what they refer to. Reply with the rewritten question only."
)


def looks_like_followup(question: str, history: Sequence[Turn]) -> bool:
    return bool(history) and (len(question.split()) <= 3 or bool(REFERRING.search(question)))


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
        questions.append(request.text)
    return questions


def previous_question(history: Sequence[Turn]) -> str:
    return next(iter(previous_questions(history, 1)), "")


@dataclass(frozen=True)
class Standalone:
    """A question made to stand alone: what to search for, and what the reader is asked."""

    query: str
    question: str


def rewrite(model: ChatModel, question: str, history: Sequence[Turn]) -> Standalone:
    """The model's standalone rewrite of a follow-up, for both search and reader. When it is unusable,
    search looks for the question joined with the previous one (so the passages are about the same
    thing), but the reader gets the question as asked: given the previous question too, a small model
    answers that one again ("Who led the investigation?" "Priya Raman" "What caused it?" "Priya Raman")."""
    if not looks_like_followup(question, history):
        return Standalone(question, question)
    recent = list(history)[-4:]
    transcript = "\n".join(f"{t.role.capitalize()}: {t.content[:400]}" for t in recent)
    messages: list[Message] = [{"role": "user", "content": f"{PROMPT}\n\nConversation:\n{transcript}\n\nLast question: {question}"}]
    try:
        candidate = model.generate(messages, GenerationOptions(max_new_tokens=48, stop=("\n",)), adapter=BASE).strip()
    except Exception:  # a failed rewrite must never fail the answer
        log.warning("follow-up rewrite failed", exc_info=True)
        candidate = ""
    candidate = candidate.removeprefix("Rewritten question:").strip().strip('"')
    previous = previous_question(history)
    plausible = (3 <= len(candidate) <= 3 * len(question) + 80 and candidate.endswith("?") == question.endswith("?")
                 and not ROLE_LABEL.match(candidate))  # "User: <the previous question>" is the transcript, not a rewrite
    if plausible and candidate.lower() not in (question.lower(), previous.lower()):
        log.debug("rewrote %r as %r", question, candidate)
        return Standalone(candidate, candidate)
    # The last message was another command (/translate ...): no question to lean on.
    return Standalone(f"{question} ({previous})" if previous else question, question)
