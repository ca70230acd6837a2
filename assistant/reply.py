"""What a skill answers and a front-end shows: one module that skills, the conversation manager and
front-ends share, pointing only down (to the passages cited and the model's token usage)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from .llm.base import Usage
from .retrieval.base import Passage

__all__ = ["APOLOGY", "Passage", "Reply", "ReplyEvent", "SkillName", "TextDelta", "Usage"]

# Who answered: a skill, one of the manager's own commands, or an error.
SkillName = Literal["qa", "chat", "translate", "summarize", "help", "reset", "sources", "error"]
# What a person sees when something unexpected failed; the details go to the operator's log.
APOLOGY = "Sorry, something went wrong while answering. The details are in the operator's log."


@dataclass(frozen=True)
class TextDelta:
    """A piece of the reply as it is generated. The final ``Reply.text`` is authoritative:
    post-processing (a failed grounding check, say) may replace what was streamed."""

    text: str


@dataclass(frozen=True)
class Reply:
    text: str
    skill: SkillName
    conversation_id: str = ""
    sources: list[Passage] = field(default_factory=list)
    # QA said it does not know; `sources` then holds the closest passages, not citations.
    declined: bool = False
    grounded: bool | None = None  # the grounding check's verdict on a QA answer
    quoted: bool = False  # QA quoted the best passage because the model's own answer was declined or unsupported
    notice: str = ""  # one line on what happened, e.g. "Answered from your documents."
    error: bool = False
    usage: Usage | None = None
    timings: Mapping[str, float] = field(default_factory=dict)
    parts: tuple[Reply, ...] = ()  # a message of several questions: the reply to each, as if asked alone, in order


ReplyEvent = TextDelta | Reply
