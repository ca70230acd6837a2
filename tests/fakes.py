"""Test helpers: the scripted chat model (it lives beside its protocol, in assistant/llm/fake.py) and a
conversation manager built over doubles."""

from __future__ import annotations

from assistant.llm.fake import ScriptedChatModel

__all__ = ["ScriptedChatModel", "ask_over", "manager_over"]


def manager_over(model, history_path, knowledge=None, *, qa_options=None, reranker=None, translator=None, **parts):
    """A conversation manager over these parts, with the skills `assistant.runtime` would build but no
    adapters (scripted models ignore them); ``parts`` are further ConversationManager arguments."""
    from assistant.conversation.documents import Documents
    from assistant.conversation.history import HistoryStore
    from assistant.conversation.manager import ConversationManager
    from assistant.skills.qa import QASkill
    from assistant.skills.qa_options import QAOptions
    from assistant.skills.translate import LLMTranslator

    qa = QASkill(model, knowledge, adapter=None, options=qa_options or QAOptions(), reranker=reranker)
    return ConversationManager(model, HistoryStore(history_path), qa=qa, translator=translator or LLMTranslator(model),
                               documents=None if knowledge is None else Documents(knowledge), **parts)


def ask_over(tmp_path, passages, model_reply: str, reranker, question: str):
    """The reply to ``question`` (an /ask) from a manager over these passages, the model answering ``model_reply``."""
    from assistant.retrieval.fake import FakeKnowledgeStore

    manager = manager_over(ScriptedChatModel([model_reply]), tmp_path / "history.sqlite3", FakeKnowledgeStore(passages),
                           reranker=reranker)
    return manager.handle("c", f"/ask {question}")


class ScriptedReranker:
    """A reranker whose score for a text is the highest score of the phrases it contains (0 without any).

    Records every call (question and texts) so tests can check what it was asked.
    """

    def __init__(self, phrases: dict[str, float], name: str = "scripted-reranker", asked: dict[str, str] | None = None) -> None:
        self.phrases = phrases
        self.name = name
        self.asked = asked or {}  # phrase -> a word the question must hold for the phrase to score
        self.calls: list[tuple[str, list[str]]] = []

    def score(self, question: str, texts) -> list[float]:
        self.calls.append((question, list(texts)))
        scoring = {phrase: score for phrase, score in self.phrases.items() if self.asked.get(phrase, "") in question}
        return [max((score for phrase, score in scoring.items() if phrase in text), default=0.0) for text in texts]
