"""The chat screen: conversations on the left, messages in the middle, sources on the right.

Every message goes to the conversation manager in a worker thread; the streamed pieces come back
to the UI thread with ``call_from_thread``. Commands the manager knows (/ask, /translate, ...) are
sent as they are; the ones about this window (/new, /export, ...) are handled here.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Label, OptionList, Static

from ..conversation.manager import COMMAND, COMMAND_HELP, ConversationManager
from ..conversation.types import Reply, TextDelta
from ..errors import AssistantError
from ..skills.qa import NOT_FOUND, UNSUPPORTED, is_decline
from .dialogs import ConfirmDialog, TextDialog
from .export import conversation_markdown, export_path, write_atomically
from .widgets import (PLAIN_SKILLS, AnswerMessage, CommandHints, ConversationList, PromptInput, SourcesPanel,
                      StatusBar, UserMessage)

if TYPE_CHECKING:
    from .app import AssistantApp

log = logging.getLogger(__name__)

TUI_COMMANDS = {
    "new": "Start a new conversation: /new [title].",
    "rename": "Rename this conversation: /rename <title>.",
    "delete": "Delete this conversation (asks first).",
    "export": "Save this conversation as Markdown: /export [file or folder].",
    "copy": "Copy the last answer to the clipboard.",
    "docs": "Open the knowledge base: add or remove documents.",
    "theme": "Switch between the light and the dark theme.",
    "quit": "Leave the assistant.",
}
ALL_COMMANDS = {**COMMAND_HELP, **TUI_COMMANDS}

TUI_HELP = """

In this window:
/new [title] — start a new conversation (ctrl+n)
/rename <title> — rename this conversation
/delete — delete this conversation
/export [file] — save this conversation as Markdown
/copy — copy the last answer (ctrl+r)
/summarize with nothing after it — summarize the last answer
/docs — add or remove documents (ctrl+g)
/theme — light or dark (ctrl+t)

