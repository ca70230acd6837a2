"""The messages the terminal UI's parts send each other, instead of calling one another.

The app sends ``ManagerReady``, ``LoadFailed`` and ``StatusChanged`` down to the chat screen (they
do not bubble, or they would come back up to the app); a screen whose work changes what the status
bar shows sends ``DocumentsChanged`` up to the app.
Messages can be posted from worker threads.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message

from ..conversation.manager import ConversationManager


class ManagerReady(Message, bubble=False):
    """The model is loaded and the conversation manager is ready; ``info`` is its status."""

    def __init__(self, manager: ConversationManager, info: dict[str, Any]) -> None:
        super().__init__()
        self.manager = manager
        self.info = info


class LoadFailed(Message, bubble=False):
    """The assistant could not be loaded; ``reason`` says why, in one line."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class StatusChanged(Message, bubble=False):
    """The manager's status (model, adapters, knowledge base size) after a change."""

    def __init__(self, info: dict[str, Any]) -> None:
        super().__init__()
        self.info = info


class DocumentsChanged(Message):
    """Documents were added to or removed from the knowledge base."""
