"""Wires settings to the parts (model, knowledge base, history, manager), each built on first use.

Front-ends and commands take what they need from here; tests pass ready-made parts instead.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from .config import Settings


class Runtime:
    def __init__(self, settings: Settings, **parts: Any) -> None:
        self.settings = settings
        self._parts: dict[str, Any] = dict(parts)
        self._lock = threading.RLock()

    def _get(self, name: str, build: Callable[[], Any]) -> Any:
        with self._lock:
            if name not in self._parts:
                self._parts[name] = build()
            return self._parts[name]

    def loaded(self, name: str) -> bool:
        return name in self._parts

    @property
    def chat_model(self):
        from .llm import load_chat_model

        return self._get("chat_model", lambda: load_chat_model(self.settings))

    @property
    def knowledge(self):
        from .retrieval import open_knowledge_base

        return self._get("knowledge", lambda: open_knowledge_base(self.settings))

    @property
    def history(self):
        from .conversation.history import HistoryStore

        return self._get("history", lambda: HistoryStore(self.settings.history_db))

    @property
    def manager(self):
        from .conversation.manager import ConversationManager

        return self._get("manager", lambda: ConversationManager.from_runtime(self))
