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


# The second reading, when the reader declines although the reranker found a sentence that answers:
# no way out ("I don't know") is offered, because the reranker has already judged that the sentence
# answers; what comes back is used only if it is copied from the sentence (qa.copied_answer).
SHORTEN_SYSTEM = "Answer the question with the words of the passage. Answer briefly."


def format_passages(passages: Sequence[Passage]) -> str:
    blocks = []
    for number, passage in enumerate(passages, 1):
        heading = f" ({passage.title})" if passage.title else ""
        blocks.append(f"[{number}]{heading} {passage.text.strip()}")
    return "\n\n".join(blocks)


def qa_user_message(question: str, passages: Sequence[Passage]) -> str:
    return f"Passages:\n{format_passages(passages)}\n\nQuestion: {question.strip()}"


def qa_messages(question: str, passages: Sequence[Passage]) -> list[Message]:
    """System prompt, then the passages and the question in one user message: the reader sees no earlier turns (given
    the previous question too, the small model answers that one again; a follow-up is made to stand alone instead)."""
    return [
        {"role": "system", "content": QA_SYSTEM},
        {"role": "user", "content": qa_user_message(question, passages)},
    ]


def shorten_messages(question: str, sentence: str) -> list[Message]:
    """The second reading's prompt: one passage (the sentence the reranker found) and the question."""
    return [
        {"role": "system", "content": SHORTEN_SYSTEM},
        {"role": "user", "content": f"Passage: {sentence.strip()}\n\nQuestion: {question.strip()}"},
    ]
