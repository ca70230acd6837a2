"""The chat screen: conversations on the left, messages in the middle, sources on the right.

Every message goes to the conversation manager in a worker thread; the streamed pieces come back
to the UI thread with ``call_from_thread``. Commands the manager knows (/ask, /translate, ...) are
sent as they are; the ones about this window (/new, /export, ...) are handled here.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from textual import work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Footer, Label, OptionList, Static

from ..conversation.commands import COMMAND_HELP, parse
from ..conversation.types import APOLOGY, Reply, TextDelta
from ..errors import AssistantError
from .commands import ALL_COMMANDS, TUI_HELP
from .conversations import ConversationsScreen
from .events import LoadFailed, ManagerReady, StatusChanged
from .threads import on_ui_thread
from .widgets import (
    PLAIN_SKILLS,
    AnswerMessage,
    CommandHints,
    ConversationList,
    PromptInput,
    SourcesPanel,
    StatusBar,
    UserMessage,
)

log = logging.getLogger(__name__)

WELCOME = ("Ask about your documents, or just chat. Answers from your documents cite their sources: "
           "click one, or press ctrl+o, to read the passage.\n/help lists the commands; ctrl+p lists every action.")
EMPTY_KB = "\nThe knowledge base is empty: press ctrl+g (or /docs) to add documents."
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


class ChatScreen(ConversationsScreen):
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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.job: AnswerJob | None = None
        self.answers: dict[int, AnswerMessage] = {}
        self._next_answer = 0
        self._sidebar_toggled = False  # until ctrl+b, the conversation list follows the width

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
        yield StatusBar(self.runtime.settings.model, id="status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#sources").display = False
        self.query_one("#hints").display = False
        self.query_one(PromptInput).focus()
        self._show_welcome()

    # --- the manager arrives ------------------------------------------------------------

    async def on_manager_ready(self, event: ManagerReady) -> None:
        self.manager = event.manager
        status = self.query_one(StatusBar)
        status.set_info(event.info)
        status.set_activity(ANSWERING if self.job is not None else "")
        if self.job is None and not self.query(".message"):
            await self._load_conversation()
        else:  # the first question was asked while the model loaded: keep it on screen
            self.refresh_conversations()
        if not event.info.get("chunks"):
            self._show_welcome(empty_knowledge=True)

    def on_load_failed(self, event: LoadFailed) -> None:
        self.query_one(StatusBar).set_activity("not loaded: " + event.reason)

    def on_status_changed(self, event: StatusChanged) -> None:
        self.query_one(StatusBar).set_info(event.info)

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
                                               f"loading {self.runtime.settings.model}…")
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
            manager = self.runtime.manager  # waits here while the model loads
            for event in manager.stream(job.conversation_id, job.text, user="tui", attachment=job.attachment,
                                        cancel=job.cancel):
                if isinstance(event, TextDelta):
                    if on_ui_thread(self.app, job.view.write, event.text) is False:
                        job.cancel.set()
                else:
                    reply = event
        except AssistantError as error:
            log.info("could not answer: %s", error)
            reply = Reply(str(error), "error", error=True)
        except Exception:
            log.exception("failed to answer in the terminal UI")
            reply = Reply(APOLOGY, "error", error=True)
        on_ui_thread(self.app, self._finish, job, reply or Reply(APOLOGY, "error", error=True))

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
        """Run one of this window's own commands (TUI_COMMANDS); False for any other message."""
        request = parse(text)
        args = request.text
        actions: dict[str, Callable[[], object]] = {
            "new": lambda: self.run_worker(self.new_conversation(args)),
            "rename": lambda: self._rename(self.conversation_id, args) if args
            else self.rename_conversation(self.conversation_id),
            "delete": lambda: self.delete_conversation(self.conversation_id),
            "export": lambda: self.export_conversation(args),
            "copy": self.action_copy_answer,
            "docs": lambda: self.run_worker(self.run_action("app.knowledge")),
            "theme": lambda: self.run_worker(self.run_action("app.toggle_theme")),
            "quit": self.app.exit,
        }
        action = actions.get(request.command)
        if action is None:
            return False
        action()
        return True

    # --- conversations --------------------------------------------------------------------

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
            view.declined = turn.declined  # its sources are then the closest passages, not citations
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

    # --- the command palette ----------------------------------------------------------------

    def system_commands(self) -> Iterable[SystemCommand]:
        """The command palette's entries on this screen: the keys' actions and the slash commands."""

        def send(text: str) -> Callable[[], Any]:
            async def run() -> None:
                if self.job is None:
                    await self.send(text)
                else:
                    self.notify("Still answering: press Escape to stop it, or wait.", severity="warning")
            return run

        def prefill(text: str) -> Callable[[], None]:
            def run() -> None:
                prompt = self.query_one(PromptInput)
                prompt.set_text(text)
                prompt.focus()
            return run

        yield SystemCommand("New conversation", "Start a fresh conversation (ctrl+n)", self.action_new_conversation)
        yield SystemCommand("Rename conversation", "Give this conversation a name",
                            lambda: self.rename_conversation(self.conversation_id))
        yield SystemCommand("Delete conversation", "Delete this conversation (asks first)",
                            lambda: self.delete_conversation(self.conversation_id))
        yield SystemCommand("Export conversation to Markdown", "Write this conversation to a .md file",
                            self.export_conversation)
        yield SystemCommand("Copy last answer", "Copy the last answer to the clipboard (ctrl+r)", self.action_copy_answer)
        yield SystemCommand("Show sources", "The passages behind the last answer (ctrl+o)", self.action_toggle_sources)
        yield SystemCommand("Toggle conversation list", "Show or hide saved conversations (ctrl+b)",
                            self.action_toggle_sidebar)
        for name in ("help", "sources", "reset"):
            yield SystemCommand(f"/{name}", COMMAND_HELP[name], send(f"/{name}"))
        for name in ("ask", "translate", "summarize"):
            yield SystemCommand(f"/{name} …", COMMAND_HELP[name], prefill(f"/{name} "))
