"""Test helpers: the scripted chat model (it lives beside its protocol, in assistant/llm/fake.py) and a
conversation manager built over doubles."""

from __future__ import annotations

from assistant.llm.fake import ScriptedChatModel

__all__ = ["ScriptedChatModel", "manager_over"]


def manager_over(model, history_path, knowledge=None, *, qa_options=None, **parts):
    """A conversation manager over these parts, with the skills `assistant.runtime` would build but no
    adapters (scripted models ignore them); ``parts`` are further ConversationManager arguments."""
    from assistant.conversation.documents import Documents
    from assistant.conversation.history import HistoryStore
    from assistant.conversation.manager import ConversationManager
    from assistant.skills.qa import QAOptions, QASkill
    from assistant.skills.translate import LLMTranslator

    qa = QASkill(model, knowledge, adapter=None, options=qa_options or QAOptions())
    return ConversationManager(model, HistoryStore(history_path), qa=qa, translator=LLMTranslator(model),
                               documents=None if knowledge is None else Documents(knowledge), **parts)
