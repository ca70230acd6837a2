"""The terminal UI driven by Textual's Pilot, over a scripted model and an in-memory knowledge base."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fakes import ScriptedChatModel

from assistant.config import load_settings
from assistant.conversation.history import HistoryStore
from assistant.retrieval.base import Passage
from assistant.retrieval.fake import FakeKnowledgeStore
from assistant.runtime import Runtime
from assistant.skills.prompts import QA_SYSTEM
from assistant.tui.app import AssistantApp
from assistant.tui.dialogs import ConfirmDialog, TextDialog
from assistant.tui.knowledge import KnowledgeScreen
from assistant.tui.widgets import AnswerMessage, ConversationList, PromptInput, SourcesPanel, StatusBar, UserMessage

ADDING = Passage("To add your documents, run `assistant index add PATH`; a folder is read recursively.",
                 "docs/usage.md", "Usage > Adding documents", line_start=12, line_end=15, relevance=0.9, chunk_id=7)
ANSWER = "Run `assistant index add PATH` [1]."


def make_app(replies=None, *, knowledge=None, hold_after: int | None = None, conversation_id=None):
    model = ScriptedChatModel(replies if replies is not None else [ANSWER], hold_after=hold_after)
    runtime = Runtime(load_settings({}, None), chat_model=model,
                      knowledge=knowledge if knowledge is not None else FakeKnowledgeStore([ADDING]))
    return AssistantApp(runtime, conversation_id), model


async def wait_for(pilot, condition: Callable[[], object], timeout: float = 10.0) -> None:
    """Let the app run until condition() holds; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await pilot.pause(0.02)


async def ready(pilot) -> None:
    await wait_for(pilot, lambda: pilot.app.manager is not None)


async def say(pilot, text: str, timeout: float = 10.0) -> AnswerMessage:
    """Type a message, send it with Enter, and wait for the answer to finish."""
    screen = pilot.app.chat
    screen.query_one(PromptInput).text = text
    await pilot.press("enter")
    await wait_for(pilot, lambda: screen.job is None and screen.answers and screen.query(".meta"), timeout)
    return list(screen.answers.values())[-1]


def answer_texts(screen) -> list[str]:
    return [view.text for view in screen.query(AnswerMessage)]


async def test_message_streams_an_answer_and_shows_sources_and_figures():
    app, model = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        screen = app.chat
        view = await say(pilot, "How do I add my documents?")
        assert view.text == ANSWER and view.skill == "qa"
        assert view.query_one("Markdown").source.strip() == ANSWER  # streamed into the Markdown widget
        meta = str(view.query_one(".meta").render())
        assert "Answered from your documents" in meta or "Sources:" in meta
        assert "[1] docs/usage.md › Usage > Adding documents, lines 12-15" in meta
        assert model.calls[-1]["messages"][0]["content"] == QA_SYSTEM
        status = str(screen.query_one(StatusBar).render())
        assert "scripted" in status and "1 doc, 1 chunk" in status and "tok/s" in status
        assert screen.query_one(PromptInput).text == ""
        assert [w.render().plain for w in screen.query(UserMessage)] == ["How do I add my documents?"]


async def test_enter_sends_and_shift_enter_or_ctrl_j_add_a_line():
    app, _ = make_app(["Fine."], knowledge=FakeKnowledgeStore())
    async with app.run_test() as pilot:
        await ready(pilot)
        await pilot.press("h", "i", "shift+enter", "y", "o", "ctrl+j", "u")
        assert app.chat.query_one(PromptInput).text == "hi\nyo\nu"
        await pilot.press("enter")
        await wait_for(pilot, lambda: answer_texts(app.chat) == ["Fine."])
        assert app.manager.turns(app.chat.conversation_id)[0].content == "hi\nyo\nu"


async def test_escape_cancels_the_answer_in_progress_and_nothing_is_saved():
    long_answer = " ".join(f"word{i}" for i in range(400))
    app, _ = make_app([long_answer, "Short."], knowledge=FakeKnowledgeStore(), hold_after=20)
    async with app.run_test() as pilot:
        await ready(pilot)
        screen = app.chat
        screen.query_one(PromptInput).text = "Tell me a long story"
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.job is not None and screen.job.view.streaming)
        await pilot.press("o", "k")  # the prompt stays usable while the answer streams
        assert screen.query_one(PromptInput).text == "ok" and screen.job is not None
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen.job is None)
        view = list(screen.answers.values())[-1]
        assert "Cancelled." in str(view.query_one(".meta").render())
        assert "word399" not in view.query_one("Markdown").source
        assert app.manager.turns(screen.conversation_id) == []
        # Sending works again afterwards.
        assert (await say(pilot, "Again?")).text == "Short."


