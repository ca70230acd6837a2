"""The chat screen's saved conversations: listed, opened, renamed, deleted and exported."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from textual.screen import Screen

from ..conversation.manager import ConversationManager
from ..errors import AssistantError
from ..files import atomic_write_text
from .dialogs import ConfirmDialog, TextDialog
from .export import conversation_markdown, export_path
from .options import TUIOptions
from .widgets import ConversationList

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger(__name__)


class ConversationsScreen(Screen):
    """What the chat screen does with the conversation store; ``ChatScreen`` adds the messages."""

    def __init__(self, runtime: Runtime, options: TUIOptions, conversation_id: str | None = None) -> None:
        super().__init__()
        self.runtime = runtime
        self.options = options
        self.manager: ConversationManager | None = None  # set once loaded (ManagerReady)
        self.conversation_id = conversation_id or ConversationManager.new_conversation_id()

    async def open_conversation(self, conversation_id: str) -> None:
        raise NotImplementedError  # ChatScreen shows it

    @contextlib.contextmanager
    def reported(self, doing: str) -> Iterator[None]:
        """A failure in the conversation store becomes a notification and a log entry, not a crash."""
        try:
            yield
        except AssistantError as error:
            log.warning("could not %s: %s", doing, error)
            self.notify(str(error), title=f"Could not {doing}", severity="error")
        except Exception:
            log.exception("could not %s", doing)
            self.notify("The details are in the log.", title=f"Could not {doing}", severity="error")

    def _need_manager(self) -> ConversationManager | None:
        if self.manager is None:
            self.notify("The model is still loading; try again in a moment.", severity="warning")
        return self.manager

    def refresh_conversations(self) -> None:
        if self.manager is not None:
            with self.reported("list the conversations"):
                self.query_one(ConversationList).show(self.manager.conversations(), self.conversation_id)

    def _title(self, conversation_id: str) -> str:
        info = None
        if self.manager is not None:
            with self.reported("read the conversation list"):
                info = next((c for c in self.manager.conversations() if c.id == conversation_id), None)
        return info.title if info else ""

    async def new_conversation(self, title: str = "") -> None:
        await self.open_conversation(ConversationManager.new_conversation_id())
        if title and self.manager is not None:
            self._rename(self.conversation_id, title)

    def on_conversation_list_rename_requested(self, event: ConversationList.RenameRequested) -> None:
        self.rename_conversation(event.conversation_id)

    def on_conversation_list_delete_requested(self, event: ConversationList.DeleteRequested) -> None:
        self.delete_conversation(event.conversation_id)

    def rename_conversation(self, conversation_id: str) -> None:
        if self._need_manager() is None:
            return

        def renamed(title: str | None) -> None:
            if title:
                self._rename(conversation_id, title)

        self.app.push_screen(TextDialog("New name for this conversation:", self._title(conversation_id)), renamed)

    def _rename(self, conversation_id: str, title: str) -> None:
        manager = self._need_manager()
        if manager is None:
            return
        with self.reported("rename the conversation"):
            manager.rename(conversation_id, title)
            self.notify(f"Renamed to “{title}”.")
        self.refresh_conversations()

    def delete_conversation(self, conversation_id: str) -> None:
        manager = self._need_manager()
        if manager is None:
            return
        title = self._title(conversation_id) or "this conversation"

        async def answered(yes: bool | None) -> None:
            if not yes:
                return
            with self.reported("delete the conversation"):
                manager.delete(conversation_id)
                self.notify(f"Deleted “{title}”.")
                if conversation_id == self.conversation_id:
                    await self.new_conversation()
                else:
                    self.refresh_conversations()

        self.app.push_screen(ConfirmDialog(f"Delete “{title}” and all its messages?"), answered)

    def export_conversation(self, target: str = "") -> None:
        manager = self._need_manager()
        if manager is None:
            return
        turns = None
        with self.reported("read the conversation"):
            turns = manager.turns(self.conversation_id)
            if not turns:
                self.notify("Nothing to export yet: this conversation is empty.", severity="warning")
        if not turns:
            return
        title = self._title(self.conversation_id) or "Conversation"
        path = export_path(target, title, self.options.export_dir)
        try:
            atomic_write_text(path, conversation_markdown(title, self.conversation_id, turns))
        except OSError as error:
            log.warning("export to %s failed: %s", path, error)
            self.notify(f"Could not write {path}: {error.strerror or error}", severity="error")
            return
        self.notify(f"Exported to {path}", title="Exported")
