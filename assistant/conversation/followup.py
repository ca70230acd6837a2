"""Rewriting a follow-up question ("and how tall is it?") into one that stands alone, for retrieval."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from ..llm.base import BASE, ChatModel, GenerationOptions, Message
from .types import Turn

log = logging.getLogger(__name__)

REFERRING = re.compile(
    r"\b(it|its|they|them|their|this|that|these|those|he|she|him|her|his|hers|there|then|one|ones|same|"
    r"former|latter|above|else|more|also|what about|how about|and)\b",
    re.I,
)
PROMPT = (
    "Rewrite the last question so that it can be understood without the conversation. "
    "Replace words like 'it' or 'they' with what they refer to. Reply with the rewritten question only."
)


def looks_like_followup(question: str, history: Sequence[Turn]) -> bool:
    return bool(history) and (len(question.split()) <= 3 or bool(REFERRING.search(question)))


def previous_question(history: Sequence[Turn]) -> str:
    return next((t.content for t in reversed(history) if t.role == "user"), "")


def rewrite(model: ChatModel, question: str, history: Sequence[Turn]) -> str:
    """A standalone question; falls back to joining the previous question when the model's rewrite is unusable."""
    if not looks_like_followup(question, history):
        return question
    recent = list(history)[-4:]
    transcript = "\n".join(f"{t.role.capitalize()}: {t.content[:400]}" for t in recent)
    messages: list[Message] = [{"role": "user", "content": f"{PROMPT}\n\nConversation:\n{transcript}\n\nLast question: {question}"}]
    try:
        candidate = model.generate(messages, GenerationOptions(max_new_tokens=48, stop=("\n",)), adapter=BASE).strip()
    except Exception:  # a failed rewrite must never fail the answer
        log.warning("follow-up rewrite failed", exc_info=True)
        candidate = ""
    candidate = candidate.removeprefix("Rewritten question:").strip().strip('"')
    plausible = 3 <= len(candidate) <= 3 * len(question) + 80 and candidate.endswith("?") == question.endswith("?")
    if plausible and candidate.lower() != question.lower():
        log.debug("rewrote %r as %r", question, candidate)
        return candidate
    return f"{question} ({previous_question(history)})"