Enter sends; shift+Enter or ctrl+j adds a line; Tab completes a command; Esc stops an answer.
Click a source (or ctrl+o) to read the passage; ctrl+b shows the conversations; ctrl+p lists every action."""

WELCOME = ("Ask about your documents, or just chat. Answers from your documents cite their sources: "
           "click one, or press ctrl+o, to read the passage.\n/help lists the commands; ctrl+p lists every action.")
EMPTY_KB = "\nThe knowledge base is empty: press ctrl+g (or /docs) to add documents."
FAILED = "Something went wrong while answering; the details are in the log."
ANSWERING = "answering… (Esc stops)"


@dataclass
class AnswerJob:
    """One answer in progress: what was asked, where it is shown, and how to stop it."""

    conversation_id: str
    text: str
    question: UserMessage
    view: AnswerMessage
    attachment: str | None = None  # what a bare /summarize summarizes: the last answer
    cancel: threading.Event = field(default_factory=threading.Event)


class ChatScreen(Screen):
    BINDINGS = [
        Binding("escape", "stop", "Stop"),
        Binding("escape", "close_panels", "Close", show=False),
        Binding("ctrl+n", "new_conversation", "New"),
        Binding("ctrl+b", "toggle_sidebar", "Chats"),
        Binding("ctrl+o", "toggle_sources", "Sources"),
        Binding("ctrl+r", "copy_answer", "Copy"),
        Binding("ctrl+g", "app.knowledge", "Docs"),
        Binding("ctrl+t", "app.toggle_theme", "Theme"),
    ]
    WIDE = 100  # columns from which the conversation list is shown from the start

    def __init__(self, conversation_id: str | None = None) -> None:
        super().__init__()
        self.conversation_id = conversation_id or ConversationManager.new_conversation_id()
        self.job: AnswerJob | None = None
        self.answers: dict[int, AnswerMessage] = {}
        self._next_answer = 0
        self._sidebar_toggled = False  # until ctrl+b, the conversation list follows the width

    @property
    def assistant(self) -> AssistantApp:
        return self.app  # type: ignore[return-value]

    @property
    def manager(self) -> ConversationManager | None:
        return self.assistant.manager

    def compose(self) -> ComposeResult:
        with Horizontal(id="body"):
            with Vertical(id="sidebar"):
                yield Label("Conversations", classes="panel-title")
                yield ConversationList(id="conversations")
            with Vertical(id="main"):
                yield VerticalScroll(id="messages")
                yield CommandHints(id="hints")
                yield PromptInput(id="prompt")
            yield SourcesPanel(id="sources")
        yield StatusBar(self.assistant.runtime.settings.model, id="status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#sources").display = False
        self.query_one("#hints").display = False
        self.query_one(PromptInput).focus()
        self._show_welcome()

    # --- the manager arrives ------------------------------------------------------------

    async def manager_ready(self, info: dict) -> None:
        status = self.query_one(StatusBar)
        status.set_info(info)
        status.set_activity(ANSWERING if self.job is not None else "")
        if self.job is None and not self.query(".message"):
            await self._load_conversation()
        else:  # the first question was asked while the model loaded: keep it on screen
            self.refresh_conversations()
        if not info.get("chunks"):
            self._show_welcome(empty_knowledge=True)

    def loading_failed(self, message: str) -> None:
        self.query_one(StatusBar).set_activity("not loaded: " + message)

    def status_changed(self, info: dict) -> None:
        self.query_one(StatusBar).set_info(info)

    # --- sending ------------------------------------------------------------------------

    async def on_prompt_input_submitted(self, event: PromptInput.Submitted) -> None:
        text = event.text.strip()
        if not text:
            return
        prompt = self.query_one(PromptInput)
        if self.run_local_command(text):
            prompt.clear()
            return
        if self.job is not None:
            self.notify("Still answering: press Escape to stop it, or wait.", severity="warning")
            return
        prompt.clear()
        await self.send(text)

    async def send(self, text: str) -> None:
        messages = self.query_one("#messages", VerticalScroll)
        await messages.query(".welcome").remove()
        attachment = self._last_answer() if text.lower().startswith("/summarize") else None
        question = UserMessage(text)
        view = self._new_answer(pending="Loading the model…" if self.manager is None else "…")
        await messages.mount_all([question, view])
        messages.scroll_end(animate=False)
        self.job = AnswerJob(self.conversation_id, text, question, view, attachment)
        self.query_one(StatusBar).set_activity(ANSWERING if self.manager else
                                               f"loading {self.assistant.runtime.settings.model}…")
        self.refresh_bindings()
        self._answer(self.job)

    def on_answer_message_grown(self, event: AnswerMessage.Grown) -> None:
        """Keep a growing answer in view, unless the reader has scrolled up to read something else.

        (Not ``anchor()``: in Textual 8.2 it pins short content to the bottom and never re-engages.)"""
        messages = self.query_one("#messages", VerticalScroll)
        if messages.max_scroll_y - messages.scroll_y <= event.lines + 1:
            messages.scroll_end(animate=False)

    def _new_answer(self, **kwargs: Any) -> AnswerMessage:
        view = AnswerMessage(self._next_answer, **kwargs)
        self.answers[self._next_answer] = view
        self._next_answer += 1
        return view

    @work(thread=True, group="answer", exit_on_error=False)
    def _answer(self, job: AnswerJob) -> None:
        reply: Reply | None = None
        try:
            manager = self.assistant.runtime.manager  # waits here while the model loads
            for event in manager.stream(job.conversation_id, job.text, user="tui", attachment=job.attachment,
                                        cancel=job.cancel):
                if isinstance(event, TextDelta):
                    if self.assistant.from_worker(job.view.write, event.text) is False:
                        job.cancel.set()
                else:
                    reply = event
        except AssistantError as error:
            log.info("could not answer: %s", error)
            reply = Reply(str(error), "error", error=True)
        except Exception:
            log.exception("failed to answer in the terminal UI")
            reply = Reply(FAILED, "error", error=True)
        self.assistant.from_worker(self._finish, job, reply or Reply(FAILED, "error", error=True))

    async def _finish(self, job: AnswerJob, reply: Reply) -> None:
        extra = TUI_HELP if reply.skill == "help" and job.text.lower().startswith("/help") else ""
        await job.view.finish(reply, extra)
        if self.job is not job:  # the conversation was switched away meanwhile
            return
        self.job = None
        status = self.query_one(StatusBar)
        status.set_activity("")
        status.set_last(reply)
        self.refresh_bindings()
        if reply.error:
            self.notify(reply.text, title="Could not answer", severity="error")
        elif reply.skill == "reset":
            for widget in list(self.query_one("#messages").children):
                if widget is not job.question and widget is not job.view:
                    await widget.remove()
            self.answers = {job.view.index: job.view}
        elif reply.skill == "sources" and reply.sources:
            self.show_sources(job.view.index, 0, focus=False)
        self.refresh_conversations()

    # --- commands handled here ------------------------------------------------------------

    def run_local_command(self, text: str) -> bool:
        match = COMMAND.match(text)
        if not match or match.group(1).lower() not in TUI_COMMANDS:
            return False
        name, args = match.group(1).lower(), match.group(2).strip()
        if name == "new":
            self.run_worker(self.new_conversation(args))
        elif name == "rename":
            if args:
                self._rename(self.conversation_id, args)
            else:
                self.rename_conversation(self.conversation_id)
        elif name == "delete":
            self.delete_conversation(self.conversation_id)
        elif name == "export":
            self.export_conversation(args)
        elif name == "copy":
            self.action_copy_answer()
        elif name == "docs":
            self.assistant.action_knowledge()
        elif name == "theme":
            self.assistant.action_toggle_theme()
        elif name == "quit":
            self.app.exit()
        return True

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

    # --- conversations --------------------------------------------------------------------

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

    async def open_conversation(self, conversation_id: str) -> None:
        if self.job is not None:
            self.job.cancel.set()
            self.job = None
            self.query_one(StatusBar).set_activity("")
            self.refresh_bindings()
        self.conversation_id = conversation_id
        self.query_one("#sources").display = False
        await self._load_conversation()
        self.query_one(PromptInput).focus()

    async def _load_conversation(self) -> None:
        messages = self.query_one("#messages", VerticalScroll)
        await messages.remove_children()
        self.answers = {}
        turns = []
        if self.manager is not None:
            with self.reported("read the conversation"):
                turns = self.manager.turns(self.conversation_id)
        widgets: list[Static | AnswerMessage] = []
        for turn in turns:
            if turn.role == "user":
                widgets.append(UserMessage(turn.content))
                continue
            view = self._new_answer(text=turn.content or "(no answer)", skill=turn.skill, sources=turn.sources)
            # The store keeps no flag for it: a declined answer's sources are the closest passages, not citations.
            view.declined = turn.skill == "qa" and (turn.content in (NOT_FOUND, UNSUPPORTED)
                                                    or is_decline(turn.content))
            widgets.append(view)
        if widgets:
            await messages.mount_all(widgets)
            messages.scroll_end(animate=False)
        else:
            self._show_welcome()
        self.refresh_conversations()

    def _show_welcome(self, empty_knowledge: bool = False) -> None:
        messages = self.query_one("#messages", VerticalScroll)
        if messages.query(".message"):
            return
        messages.query(".welcome").remove()
        messages.mount(Static(WELCOME + (EMPTY_KB if empty_knowledge else ""), classes="welcome"))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "conversations" and event.option.id and event.option.id != self.conversation_id:
            self.run_worker(self.open_conversation(event.option.id))
        elif isinstance(event.option_list, CommandHints) and event.option.id:
            self._complete(event.option.id)

    def rename_conversation(self, conversation_id: str) -> None:
        if self._need_manager() is None:
            return

        def renamed(title: str | None) -> None:
            if title:
                self._rename(conversation_id, title)

        self.app.push_screen(TextDialog("New name for this conversation:", self._title(conversation_id)), renamed)

    def _rename(self, conversation_id: str, title: str) -> None:
        if self._need_manager() is None:
            return
        with self.reported("rename the conversation"):
            self.manager.rename(conversation_id, title)
            self.notify(f"Renamed to “{title}”.")
        self.refresh_conversations()

    def delete_conversation(self, conversation_id: str) -> None:
        if self._need_manager() is None:
            return
        title = self._title(conversation_id) or "this conversation"

        async def answered(yes: bool | None) -> None:
            if not yes:
                return
            with self.reported("delete the conversation"):
                self.manager.delete(conversation_id)
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
        folder = Path(self.assistant.runtime.settings.section("tui").get("export_dir", ".")).expanduser()
        path = export_path(target, title, folder)
        try:
            write_atomically(path, conversation_markdown(title, self.conversation_id, turns))
        except OSError as error:
            log.warning("export to %s failed: %s", path, error)
            self.notify(f"Could not write {path}: {error.strerror or error}", severity="error")
            return
        self.notify(f"Exported to {path}", title="Exported")

    # --- sources --------------------------------------------------------------------------

    def show_sources(self, answer: int, source: int = 0, focus: bool = True) -> None:
        view = self.answers.get(answer)
        if view is None or not view.sources:
            return
        panel = self.query_one(SourcesPanel)
        panel.display = True
        panel.show(view.sources, source, view.declined)
        if focus:
            panel.query_one("#source-list").focus()

    def action_show_sources(self, answer: int, source: int) -> None:
        self.show_sources(answer, source)

    def action_toggle_sources(self) -> None:
        panel = self.query_one(SourcesPanel)
        if panel.display:
            panel.display = False
            self.query_one(PromptInput).focus()
            return
        with_sources = [i for i, view in self.answers.items() if view.sources]
        if not with_sources:
            self.notify("No answer with sources yet: ask about your documents.", severity="information")
            return
        self.show_sources(with_sources[-1])

    # --- keys -----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            return self.job is not None
        if action == "close_panels":
            return bool(self.query_one("#hints").display or self.query_one("#sources").display)
        return True

    def action_stop(self) -> None:
        if self.job is not None:
            self.job.cancel.set()
            self.query_one(StatusBar).set_activity("stopping…")

    def action_close_panels(self) -> None:
        self.query_one("#hints").display = False
        self.query_one("#sources").display = False
        self.query_one(PromptInput).focus()

    async def action_new_conversation(self) -> None:
        await self.new_conversation()

    def on_resize(self, event) -> None:
        if not self._sidebar_toggled:
            self.query_one("#sidebar").display = event.size.width >= self.WIDE

    def action_toggle_sidebar(self) -> None:
        self._sidebar_toggled = True
        sidebar = self.query_one("#sidebar")
        sidebar.display = not sidebar.display
        if sidebar.display:
            self.query_one(ConversationList).focus()
        else:
            self.query_one(PromptInput).focus()

    def _last_answer(self) -> str | None:
        answered = [view.text for view in self.answers.values() if view.text and view.skill not in PLAIN_SKILLS]
        return answered[-1] if answered else None

    def action_copy_answer(self) -> None:
        answer = self._last_answer()
        if answer is None:
            self.notify("No answer to copy yet.", severity="warning")
            return
        self.app.copy_to_clipboard(answer)
        self.notify("Copied the last answer to the clipboard.")

    # --- slash command suggestions ----------------------------------------------------------

    def on_text_area_changed(self, event: PromptInput.Changed) -> None:
        if isinstance(event.text_area, PromptInput):
            self.query_one(CommandHints).show_matches(event.text_area.text, ALL_COMMANDS)
            self.refresh_bindings()

    def on_prompt_input_completion_requested(self, event: PromptInput.CompletionRequested) -> None:
        hints = self.query_one(CommandHints)
        option = hints.highlighted_option if hints.display else None
        if option is not None and option.id:
            self._complete(option.id)

    def _complete(self, command: str) -> None:
        prompt = self.query_one(PromptInput)
        prompt.set_text(f"/{command} ")
        prompt.focus()

    def on_unmount(self) -> None:
        if self.job is not None:
            self.job.cancel.set()


def palette_commands(screen: ChatScreen) -> list[tuple[str, str, Callable[[], Any]]]:
    """The command palette's entries on the chat screen: the keys' actions and the slash commands."""

    def send(text: str) -> Callable[[], Any]:
        async def run() -> None:
            if screen.job is None:
                await screen.send(text)
            else:
                screen.notify("Still answering: press Escape to stop it, or wait.", severity="warning")
        return run

    def prefill(text: str) -> Callable[[], None]:
        def run() -> None:
            prompt = screen.query_one(PromptInput)
            prompt.set_text(text)
            prompt.focus()
        return run

    return [
        ("New conversation", "Start a fresh conversation (ctrl+n)", screen.action_new_conversation),
        ("Rename conversation", "Give this conversation a name",
         lambda: screen.rename_conversation(screen.conversation_id)),
        ("Delete conversation", "Delete this conversation (asks first)",
         lambda: screen.delete_conversation(screen.conversation_id)),
        ("Export conversation to Markdown", "Write this conversation to a .md file", screen.export_conversation),
        ("Copy last answer", "Copy the last answer to the clipboard (ctrl+r)", screen.action_copy_answer),
        ("Show sources", "The passages behind the last answer (ctrl+o)", screen.action_toggle_sources),
        ("Toggle conversation list", "Show or hide saved conversations (ctrl+b)", screen.action_toggle_sidebar),
        ("/help", COMMAND_HELP["help"], send("/help")),
        ("/sources", COMMAND_HELP["sources"], send("/sources")),
        ("/reset", COMMAND_HELP["reset"], send("/reset")),
        ("/ask …", COMMAND_HELP["ask"], prefill("/ask ")),
        ("/translate …", COMMAND_HELP["translate"], prefill("/translate ")),
        ("/summarize …", COMMAND_HELP["summarize"], prefill("/summarize ")),
    ]