async def test_slash_commands_run_their_skills_and_help_lists_the_window_commands():
    app, model = make_app()
    async with app.run_test() as pilot:
        await ready(pilot)
        screen = app.chat
        help_view = await say(pilot, "/help")
        assert help_view.skill == "help" and "/translate" in help_view.text and "/export" in help_view.text
        assert model.calls == []
        ask = await say(pilot, "/ask How do I add my documents?")
        assert ask.skill == "qa" and ask.sources == [ADDING]
        assert model.calls[-1]["messages"][0]["content"] == QA_SYSTEM
        sources = await say(pilot, "/sources")
        assert sources.skill == "sources" and "docs/usage.md" in sources.text
        assert screen.query_one(SourcesPanel).display  # /sources opens the panel
        reset = await say(pilot, "/reset")
        assert reset.skill == "reset" and len(screen.query(AnswerMessage)) == 1
        assert app.manager.turns(screen.conversation_id) == []


async def test_summarize_on_its_own_summarizes_the_last_answer():
    app, model = make_app(["Paris is the capital of France and stands on the Seine.", "Paris: capital, on the Seine."],
                          knowledge=FakeKnowledgeStore())
    async with app.run_test() as pilot:
        await ready(pilot)
        await say(pilot, "Tell me about Paris")
        summary = await say(pilot, "/summarize")
        assert summary.skill == "summarize" and summary.text == "Paris: capital, on the Seine."
        assert "stands on the Seine" in model.calls[-1]["messages"][-1]["content"]


async def test_typing_a_slash_shows_command_suggestions_and_tab_completes():
    app, _ = make_app()
    async with app.run_test() as pilot:
        await ready(pilot)
        hints = app.chat.query_one("#hints")
        await pilot.press("/", "t", "r")
        assert hints.display and [hints.get_option_at_index(i).id for i in range(hints.option_count)] == ["translate"]
        await pilot.press("tab")
        assert app.chat.query_one(PromptInput).text == "/translate "
        assert not hints.display
        await pilot.press("ctrl+a", "ctrl+k", "/")
        assert hints.option_count > 8  # every command, the window's own included


async def test_sources_panel_shows_the_cited_passage():
    app, _ = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await say(pilot, "How do I add my documents?")
        await pilot.press("ctrl+o")
        panel = app.chat.query_one(SourcesPanel)
        assert panel.display
        passage = str(panel.query_one("#passage").render())
        assert "docs/usage.md" in passage and "Usage > Adding documents" in passage and "lines 12-15" in passage
        assert "a folder is read recursively" in panel.query_one("#passage-markdown").source
        await pilot.press("escape")
        assert not panel.display
        # Clicking the source under the answer opens it too.
        await pilot.click(".meta", offset=(6, 2))
        await wait_for(pilot, lambda: panel.display)


async def test_conversations_new_switch_rename_delete_and_survive_a_restart():
    app, _ = make_app(["First answer.", "Second answer."], knowledge=FakeKnowledgeStore())
    async with app.run_test(size=(120, 30)) as pilot:
        await ready(pilot)
        screen = app.chat
        await say(pilot, "First question")
        first = screen.conversation_id
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: screen.conversation_id != first and not screen.query(AnswerMessage))
        await say(pilot, "Second question")
        second = screen.conversation_id
        listed = screen.query_one(ConversationList)
        assert [listed.get_option_at_index(i).id for i in range(listed.option_count)] == [second, first]

        # Switch back by selecting it in the list.
        listed.focus()
        listed.highlighted = 1
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.conversation_id == first)
        assert answer_texts(screen) == ["First answer."]

        # Rename with r, delete with Delete (asks first; n keeps it, y deletes it).
        listed.focus()
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, TextDialog))
        app.screen.query_one("Input").value = "Renamed chat"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.manager.history.get(first).title == "Renamed chat")
        await pilot.press("delete")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("n")
        assert app.manager.history.get(first) is not None
        await pilot.press("delete")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: app.manager.history.get(first) is None)
        assert screen.conversation_id not in (first, second)  # the deleted one was open: a new one is

    reopened, _ = make_app(knowledge=FakeKnowledgeStore(), conversation_id=second)
    async with reopened.run_test(size=(120, 30)) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: answer_texts(reopened.chat) == ["Second answer."])


async def test_export_writes_the_conversation_as_markdown(isolated_env):
    app, _ = make_app()
    async with app.run_test() as pilot:
        await ready(pilot)
        await say(pilot, "How do I add my documents?")
        await say(pilot, "/rename Adding docs")
        await say(pilot, "/export notes/chat.md")
        exported = isolated_env / "notes" / "chat.md"
        await wait_for(pilot, exported.exists)
    text = exported.read_text()
    assert text.startswith("# Adding docs")
    assert "## You\n\nHow do I add my documents?" in text and ANSWER in text
    assert "1. docs/usage.md › Usage > Adding documents, lines 12-15" in text
    assert not list(exported.parent.glob(".*"))  # no temporary file left behind


