"""The Textual application: loads the conversation manager in the background and hosts the screens.

The app knows its screens; they do not know it. It tells the chat screen what happened with
messages (``ManagerReady``, ``LoadFailed``, ``StatusChanged``) and hears ``DocumentsChanged`` back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from ..config import read_table
from ..errors import AssistantError
from .chat import ChatScreen
from .events import DocumentsChanged, LoadFailed, ManagerReady, StatusChanged
from .knowledge import KnowledgeScreen
from .options import DARK, LIGHT, TUIOptions

if TYPE_CHECKING:
    from ..conversation.manager import ConversationManager
    from ..runtime import Runtime

log = logging.getLogger(__name__)


class AssistantApp(App):
    TITLE = "assistant"
    CSS_PATH = "assistant.tcss"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(self, runtime: Runtime, conversation_id: str | None = None) -> None:
        super().__init__()
        self.runtime = runtime
        self.options = read_table(TUIOptions, "tui", runtime.settings.section("tui"))
        self.manager: ConversationManager | None = None  # set once loaded, in a worker
        self.chat = ChatScreen(runtime, self.options, conversation_id)

    def on_mount(self) -> None:
        self.theme = self.options.theme if self.options.theme in self.available_themes else DARK
        self.push_screen(self.chat)
        self.load_manager()

    @work(thread=True, group="load", exit_on_error=False)
    def load_manager(self) -> None:
        """Building the manager loads the model and opens the knowledge base: never on the UI thread."""
        try:
            manager = self.runtime.manager
            info = manager.status()
        except AssistantError as error:
            log.warning("the terminal UI could not load the assistant: %s", error)
            self.post_message(LoadFailed(str(error)))
            return
        except Exception as error:
            log.exception("the terminal UI could not load the assistant")
            self.post_message(LoadFailed(f"unexpected {type(error).__name__}: {error} (details in the log)"))
            return
        self.post_message(ManagerReady(manager, info))

    def on_manager_ready(self, event: ManagerReady) -> None:
        self.manager = event.manager
        self.chat.post_message(ManagerReady(event.manager, event.info))

    def on_load_failed(self, event: LoadFailed) -> None:
        self.chat.post_message(LoadFailed(event.reason))
        self.notify(event.reason, title="Could not load the assistant", severity="error", timeout=30)

    def on_documents_changed(self, event: DocumentsChanged) -> None:
        self.refresh_status()

    @work(thread=True, group="status", exclusive=True, exit_on_error=False)
    def refresh_status(self) -> None:
        if self.manager is not None:
            self.chat.post_message(StatusChanged(self.manager.status()))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The command palette (ctrl+p): Textual's own entries, the screen's, and the app's."""
        yield from super().get_system_commands(screen)
        if isinstance(screen, (ChatScreen, KnowledgeScreen)):
            yield from screen.system_commands()
        if isinstance(screen, ChatScreen):
            yield SystemCommand("Knowledge base", "Add, list and remove documents (ctrl+g)", self.action_knowledge)
        yield SystemCommand("Toggle light/dark theme", "Switch between the light and the dark theme (ctrl+t)",
                            self.action_toggle_theme)

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT if self.current_theme.dark else DARK

    def action_knowledge(self) -> None:
        if not isinstance(self.screen, KnowledgeScreen):
            self.push_screen(KnowledgeScreen(self.runtime))
