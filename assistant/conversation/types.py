"""Plain data the conversation manager hands to front-ends: front-ends take all of it from here."""

from __future__ import annotations

from dataclasses import dataclass

from ..reply import APOLOGY, Passage, Reply, ReplyEvent, SkillName, TextDelta

__all__ = ["APOLOGY", "ConversationInfo", "Passage", "Reply", "ReplyEvent", "SkillName", "TextDelta", "Turn"]


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
    declined: bool = False  # a QA answer that said it does not know: its sources are the closest passages
    quoted: bool = False  # a QA answer that quotes the best passage


@dataclass(frozen=True)
class ConversationInfo:
    id: str
    title: str
    created_at: float
    updated_at: float
    turns: int