async def test_copy_last_answer_and_toggle_theme():
    app, _ = make_app(["Copy me."], knowledge=FakeKnowledgeStore())
    async with app.run_test() as pilot:
        await ready(pilot)
        await say(pilot, "Say something")
        await pilot.press("ctrl+r")
        assert app.clipboard == "Copy me."
        dark = app.current_theme.dark
        await pilot.press("ctrl+t")
        assert app.current_theme.dark != dark


async def test_command_palette_offers_the_same_actions():
    app, _ = make_app(knowledge=FakeKnowledgeStore())
    async with app.run_test() as pilot:
        await ready(pilot)
        first = app.chat.conversation_id
        await say(pilot, "hello")
        await pilot.press("ctrl+p")
        await pilot.press(*"new conv")
        # Wait for the palette's search to list the entry before choosing it.
        await wait_for(pilot, lambda: any("New conversation" in str(option.prompt)
                                          for option in app.screen.query("CommandList").first().options))
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.chat.conversation_id != first)


async def test_errors_are_notifications_not_tracebacks():
    class Broken(ScriptedChatModel):
        def stream(self, *args, **kwargs):
            raise RuntimeError("CUDA exploded")

    runtime = Runtime(load_settings({}, None), chat_model=Broken(), knowledge=FakeKnowledgeStore())
    app = AssistantApp(runtime)
    async with app.run_test() as pilot:
        await ready(pilot)
        view = await say(pilot, "hello")
        assert "error" in view.classes and "CUDA" not in view.text
        assert any(n.severity == "error" for n in app._notifications)
        empty = await say(pilot, "/translate")
        assert "Usage: /translate" in empty.text


async def test_loading_failure_is_reported_and_the_ui_stays_up():
    settings = load_settings({"model": "no-such-model.gguf"}, None)
    app = AssistantApp(Runtime(settings, knowledge=FakeKnowledgeStore()))
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: any(n.severity == "error" for n in app._notifications))
        assert app.manager is None and "not loaded" in str(app.chat.query_one(StatusBar).render())


async def test_knowledge_screen_lists_adds_and_removes_documents(isolated_env):
    folder = isolated_env / "notes"
    folder.mkdir()
    for name in ("alpha", "beta"):
        (folder / f"{name}.md").write_text(f"# {name}\n\nSome text about {name}.\n")
    app, _ = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: isinstance(app.screen, KnowledgeScreen))
        table = app.screen.query_one("DataTable")
        await wait_for(pilot, lambda: table.row_count == 1)
        assert table.get_row_at(0)[:3] == ["docs/usage.md", "Usage > Adding documents", 1]
        app.screen.query_one("#add-path").value = "notes"
        await pilot.press("enter")
        await wait_for(pilot, lambda: table.row_count == 3)
        assert "2 added" in " ".join(str(n.message) for n in app._notifications)
        await wait_for(pilot, lambda: "3 docs" in str(app.chat.query_one(StatusBar).render()))
        table.focus()
        table.move_cursor(row=1)
        await pilot.press("delete")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(pilot, lambda: table.row_count == 2)
        assert [Path(path).name for path in app.runtime.knowledge.texts] == ["usage.md", "beta.md"]
        await pilot.press("escape")
        assert app.screen is app.chat


async def test_knowledge_screen_opens_while_the_model_is_still_loading(monkeypatch):
    import threading

    loaded = threading.Event()

    def slow_model(settings):
        loaded.wait(30)
        return ScriptedChatModel()

    monkeypatch.setattr("assistant.runtime.load_chat_model", slow_model)
    app = AssistantApp(Runtime(load_settings({}, None), knowledge=FakeKnowledgeStore([ADDING])))
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("ctrl+g")
            await wait_for(pilot, lambda: isinstance(app.screen, KnowledgeScreen))
            await wait_for(pilot, lambda: app.screen.query_one("DataTable").row_count == 1)
            assert app.manager is None
            loaded.set()
            await ready(pilot)
    finally:
        loaded.set()


async def test_a_reopened_conversation_shows_a_declined_answers_passages_as_not_cited():
    settings = load_settings({}, None)
    HistoryStore(settings.history_db).append_exchange("old", "Who built it?", "I don't know based on the documents.",
                                                      skill="qa", sources=[ADDING], declined=True)
    app, _ = make_app(conversation_id="old")
    async with app.run_test(size=(120, 30)) as pilot:
        await ready(pilot)
        await wait_for(pilot, lambda: app.chat.answers)
        view = list(app.chat.answers.values())[-1]
        assert view.declined and "Closest passages (not cited)" in str(view.query_one(".meta").render())


