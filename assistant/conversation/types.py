"""Plain data the conversation manager hands to front-ends."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from ..llm.base import Usage
from ..retrieval.base import Passage


@dataclass(frozen=True)
class TextDelta:
    """A piece of the reply as it is generated. The final ``Reply.text`` is authoritative:
    post-processing (a failed grounding check, say) may replace what was streamed."""

    text: str


@dataclass
class Reply:
    text: str
    skill: str  # qa | chat | translate | summarize | help | reset | sources | error
    conversation_id: str = ""
    sources: list[Passage] = field(default_factory=list)
    # QA said it does not know; `sources` then holds the closest passages, not citations.
    declined: bool = False
    grounded: bool | None = None  # the grounding check's verdict on a QA answer
    quoted: bool = False  # QA quoted the best passage because the model's own answer was declined or unsupported
    notice: str = ""  # one line on what happened, e.g. "Answered from your documents."
    error: bool = False
    usage: Usage | None = None
    timings: dict[str, float] = field(default_factory=dict)


ReplyEvent = Union[TextDelta, Reply]


@dataclass(frozen=True)
class Turn:
    id: int
    conversation_id: str
    role: str  # user | assistant
    content: str
    skill: str = ""
    sources: tuple[Passage, ...] = ()
    user: str = ""
    created_at: float = 0.0


@dataclass(frozen=True)
class ConversationInfo:
    id: str
    title: str
    created_at: float
    updated_at: float
    turns: int
