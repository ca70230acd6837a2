"""The Telegram bot through Application.process_update, with an in-process fake Bot API and a scripted model."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest
from fakes import ScriptedChatModel
from telegram import Update
from telegram_fake import FakeBotAPI, FakeTransport, visible_text
from test_manager import EIFFEL

from assistant.config import load_settings
from assistant.conversation.manager import Limits
from assistant.conversation.types import APOLOGY, Reply, TextDelta
from assistant.errors import ConfigError
from assistant.retrieval.fake import FakeKnowledgeStore
from assistant.runtime import Runtime
from assistant.telegram.access import Fairness
from assistant.telegram.bot import TelegramBot, safe_file_name
from assistant.telegram.config import BotConfig, load_bot_config
from assistant.telegram.formatting import html_to_text, markdown_to_html, reply_html, split_html, utf16_len
from assistant.telegram.retry import RetryingLimiter

TOKEN = "123456:TEST-token-that-must-never-be-logged"
ALICE, BOB, GROUP = 42, 7, -100500


def valid(markup: str) -> str:
    """The text Telegram would show; fails the test if Telegram would reject the markup."""
    text, error = visible_text(markup, "HTML")
    assert not error, (error, markup)
    return text


# --- formatting ------------------------------------------------------------------------------

def test_markdown_becomes_telegram_html_with_everything_escaped():
    markup = markdown_to_html(
        "# Setup\nUse **bold**, *italics*, ~~old~~ and `a < b && c`.\n\n"
        "1. first\n2. second\n   - nested <tag>\n\n"
        "> quoted\n\n```python\nif x < 1 and y > 2:\n    print('&')\n```\n\n"
        "| name | size |\n|---|---|\n| a.md | 3 |\n\n"
        "[docs](https://example.com/a?b=1&c=2) and [local](docs/file.md) <script>alert(1)</script>"
    )
    assert "<b>Setup</b>" in markup and "<b>bold</b>" in markup and "<i>italics</i>" in markup and "<s>old</s>" in markup
    assert "<code>a &lt; b &amp;&amp; c</code>" in markup
    assert '<pre><code class="language-python">if x &lt; 1 and y &gt; 2:\n    print(\'&amp;\')</code></pre>' in markup
    assert "1. first\n2. second\n   • nested &lt;tag&gt;" in markup
    assert "<blockquote>quoted</blockquote>" in markup
    assert '<a href="https://example.com/a?b=1&amp;c=2">docs</a>' in markup
    assert "local" in markup and 'href="docs' not in markup  # Telegram rejects relative links
    assert "&lt;script&gt;" in markup and "<script>" not in markup
    shown = valid(markup)
    assert "name | size" in shown and "a.md | 3" in shown


@pytest.mark.parametrize("text", [
    "```\nunclosed code block <b>", "**bold without end", "a & b < c > d", "<b>not really html</b>",
    "> > > nested quotes", "* [link](javascript:alert(1))", "`", "&amp; &#x27; &nbsp;", "| a |\n|---|\n| <x> |",
    "Text with emoji 😀 and ümlauts", "- [ ] task\n- [x] done", "Heading\n===\n\n---\n\n![image](https://x.org/a.png)",
])
def test_any_model_output_becomes_markup_telegram_accepts(text):
    valid(markdown_to_html(text))


def test_long_text_is_cut_between_paragraphs_and_never_inside_a_code_block():
    prose = " ".join(f"Sentence {i} says something useful." for i in range(60))
    code = "\n".join(f"print({i} < {i + 1})" for i in range(60))
    text = f"{prose}\n\n```python\n{code}\n```\n\n{prose}\n\n{prose}"
    pieces = split_html(markdown_to_html(text))
    assert len(pieces) >= 2
    shown = [valid(piece) for piece in pieces]
    assert all(utf16_len(piece) <= 4096 for piece in pieces)
    holding_code = [piece for piece in pieces if "print(0 &lt; 1)" in piece]
    assert len(holding_code) == 1 and "print(59 &lt; 60)" in holding_code[0]
    assert " ".join(shown).split() == html_to_text(markdown_to_html(text)).split()


def test_a_code_block_longer_than_a_message_continues_as_a_code_block():
    code = "\n".join(f"value_{i} = compute({i}) & mask" for i in range(400))
    pieces = split_html(markdown_to_html(f"```python\n{code}\n```"))
    assert len(pieces) >= 3
    for piece in pieces:
        valid(piece)
        assert piece.startswith('<pre><code class="language-python">') and piece.endswith("</code></pre>")
        assert utf16_len(piece) <= 4096
    lines = "\n".join(html_to_text(piece) for piece in pieces).splitlines()
    assert lines == code.splitlines()


def test_one_long_paragraph_is_cut_after_a_sentence():
    paragraph = " ".join(f"This is sentence number {i} of a long answer." for i in range(200))
    pieces = split_html(markdown_to_html(f"Some **{paragraph}**"), limit=1000)
    assert len(pieces) >= 9
    for piece in pieces[:-1]:
        assert valid(piece).endswith("answer.") and piece.endswith("</b>")
    assert " ".join(valid(p) for p in pieces).split() == ("Some " + paragraph).split()


def test_a_long_paragraph_is_not_cut_after_an_abbreviation():
    paragraph = " ".join(f"Report {i} was checked by Dr. Smith and Mr. Jones on the same day." for i in range(200))
    pieces = split_html(markdown_to_html(paragraph), limit=700)
    assert len(pieces) >= 15
    for piece in pieces[:-1]:
        assert valid(piece).endswith("same day.")


def test_limit_counts_utf16_units_like_telegram():
    text = "😀 " * 3000  # 3 UTF-16 units each, 2 Python characters
    pieces = split_html(markdown_to_html(text))
    assert len(pieces) == 3 and all(utf16_len(piece) <= 4096 for piece in pieces)


def test_reply_lists_sources_and_notice_after_the_answer():
    markup = reply_html("It is **330 m** [1].", [EIFFEL], "Answered from your documents.")
    assert markup.startswith("It is <b>330 m</b> [1].")
    assert "<b>Sources</b>\n[1] docs/paris.md › Landmarks, lines 3-4" in markup
    assert markup.endswith("<i>Answered from your documents.</i>")


# --- configuration and limits ----------------------------------------------------------------

def test_config_merges_the_toml_table_with_flags(tmp_path):
    section = {"allowed_users": [1, "2"], "allowed-chats": [-100], "admins": [3], "requests_per_minute": 5,
               "api_url": "http://127.0.0.1:8081/bot/"}
    config = load_bot_config(section, tmp_path, allow=[4], admin=[5], overrides={"allow_all": None, "port": 9000})
    assert config.allowed_users == {1, 2, 4} and config.admins == {3, 5} and config.allowed_chats == {-100}
    assert config.requests_per_minute == 5 and config.port == 9000 and not config.allow_all
    assert config.base_url == "http://127.0.0.1:8081/bot" and config.base_file_url == "http://127.0.0.1:8081/file/bot"
    assert config.uploads_dir == tmp_path / "uploads" and not config.restricted
    assert load_bot_config({}, tmp_path).restricted
    assert not load_bot_config({}, tmp_path, overrides={"allow_all": True}).restricted
    assert BotConfig().base_url == "https://api.telegram.org/bot"


@pytest.mark.parametrize("section, message", [
    ({"allowed_user": [1]}, "Unknown key 'allowed_user'"),
    ({"admins": ["@alice"]}, "numeric Telegram ids"),
    ({"max_file_mb": "lots"}, "not a valid float"),
    ({"requests_per_minute": 0}, "must be positive"),
    ({"webhook_url": "http://example.com/hook"}, "https://"),
])
def test_bad_config_is_one_clear_error(tmp_path, section, message):
    with pytest.raises(ConfigError, match=message):
        load_bot_config(section, tmp_path)


def test_fairness_limits_requests_per_minute_and_one_at_a_time():
    now = [0.0]
    fairness = Fairness(2, clock=lambda: now[0])
    assert fairness.begin(1) is None
    assert "still answering" in fairness.begin(1)
    assert fairness.begin(2) is None  # others are not held up
    fairness.end(1)
    now[0] = 10
    assert fairness.begin(1) is None
    fairness.end(1)
    refusal = fairness.begin(1)
    assert "2 requests in the last minute" in refusal and "50 s" in refusal
    now[0] = 60.5
    assert fairness.begin(1) is None


def test_uploaded_file_names_cannot_escape_the_uploads_folder():
    assert safe_file_name("../../etc/passwd", "x") == "passwd"
    assert safe_file_name("..", "fallback.txt") == "fallback.txt"
    assert safe_file_name(".hidden.md", "x") == "hidden.md"
    assert safe_file_name("a\\b:c\nd.md", "x") == "a_b_c_d.md"
    assert safe_file_name(None, "id.txt") == "id.txt"


# --- the bot through process_update ----------------------------------------------------------

def make_manager(replies="Hello! How can I help?", knowledge=None, **settings):
    model = ScriptedChatModel(replies if callable(replies) else [replies], context_window=8192)
    runtime = Runtime(load_settings(settings or None), chat_model=model, knowledge=knowledge)
    return runtime.manager, model


@contextlib.asynccontextmanager
async def running(api: FakeBotAPI, manager, **config):
    options = {"allowed_users": frozenset({ALICE}), "stream_interval": 0.0, "group_stream_interval": 0.0,
               "uploads_dir": load_settings().data_dir / "uploads", **config}
    bot = TelegramBot(manager, BotConfig(**options), TOKEN, request=FakeTransport(api),
                      limiter=RetryingLimiter(backoff=0.01))
    await bot.application.initialize()
    try:
        yield bot
    finally:
        await bot.application.shutdown()
        bot.executor.shutdown()


async def deliver(bot: TelegramBot, update: dict) -> None:
    await bot.application.process_update(Update.de_json(update, bot.bot))


class ScriptedManager:
    """A conversation manager double that streams given pieces, then a given final reply."""

    def __init__(self, pieces, final: Reply, knowledge=None) -> None:
        self.pieces, self.final, self.knowledge = pieces, final, knowledge
        self.requests: list[tuple] = []

    def stream(self, conversation_id, text, user="", *, attachment=None, cancel=None, remember=True):
        self.requests.append((conversation_id, text, user, attachment))
        for piece in self.pieces:
            yield TextDelta(piece)
        yield self.final


async def test_private_answer_streams_as_a_draft_then_stays_as_a_message():
    api = FakeBotAPI()
    manager, model = make_manager("Hello **there**, how can I help?")
    async with running(api, manager) as bot:
        await deliver(bot, api.message("Hi"))
    drafts = api.calls_of("sendMessageDraft")
    assert len(drafts) >= 2 and drafts[-1].params["text"] == "Hello <b>there</b>, how can I help?"
    assert len({call.params["draft_id"] for call in drafts}) == 1
    assert api.texts(ALICE) == ["Hello there, how can I help?"]
    assert api.methods()[1] == "sendChatAction" and api.calls_of("sendChatAction")[0].params["action"] == "typing"
    assert manager.turns(f"tg:{ALICE}")[0].content == "Hi"  # remembered under the chat's conversation
    assert manager.turns(f"tg:{ALICE}")[0].user == f"tg:{ALICE}"


async def test_final_text_replaces_a_withdrawn_streamed_answer_and_surplus_messages_go():
    api = FakeBotAPI()
    long_guess = "Napoleon painted it green. " * 300  # two messages' worth while streaming
    manager = ScriptedManager([long_guess[:4000], long_guess[4000:]],
                              Reply("I couldn't find that in your documents.", "qa", declined=True, sources=[EIFFEL]))
    async with running(api, manager, allowed_chats=frozenset({GROUP})) as bot:
        await deliver(bot, api.message("/ask What colour is it?", chat_id=GROUP, chat_type="supergroup"))
    assert len(api.calls_of("sendMessage")) == 2 and api.calls_of("editMessageText")
    assert api.calls_of("deleteMessage") and not api.calls_of("sendMessageDraft")  # no drafts in groups
    assert api.texts(GROUP) == ["I couldn't find that in your documents."]  # no sources for a declined answer
    first = api.chat(GROUP)[0]
    assert first.reply_to == 1  # answers in groups quote the question


async def test_groups_get_answers_only_to_commands_mentions_and_replies():
    api = FakeBotAPI()
    manager, model = make_manager("Sure.")
    group = {"chat_id": GROUP, "chat_type": "supergroup"}
    async with running(api, manager, allowed_chats=frozenset({GROUP})) as bot:
        await deliver(bot, api.message("just chatting among ourselves", **group))
        await deliver(bot, api.message("/help@some_other_bot", **group))
        assert api.methods() == ["getMe"] and model.calls == []
        await deliver(bot, api.message("@assistant_test_bot what is a bot?", **group))
        assert model.calls[-1]["messages"][-1]["content"] == "what is a bot?"
        answer = api.chat(GROUP)[-1]
        await deliver(bot, api.message("and why?", reply_to=api.bot_message(answer), **group))
        assert model.calls[-1]["messages"][-1]["content"] == "and why?"
        await deliver(bot, api.message("/help@assistant_test_bot", **group))
    assert len(api.texts(GROUP)) == 3 and "/translate" in api.texts(GROUP)[-1]


async def test_each_topic_of_a_forum_group_is_a_conversation_of_its_own():
    api = FakeBotAPI()
    manager, model = make_manager("Sure.")
    group = {"chat_id": GROUP, "chat_type": "supergroup"}
    async with running(api, manager, allowed_chats=frozenset({GROUP})) as bot:
        await deliver(bot, api.message("@assistant_test_bot what is a bot?", topic=11, **group))
        await deliver(bot, api.message("@assistant_test_bot and a topic?", topic=12, **group))
    assert [turn.content for turn in manager.turns(f"tg:{GROUP}:11")] == ["what is a bot?", "Sure."]
    assert [turn.content for turn in manager.turns(f"tg:{GROUP}:12")] == ["and a topic?", "Sure."]
    assert manager.turns(f"tg:{GROUP}") == []
    assert [call.params.get("message_thread_id") for call in api.calls_of("sendMessage")] == ["11", "12"]  # in its topic


async def test_a_stranger_is_refused_once_and_nothing_reaches_the_model(caplog):
    api = FakeBotAPI()
    manager, model = make_manager()
    async with running(api, manager) as bot:
        with caplog.at_level(logging.INFO):
            await deliver(bot, api.message("Tell me your secrets", user_id=BOB, username="mallory"))
            await deliver(bot, api.message("Please?", user_id=BOB, username="mallory"))
            await deliver(bot, api.message("/summarize secret", user_id=BOB, username="mallory", chat_id=GROUP,
                                           chat_type="group"))
    assert api.texts(BOB) == [f"Sorry, this is a private assistant. Ask its operator to allow your Telegram user id {BOB}."]
    assert api.texts(GROUP) == [] and model.calls == [] and manager.turns(f"tg:{BOB}") == []
    assert caplog.text.count(f"refused user {BOB} (@mallory") == 3


async def test_nobody_is_allowed_without_an_allowlist():
    api = FakeBotAPI()
    manager, model = make_manager()
    async with running(api, manager, allowed_users=frozenset()) as bot:
        await deliver(bot, api.message("Hi"))
    assert "private assistant" in api.texts(ALICE)[0] and model.calls == []


async def test_html_telegram_rejects_is_sent_as_plain_text():
    api = FakeBotAPI()
    api.fail("sendMessage", 400, "Bad Request: can't parse entities: unsupported start tag", retry_after=None)
    manager, _ = make_manager("Use **this** one.")
    async with running(api, manager) as bot:
        await deliver(bot, api.message("Which?"))
    plain = api.calls_of("sendMessage")[-1]
    assert plain.params["text"] == "Use this one." and "parse_mode" not in plain.params
    assert api.texts(ALICE) == ["Use this one."]


async def test_a_server_without_drafts_gets_edited_messages_from_then_on():
    api = FakeBotAPI()
    api.fail("sendMessageDraft", 404, "Not Found: method not found", retry_after=None)
    manager, _ = make_manager("one two three four five six")
    async with running(api, manager) as bot:
        await deliver(bot, api.message("Count"))
        await deliver(bot, api.message("Again"))
        assert not bot.drafts_available
    assert len(api.calls_of("sendMessageDraft")) == 1  # tried once, then remembered
    assert api.calls_of("editMessageText") and api.texts(ALICE) == ["one two three four five six"] * 2


async def test_flood_control_during_streaming_pauses_previews_not_the_answer():
    api = FakeBotAPI()
    api.fail("editMessageText", 429, retry_after=1)
    manager = ScriptedManager(["one", " two", " three", " four"], Reply("one two three four", "chat"))
    async with running(api, manager, allowed_chats=frozenset({GROUP})) as bot:
        await deliver(bot, api.message("/chat count", chat_id=GROUP, chat_type="group"))
    edits = api.calls_of("editMessageText")
    assert len(edits) == 2  # the refused preview, then no more previews: only the final text, when allowed
    assert edits[1].at - edits[0].at >= 1.0
    assert api.texts(GROUP) == ["one two three four"]


async def test_previews_in_groups_are_throttled():
    api = FakeBotAPI()
    manager = ScriptedManager([f"word{i} " for i in range(20)], Reply("All twenty words.", "chat"))
    async with running(api, manager, allowed_chats=frozenset({GROUP}), group_stream_interval=60) as bot:
        await deliver(bot, api.message("/chat go", chat_id=GROUP, chat_type="group"))
    assert [c.method for c in api.calls if c.method != "sendChatAction"][1:] == ["sendMessage", "editMessageText"]
    assert api.texts(GROUP) == ["All twenty words."]


async def test_network_errors_and_5xx_are_retried():
    api = FakeBotAPI()
    api.fail("sendMessage", 502, "Bad Gateway", retry_after=None, times=2)
    manager, _ = make_manager("/help works")
    async with running(api, manager) as bot:
        await deliver(bot, api.message("/help"))
    assert len(api.calls_of("sendMessage")) == 3 and "/translate" in api.texts(ALICE)[0]


async def test_a_failure_while_answering_is_an_apology_in_chat_and_details_in_the_log(caplog):
    class Exploding(ScriptedManager):
        def stream(self, *args, **kwargs):
            raise RuntimeError("disk on fire")
            yield  # a generator, like the real one

    api = FakeBotAPI()
    async with running(api, Exploding([], Reply("", "chat"))) as bot:
        await deliver(bot, api.message("Hi"))
    assert api.texts(ALICE) == [APOLOGY]
    assert "disk on fire" in caplog.text and "disk on fire" not in APOLOGY


async def test_one_request_at_a_time_per_user_and_a_rate_limit():
    api = FakeBotAPI()
    model = ScriptedChatModel(["a slow answer with several words in it"], delay=0.05)
    manager = Runtime(load_settings(), chat_model=model, knowledge=None).manager
    async with running(api, manager, requests_per_minute=2) as bot:
        await asyncio.gather(deliver(bot, api.message("first")), deliver(bot, api.message("second")))
        assert len(model.calls) == 1 and any("still answering" in t for t in api.texts(ALICE))
        await deliver(bot, api.message("third"))
        await deliver(bot, api.message("fourth"))
    assert len(model.calls) == 2
    assert "2 requests in the last minute" in api.texts(ALICE)[-1]


async def test_overlong_input_is_refused_before_the_model():
    api = FakeBotAPI()
    manager, model = make_manager()
    manager.limits = Limits(max_input_chars=100)  # [limits] max_input_chars, the one limit of every front-end
    async with running(api, manager) as bot:
        await deliver(bot, api.message("x" * 101))
    assert "too long (101 characters; the limit is 100)" in api.texts(ALICE)[0] and model.calls == []


async def test_admins_add_documents_and_see_the_index_others_cannot():
    api = FakeBotAPI()
    knowledge = FakeKnowledgeStore()
    manager, model = make_manager(knowledge=knowledge)
    notes = api.document("../notes.md", b"# Notes\n\nThe launch is on Friday.")
    async with running(api, manager, admins=frozenset({BOB}), max_file_mb=1) as bot:
        await deliver(bot, api.message(user_id=ALICE, document=notes))
        await deliver(bot, api.message("/index", user_id=ALICE))
        await deliver(bot, api.message(user_id=BOB, document=notes))
        await deliver(bot, api.message("/index", user_id=BOB))
        await deliver(bot, api.message(user_id=BOB, document=api.document("photo.png", b"\x89PNG")))
        await deliver(bot, api.message(user_id=BOB, document=api.document("big.txt", b"x" * (2 * 2**20))))
    alice = api.texts(ALICE)
    assert "Only the bot's admins can add documents" in alice[0] and "Only the bot's admins can use /index" in alice[1]
    bob = api.texts(BOB)
    assert bob[0] == "Added notes.md to the knowledge base (2 passages). Ask me about it."
    assert knowledge.added == ["# Notes\n\nThe launch is on Friday."]
    saved = load_settings().data_dir / "uploads" / "notes.md"
    assert saved.read_text() == "# Notes\n\nThe launch is on Friday."  # kept, for `index sync`
    assert "1 documents, 2 passages" in bob[1]
    assert "can't read .png files" in bob[2] and "too large (2.0 MB; the limit is 1 MB)" in bob[3]
    assert len(api.calls_of("getFile")) == 1 and model.calls == []
    assert not list(saved.parent.glob(".*.part"))


async def test_a_file_telegram_cannot_serve_is_asked_for_again_without_a_traceback(caplog):
    api = FakeBotAPI()
    knowledge = FakeKnowledgeStore()
    manager, model = make_manager(knowledge=knowledge)
    api.fail("download", 404, "Not Found", retry_after=None, times=2)
    notes = api.document("notes.md", b"# Notes\n\nThe launch is on Friday.")
    async with running(api, manager, admins=frozenset({BOB})) as bot:
        with caplog.at_level(logging.DEBUG):
            await deliver(bot, api.message(user_id=BOB, document=notes))  # to add
            await deliver(bot, api.message(document=notes, caption="/summarize"))
    again = "I couldn't fetch notes.md from Telegram. Please send it again."
    assert api.texts(BOB) == [again] and api.texts(ALICE) == [again]
    assert knowledge.added == [] and model.calls == []
    assert "could not fetch notes.md" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or (r.levelno >= logging.WARNING and r.exc_info)]
    assert not list((load_settings().data_dir / "uploads").glob(".*.part"))


async def test_summarize_a_replied_message_or_document():
    api = FakeBotAPI()
    manager, model = make_manager("A short summary.")
    report = api.document("report.txt", b"Quarterly revenue grew by ten percent thanks to new customers.")
    async with running(api, manager) as bot:
        upload = api.message(document=report)
        await deliver(bot, upload)  # not an admin: told how to get a summary instead
        await deliver(bot, api.message("/summarize", reply_to=upload["message"]))
        prompt = model.calls[-1]["messages"][-1]["content"]
        assert "Quarterly revenue grew" in prompt
        text = api.message("The meeting moved to Tuesday because the room was booked.")["message"]
        await deliver(bot, api.message("/summarize", reply_to=text))
        assert "meeting moved to Tuesday" in model.calls[-1]["messages"][-1]["content"]
        await deliver(bot, api.message(document=report, caption="/summarize"))
        assert "Quarterly revenue grew" in model.calls[-1]["messages"][-1]["content"]
    texts = api.texts(ALICE)
    assert "reply to it with /summarize" in texts[0]
    assert texts[1:] == ["A short summary.\n\nSummary of the message replied to."] * 3


async def test_admins_see_admin_help_and_the_command_menu_is_registered():
    api = FakeBotAPI()
    manager, _ = make_manager()
    async with running(api, manager, admins=frozenset({BOB})) as bot:
        await deliver(bot, api.message("/start", user_id=BOB))
        await deliver(bot, api.message("/start"))
        await bot._post_init(bot.application)
    assert "/index" in api.texts(BOB)[0] and "/index" not in api.texts(ALICE)[0]
    menus = api.calls_of("setMyCommands")
    assert '"command": "translate"' in menus[0].params["commands"] and "index" not in menus[0].params["commands"]
    assert '"command": "index"' in menus[1].params["commands"] and str(BOB) in menus[1].params["scope"]
