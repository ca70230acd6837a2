"""Prompt formats shared by serving and training, so an adapter sees at run time what it learned on."""

from __future__ import annotations

from collections.abc import Sequence

from ..llm.base import Message
from ..retrieval.base import Passage

QA_ADAPTER = "grounded-qa"  # the shipped adapter the QA skill uses by default
NO_ANSWER = "I don't know based on the documents."

QA_SYSTEM = (
    "You answer questions using only the numbered passages. Answer briefly and cite the passages "
    "you used like [1]. If the passages do not contain the answer, reply exactly: " + NO_ANSWER
)


def format_passages(passages: Sequence[Passage]) -> str:
    blocks = []
    for number, passage in enumerate(passages, 1):
        heading = f" ({passage.title})" if passage.title else ""
        blocks.append(f"[{number}]{heading} {passage.text.strip()}")
    return "\n\n".join(blocks)


def qa_user_message(question: str, passages: Sequence[Passage]) -> str:
    return f"Passages:\n{format_passages(passages)}\n\nQuestion: {question.strip()}"


def qa_messages(question: str, passages: Sequence[Passage], history: Sequence[Message] = ()) -> list[Message]:
    """System prompt, earlier turns, then the passages and the question in the last user message."""
    return [
        {"role": "system", "content": QA_SYSTEM},
        *history,
        {"role": "user", "content": qa_user_message(question, passages)},
    ]
