"""The Textual application: loads the conversation manager in the background and hosts the screens."""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterable

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider

from ..conversation.manager import ConversationManager
from ..errors import AssistantError
from .chat import ChatScreen, palette_commands
from .knowledge import KnowledgeScreen

log = logging.getLogger(__name__)

DARK, LIGHT = "textual-dark", "textual-light"

PaletteEntry = tuple[str, str, Callable[[], Any]]


class AssistantCommands(Provider):
    """The command palette's (ctrl+p) own entries: the same actions as the keys and slash commands."""

    def _entries(self) -> Iterable[PaletteEntry]:
        return self.app.palette_entries(self.screen)  # type: ignore[attr-defined]

    async def discover(self) -> Hits:
        for title, help_text, callback in self._entries():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)


class AssistantApp(App):
    TITLE = "assistant"
    CSS_PATH = "assistant.tcss"
    COMMANDS = App.COMMANDS | {AssistantCommands}
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(self, runtime, conversation_id: str | None = None) -> None:
        super().__init__()
        self.runtime = runtime
        self.manager: ConversationManager | None = None  # set once loaded, in a worker
        self.conversation_id = conversation_id
        theme = runtime.settings.section("tui").get("theme", DARK)
        self._initial_theme = theme if theme in self.available_themes else DARK

    def on_mount(self) -> None:
        self.theme = self._initial_theme
        self.push_screen(ChatScreen(self.conversation_id))
        self.load_manager()

    @property
    def chat(self) -> ChatScreen:
        return next(screen for screen in self.screen_stack if isinstance(screen, ChatScreen))

    def from_worker(self, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a callback on the UI thread from a worker thread; False once the app has closed."""
        if not self.is_running:
            return False
        try:
            return self.call_from_thread(callback, *args, **kwargs)
        except RuntimeError:
            return False

    @work(thread=True, group="load", exit_on_error=False)
    def load_manager(self) -> None:
        """Building the manager loads the model and opens the knowledge base: never on the UI thread."""
        try:
            manager = self.runtime.manager
            info = manager.status()
        except AssistantError as error:
            log.warning("the terminal UI could not load the assistant: %s", error)
            self.from_worker(self._load_failed, str(error))
            return
        except Exception as error:
            log.exception("the terminal UI could not load the assistant")
            self.from_worker(self._load_failed, f"unexpected {type(error).__name__}: {error} (details in the log)")
            return
        self.from_worker(self._manager_ready, manager, info)

    async def _manager_ready(self, manager: ConversationManager, info: dict) -> None:
        self.manager = manager
        await self.chat.manager_ready(info)

    def _load_failed(self, message: str) -> None:
        self.chat.loading_failed(message)
        self.notify(message, title="Could not load the assistant", severity="error", timeout=30)

    @work(thread=True, group="status", exclusive=True, exit_on_error=False)
    def refresh_status(self) -> None:
        if self.manager is not None:
            self.from_worker(self.chat.status_changed, self.manager.status())

    def palette_entries(self, screen) -> list[PaletteEntry]:
        common: list[PaletteEntry] = [
            ("Toggle light/dark theme", "Switch between the light and the dark theme (ctrl+t)",
             self.action_toggle_theme),
        ]
        if isinstance(screen, ChatScreen):
            return [*palette_commands(screen),
                    ("Knowledge base", "Add, list and remove documents (ctrl+g)", self.action_knowledge), *common]
        if isinstance(screen, KnowledgeScreen):
            return [("Back to chat", "Leave the knowledge base (Esc)", self.pop_screen),
                    ("Remove document", "Remove the selected document (Delete)", screen.action_remove),
                    ("Reload documents", "Read the document list again (ctrl+r)", screen.action_reload), *common]
        return common

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT if self.current_theme.dark else DARK

    def action_knowledge(self) -> None:
        if not isinstance(self.screen, KnowledgeScreen):
            self.push_screen(KnowledgeScreen())