async def test_sidebar_lists_conversations_saved_by_other_front_ends():
    settings = load_settings({}, None)
    HistoryStore(settings.history_db).append_exchange("from-cli", "asked on the command line", "answer")
    app, _ = make_app(knowledge=FakeKnowledgeStore())
    async with app.run_test(size=(120, 30)) as pilot:
        await ready(pilot)
        listed = app.chat.query_one(ConversationList)
        # The manager is set before the chat screen has listed the conversations: wait for the list.
        await wait_for(pilot, lambda: listed.option_count == 2)
        assert listed.get_option_at_index(1).id == "from-cli"


class SteadyClock:
    """Stands in for the manager's ``time`` module: time moves only while the model writes (SteadyModel),
    so the reply time shown does not depend on how often the manager reads the clock."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now


class SteadyModel(ScriptedChatModel):
    """Reports the same speed on every run, and every reply takes 1.5 s on its clock, so screenshots do not change."""

    def __init__(self, replies, clock: SteadyClock) -> None:
        super().__init__(replies)
        self.clock = clock

    def stream(self, *args, **kwargs):
        stream = super().stream(*args, **kwargs)
        pieces = stream.pieces

        def steady():
            yield from pieces
            stream.usage.time_to_first_token_s = 0.25
            stream.usage.total_s = 0.25 + (stream.usage.completion_tokens - 1) / 20
            self.clock.now += 1.5

        stream.pieces = steady()
        return stream


def steady_app(monkeypatch, replies, **kwargs):
    clock = SteadyClock()
    monkeypatch.setattr("assistant.conversation.manager.time", clock)
    runtime = Runtime(load_settings({}, None), chat_model=SteadyModel(replies, clock),
                      knowledge=kwargs.pop("knowledge", FakeKnowledgeStore([ADDING])))
    return AssistantApp(runtime, **kwargs)


def test_snapshot_answer_with_sources_at_80x24(snap_compare, monkeypatch):
    app = steady_app(monkeypatch, ["Run `assistant index add PATH` [1]: it reads a file or a whole folder.\n\n"
                                   "```bash\nassistant index add docs/\n```"])

    async def run_before(pilot) -> None:
        await ready(pilot)
        pilot.app.chat.query_one(PromptInput).cursor_blink = False  # a blinking cursor makes screenshots differ
        await say(pilot, "How do I add my documents?")

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_snapshot_wide_with_conversations_and_sources_panel(snap_compare, monkeypatch):
    settings = load_settings({}, None)
    HistoryStore(settings.history_db).append_exchange("older", "Translate good morning into French", "Bonjour",
                                                      skill="translate")
    app = steady_app(monkeypatch, [ANSWER])

    async def run_before(pilot) -> None:
        await ready(pilot)
        pilot.app.chat.query_one(PromptInput).cursor_blink = False  # a blinking cursor makes screenshots differ
        await say(pilot, "How do I add my documents?")
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: pilot.app.chat.query_one(SourcesPanel).display)

    assert snap_compare(app, terminal_size=(120, 30), run_before=run_before)


@pytest.mark.real_model
async def test_the_real_embedded_model_answers_in_the_tui(real_model):
    settings = load_settings({"max_new_tokens": 32}, None)
    app = AssistantApp(Runtime(settings, chat_model=real_model, knowledge=FakeKnowledgeStore()))
    async with app.run_test() as pilot:
        await ready(pilot)
        view = await say(pilot, "What is the capital of France?", timeout=120)
        assert view.skill == "chat" and view.text.strip() and "error" not in view.classes
        assert view.query_one("Markdown").source.strip()
        assert "tok/s" in str(app.chat.query_one(StatusBar).render())


@pytest.mark.real_model
async def test_a_new_user_asking_how_to_add_documents_gets_a_cited_answer(real_model):
    """What `make run` opens: the project's docs/ in a real knowledge base, and the embedded model."""
    from assistant.retrieval.knowledge import KnowledgeBase

    settings = load_settings({}, None)
    knowledge = KnowledgeBase(settings.index)
    knowledge.add([Path(__file__).resolve().parents[1] / "docs"])
    app = AssistantApp(Runtime(settings, chat_model=real_model, knowledge=knowledge))
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        view = await say(pilot, "how do I add my documents?", timeout=180)
        assert view.skill == "qa" and not view.declined and "[1]" in view.text
        assert "assistant index add" in view.text
        assert view.sources[0].source.endswith("docs/getting-started.md")


async def test_a_failing_conversation_store_is_a_notification_not_a_crash():
    app, _ = make_app(knowledge=FakeKnowledgeStore())
    async with app.run_test(size=(120, 30)) as pilot:
        await ready(pilot)
        app.manager.history.close()  # every later read or write fails
        await pilot.press("ctrl+n")
        app.chat.query_one(PromptInput).text = "/rename Broken"
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("Could not" in str(n.title) for n in app._notifications))
        assert app.is_running
