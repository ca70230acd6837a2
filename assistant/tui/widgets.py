"""The chat screen's widgets: the prompt, messages, conversation list, sources panel and status bar."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Label, Markdown, OptionList, Static, TextArea
from textual.widgets.markdown import MarkdownStream
from textual.widgets.option_list import Option

from ..conversation.types import ConversationInfo, Passage, Reply

# Replies that are messages from the assistant itself, not model output: shown as plain text.
PLAIN_SKILLS = ("help", "sources", "reset", "error")
MARKDOWN_SUFFIXES = (".md", ".markdown")


def short_path(source: str) -> str:
    """A document path relative to the working folder when it is inside it."""
    try:
        relative = os.path.relpath(source)
    except ValueError:  # another drive on Windows
        return source
    return source if relative.startswith("..") else relative


def passage_label(passage: Passage) -> str:
    return Passage(passage.text, short_path(passage.source), passage.title, passage.page,
                   passage.line_start, passage.line_end).location


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def adapter_label(adapter: str | None) -> str:
    return "default" if adapter is None else "base" if adapter == "none" else Path(adapter).name


def is_partial_command(text: str) -> bool:
    """'/as' is a command being typed; '/ask why' and plain text are not."""
    return text.startswith("/") and not any(c.isspace() for c in text)


class PromptInput(TextArea):
    """The message box: Enter sends, shift+Enter or ctrl+j starts a new line, Tab completes a command."""

    BINDINGS = [Binding("shift+enter,ctrl+j", "newline", "New line", show=False)]

    class Submitted(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class CompletionRequested(Message):
        pass

    def __init__(self, **kwargs) -> None:
        super().__init__(soft_wrap=True, tab_behavior="focus", compact=True,
                         placeholder="Ask a question, or type / for commands", **kwargs)

    async def _on_key(self, event) -> None:
        # Handled before the TextArea's own key handling, which would insert a newline or move focus.
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.post_message(self.Submitted(self.text))
            return
        if event.key == "tab" and is_partial_command(self.text):
            event.stop()
            event.prevent_default()
            self.post_message(self.CompletionRequested())
            return
        await super()._on_key(event)

    def action_newline(self) -> None:
        self.insert("\n")

    def set_text(self, text: str) -> None:
        self.text = text
        self.move_cursor(self.document.end)


class CommandHints(OptionList):
    """The slash commands matching what is typed, shown above the prompt."""

    can_focus = False

    def show_matches(self, typed: str, commands: dict[str, str]) -> list[str]:
        matches = [name for name in commands if name.startswith(typed[1:].lower())] if is_partial_command(typed) else []
        self.clear_options()
        self.add_options(
            Option(Content.assemble((f"/{name}", "bold"), "  ", (commands[name], "dim")), id=name) for name in matches
        )
        self.display = bool(matches)
        if matches:
            self.highlighted = 0
        return matches


class UserMessage(Static):
    def __init__(self, text: str) -> None:
        super().__init__(Content(text), classes="message user")


class AnswerMessage(Vertical):
    """One answer: streamed Markdown (plain text for the assistant's own messages), then its
    notice, clickable sources and speed."""

    def __init__(self, index: int, *, text: str = "", skill: str = "", sources: Sequence[Passage] = (),
                 pending: str = "…") -> None:
        super().__init__(classes="message answer")
        self.index = index
        self.text = text
        self.skill = skill
        self.sources = list(sources)
        self.declined = False
        self.restored = bool(text)
        self._pending = pending
        self._stream: MarkdownStream | None = None
        self._streamed: list[str] = []
        self._height = 0

    class Grown(Message):
        def __init__(self, lines: int) -> None:
            super().__init__()
            self.lines = lines

    def on_resize(self, event) -> None:
        grown, self._height = event.size.height - self._height, event.size.height
        if grown > 0:
            self.post_message(self.Grown(grown))

    def compose(self) -> ComposeResult:
        if self.restored:
            yield self._body(self.text, self.skill)
            yield Static(self._meta(None), classes="meta")
        else:
            yield Static(self._pending, classes="pending")

    @staticmethod
    def _body(text: str, skill: str) -> Static | Markdown:
        if skill in PLAIN_SKILLS:
            return Static(Content(text), classes="body plain")
        return Markdown(text, classes="body")

    @property
    def streaming(self) -> bool:
        return self._stream is not None

    async def write(self, piece: str) -> None:
        if not self.is_attached:  # the conversation was switched away while this answer streamed
            return
        if self._stream is None:
            await self.remove_children(".pending")
            body = Markdown(classes="body")
            await self.mount(body)
            self._stream = Markdown.get_stream(body)
        self._streamed.append(piece)
        await self._stream.write(piece)

    async def finish(self, reply: Reply, extra: str = "") -> None:
        """Show the final reply: its text is authoritative and replaces what streamed if it differs."""
        if self._stream is not None:
            await self._stream.stop()
        if not self.is_attached:
            return
        self.text, self.skill, self.declined = reply.text + extra, reply.skill, reply.declined
        self.sources = list(reply.sources)
        streamed = "".join(self._streamed)
        if self.text.strip() != streamed.strip() or reply.skill in PLAIN_SKILLS:
            await self.remove_children()
            await self.mount(self._body(self.text or "(no answer)", reply.skill))
        await self.mount(Static(self._meta(reply), classes="meta"))
        self.set_class(reply.error, "error")

    def _meta(self, reply: Reply | None) -> Content:
        parts: list[Content] = []
        if reply is not None and reply.notice:
            parts.append(Content.styled(reply.notice, "italic"))
        if self.sources and self.skill != "sources":
            links = [Content.styled("Closest passages (not cited):" if self.declined else "Sources:", "bold")]
            for i, passage in enumerate(self.sources):
                links.append(Content.from_markup(f"[@click=screen.show_sources({self.index},{i})]$label[/]",
                                                 label=f"[{i + 1}] {passage_label(passage)}"))
            parts.append(Content("\n").join(links))
        if reply is not None:
            parts.append(Content.styled(reply_figures(reply), "dim"))
        return Content("\n").join(p for p in parts if p)


def reply_figures(reply: Reply) -> str:
    """'qa · 42 tokens · 25.3 tok/s · 2.1 s' (the status bar adds the time to the first token)."""
    figures: list[str] = [reply.skill]
    usage = reply.usage
    if usage is not None and usage.completion_tokens:
        figures.append(f"{usage.completion_tokens} tokens")
        if usage.decode_tokens_per_s:
            figures.append(f"{usage.decode_tokens_per_s:.1f} tok/s")
    if "total_s" in reply.timings:
        figures.append(f"{reply.timings['total_s']:.1f} s")
    return " · ".join(figures)


class ConversationList(OptionList):
    """Saved conversations, most recent first, one line each; Enter opens one, r renames, Delete removes."""

    BINDINGS = [
        Binding("r", "rename", "Rename"),
        Binding("delete,d", "delete", "Delete"),
    ]

    def show(self, conversations: Sequence[ConversationInfo], current: str) -> None:
        options = []
        if current not in {c.id for c in conversations}:
            options.append(Option(Content.styled("✚ New conversation", "italic"), id=current))
        for info in conversations:
            options.append(Option(Content(info.title or "Untitled"), id=info.id))
        self.clear_options()
        self.add_options(options)
        ids = [option.id for option in options]
        self.highlighted = ids.index(current) if current in ids else None

    @property
    def highlighted_id(self) -> str | None:
        option = self.highlighted_option
        return option.id if option is not None else None

    class RenameRequested(Message):
        def __init__(self, conversation_id: str) -> None:
            super().__init__()
            self.conversation_id = conversation_id

    class DeleteRequested(Message):
        def __init__(self, conversation_id: str) -> None:
            super().__init__()
            self.conversation_id = conversation_id

    def action_rename(self) -> None:
        if self.highlighted_id:
            self.post_message(self.RenameRequested(self.highlighted_id))

    def action_delete(self) -> None:
        if self.highlighted_id:
            self.post_message(self.DeleteRequested(self.highlighted_id))


class SourcesPanel(Vertical):
    """An answer's sources; the highlighted one's passage is shown in full below the list."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.sources: list[Passage] = []

    def compose(self) -> ComposeResult:
        yield Label("Sources", id="sources-title")
        yield OptionList(id="source-list")
        with VerticalScroll(id="passage-scroll"):
            yield Static(id="passage")
            yield Static(id="passage-text")
            yield Markdown(id="passage-markdown")

    def show(self, sources: Sequence[Passage], selected: int = 0, declined: bool = False) -> None:
        self.sources = list(sources)
        self.query_one("#sources-title", Label).update(
            "Closest passages (not cited)" if declined else f"Sources ({len(sources)})")
        options = self.query_one("#source-list", OptionList)
        options.clear_options()
        options.add_options(Option(f"[{i}] {passage_label(p)}") for i, p in enumerate(self.sources, 1))
        if self.sources:
            options.highlighted = min(selected, len(self.sources) - 1)
            self.show_passage(options.highlighted)
        else:
            self.query_one("#passage", Static).update("No sources for this answer.")
            self.query_one("#passage-text").display = self.query_one("#passage-markdown").display = False

    def show_passage(self, index: int) -> None:
        passage = self.sources[index]
        where = []
        if passage.page is not None:
            where.append(f"page {passage.page}")
        elif passage.line_start is not None:
            start, end = passage.line_start, passage.line_end or passage.line_start
            where.append(f"line {start}" if end == start else f"lines {start}-{end}")
        if passage.relevance is not None:
            where.append(f"relevance {passage.relevance:.2f}")
        header = [Content.styled(short_path(passage.source), "bold")]
        if passage.title:
            header.append(Content.styled(passage.title, "italic"))
        if where:
            header.append(Content.styled(" · ".join(where), "dim"))
        self.query_one("#passage", Static).update(Content("\n").join(header))
        # Markdown sources read better rendered (their hard-wrapped lines reflowed); others verbatim.
        markdown = Path(passage.source).suffix.lower() in MARKDOWN_SUFFIXES
        self.query_one("#passage-text", Static).update(Content("") if markdown else Content(passage.text))
        self.query_one("#passage-markdown", Markdown).update(passage.text if markdown else "")
        self.query_one("#passage-text").display = not markdown
        self.query_one("#passage-markdown").display = markdown
        self.query_one("#passage-scroll", VerticalScroll).scroll_home(animate=False)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if 0 <= event.option_index < len(self.sources):
            self.show_passage(event.option_index)


class StatusBar(Static):
    """Model, active adapter, index size and the last answer's speed, or what is happening now."""

    def __init__(self, model: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.model = model
        self.info: dict | None = None
        self.activity = f"loading {model}…"
        self.last: Reply | None = None

    def on_mount(self) -> None:
        self._render_status()

    def set_info(self, info: dict) -> None:
        self.info, self.model = info, info.get("model", self.model)
        self._render_status()

    def set_activity(self, activity: str) -> None:
        self.activity = activity
        self._render_status()

    def set_last(self, reply: Reply) -> None:
        self.last = reply
        self._render_status()

    def _render_status(self) -> None:
        parts = [Content.styled(self.model, "bold")]
        if self.info is not None:
            adapters = self.info.get("adapters", {})
            skill = self.last.skill if self.last is not None and self.last.skill in adapters else "chat"
            parts.append(Content(f"{skill}: {adapter_label(adapters.get(skill))}"))
            parts.append(Content(f"{plural(self.info.get('documents', 0), 'doc')}, "
                                 f"{plural(self.info.get('chunks', 0), 'chunk')}"))
        if self.activity:
            parts.append(Content.styled(self.activity, "italic"))
        elif self.last is not None and last_answer_figures(self.last):
            parts.append(Content(last_answer_figures(self.last)))
        self.update(Content(" │ ").join(parts))


def last_answer_figures(reply: Reply) -> str:
    """'27 tok/s · first 1.6 s · 8.0 s': decode speed, time to the first token, total time."""
    figures = []
    if reply.usage is not None and reply.usage.decode_tokens_per_s:
        speed = reply.usage.decode_tokens_per_s
        figures.append(f"{speed:.0f} tok/s" if speed >= 10 else f"{speed:.1f} tok/s")
    if reply.usage is not None and reply.usage.time_to_first_token_s:
        figures.append(f"first {reply.usage.time_to_first_token_s:.1f} s")
    if "total_s" in reply.timings:
        figures.append(f"{reply.timings['total_s']:.1f} s")
    return " · ".join(figures)
