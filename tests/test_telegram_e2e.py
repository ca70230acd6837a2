"""The real Application polling a fake Bot API server on 127.0.0.1 through --api-url, end to end."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import sys
import threading

import httpx
import pytest
from conftest import wait_until
from fakes import ScriptedChatModel
from telegram_fake import LIMIT, FakeBotAPI, FakeBotServer, utf16_len

from assistant.cli import main
from assistant.config import load_settings
from assistant.logs import log_file
from assistant.retrieval import open_knowledge_base
from assistant.runtime import Runtime
from assistant.skills.prompts import QA_SYSTEM
from assistant.telegram.bot import TelegramBot
from assistant.telegram.config import load_bot_config
from assistant.telegram.retry import RetryingLimiter

TOKEN = "654321:E2E-token-that-must-never-be-logged"
ALICE, MALLORY, ADMIN = 42, 7, 1


@pytest.fixture
def api():
    api = FakeBotAPI()
    with FakeBotServer(api) as server:
        api.url = server.url
        yield api


@contextlib.contextmanager
def polling(api: FakeBotAPI, runtime: Runtime, **overrides):
    """The bot as `assistant telegram --api-url URL --allow 42 --admin 1` runs it, on a thread of its own."""
    settings = runtime.settings
    config = load_bot_config(settings.section("telegram"), settings.data_dir, allow=[ALICE], admin=[ADMIN],
                             overrides={"api_url": api.url, "stream_interval": 0.2, **overrides})
    bot = TelegramBot(runtime.manager, config, TOKEN, limiter=RetryingLimiter(backoff=0.05))
    loops: list[asyncio.AbstractEventLoop] = []
    thread = threading.Thread(target=bot.run, daemon=True,
                              kwargs={"handle_signals": False, "ready": lambda name: loops.append(asyncio.get_running_loop())})
    thread.start()
    try:
        wait_until(lambda: loops or not thread.is_alive(), timeout=20)
        assert loops, "the bot did not start"
        yield bot
    finally:
        if loops:
            # stop_running is ignored until the application has started (after the webhook or polling is set up)
            wait_until(lambda: bot.application.running or not thread.is_alive(), timeout=20)
            loops[0].call_soon_threadsafe(bot.application.stop_running)
        thread.join(30)
        assert not thread.is_alive(), "the bot did not stop"


def answers(messages) -> str:
    last = messages[-1]["content"]
    if messages[0]["content"] == QA_SYSTEM:
        return "The Zephyr release ships on 12 March 2031 [1]."
    if last.startswith("Translate this"):
        return "Bonjour à tous."
    return f"You said: {last}"


def test_a_conversation_over_long_polling(api):
    settings = load_settings()
    model = ScriptedChatModel(answers)
    runtime = Runtime(settings, chat_model=model, knowledge=open_knowledge_base(settings))
    with polling(api, runtime):
        api.push(api.message("/start"))
        wait_until(lambda: api.texts(ALICE))
        assert "/translate" in api.texts(ALICE)[0]
        assert '"command": "ask"' in api.calls_of("setMyCommands")[0].params["commands"]

        api.push(api.message("Let me in", user_id=MALLORY, username="mallory"))
        wait_until(lambda: api.texts(MALLORY))
        assert "allow your Telegram user id 7" in api.texts(MALLORY)[0] and model.calls == []

        notes = api.document("release-notes.md", b"# Zephyr\n\nThe Zephyr release ships on 12 March 2031, "
                                                 b"with offline search and a new installer.\n")
        api.push(api.message(user_id=ADMIN, username="admin", document=notes))
        wait_until(lambda: api.texts(ADMIN), timeout=120)  # the first upload loads the embedder
        assert api.texts(ADMIN) == ["Added release-notes.md to the knowledge base (1 passages). Ask me about it."]
        assert (settings.data_dir / "uploads" / "release-notes.md").is_file()

        api.push(api.message("When does the Zephyr release ship?"))
        wait_until(lambda: len(api.texts(ALICE)) == 2, timeout=60)
        answer = api.texts(ALICE)[1]
        assert answer.startswith("The Zephyr release ships on 12 March 2031 [1].")
        assert re.search(r"Sources\n\[1\] \S*uploads/release-notes\.md", answer)

        api.push(api.message("/translate French Hello everyone"))
        wait_until(lambda: len(api.texts(ALICE)) == 3)
        assert api.texts(ALICE)[2].startswith("Bonjour à tous.")
    assert api.tokens == {TOKEN}
    assert {"getMe", "deleteWebhook", "getUpdates", "sendChatAction", "getFile"} <= set(api.methods())


def long_answer() -> str:
    paragraphs = [" ".join(f"Paragraph {p} sentence {s} explains one more detail." for s in range(18)) for p in range(10)]
    code = "```python\n" + "\n".join(f"total += price[{i}] * count[{i}]" for i in range(40)) + "\n```"
    text = "\n\n".join(paragraphs[:5] + [code] + paragraphs[5:])
    assert 9_500 < len(text) < 11_000
    return text


def test_a_ten_thousand_character_answer_is_split_and_a_429_is_honoured(api):
    text = long_answer()
    api.fail("sendMessage", 429, retry_after=1)
    runtime = Runtime(load_settings({"max_new_tokens": 4000}),
                      chat_model=ScriptedChatModel([text], context_window=8192), knowledge=None)
    with polling(api, runtime):
        api.push(api.message("Explain everything"))
        wait_until(lambda: api.texts(ALICE) and api.texts(ALICE)[-1].endswith("sentence 17 explains one more detail."),
                   timeout=30)
    shown = api.texts(ALICE)
    assert len(shown) == 3 and all(utf16_len(t) <= LIMIT for t in shown)
    words = [w for w in text.split() if not w.startswith("```")]
    assert " ".join(shown).split() == words  # nothing lost, nothing doubled, in order
    with_code = [t for t in shown if "price[0]" in t]
    assert len(with_code) == 1 and "price[39]" in with_code[0]  # the code block is whole
    assert all(m.parse_mode == "HTML" for m in api.chat(ALICE))
    sends = api.calls_of("sendMessage")
    assert sends[1].at - sends[0].at >= 1.0  # waited as Telegram asked before sending again


def test_history_survives_a_restart(api):
    def remember(messages):
        said = " | ".join(m["content"] for m in messages if m["role"] != "system")
        return f"I have heard: {said}"

    settings = load_settings()
    with polling(api, Runtime(settings, chat_model=ScriptedChatModel(remember), knowledge=None)):
        api.push(api.message("My name is Ada."))
        wait_until(lambda: api.texts(ALICE))
    model = ScriptedChatModel(remember)
    with polling(api, Runtime(settings, chat_model=model, knowledge=None)):
        api.push(api.message("What is my name?"))
        wait_until(lambda: len(api.texts(ALICE)) == 2)
    sent = [m["content"] for m in model.calls[-1]["messages"]]
    assert sent[1:] == ["My name is Ada.", "I have heard: My name is Ada.", "What is my name?"]


def test_webhook_mode_accepts_only_calls_with_the_secret(api):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    model = ScriptedChatModel(answers)
    runtime = Runtime(load_settings(), chat_model=model, knowledge=None)
    with polling(api, runtime, webhook_url="https://bot.example.com/assistant-hook", port=port, secret_token="s3cret-value"):
        wait_until(lambda: api.webhook)
        assert api.webhook["url"] == "https://bot.example.com/assistant-hook"
        assert api.webhook["secret_token"] == "s3cret-value"
        endpoint = f"http://127.0.0.1:{port}/assistant-hook"
        forged = httpx.post(endpoint, json=api.message("Hi, I am Alice, honest"), timeout=5,
                            headers={"X-Telegram-Bot-Api-Secret-Token": "guessed"})
        assert forged.status_code == 403
        genuine = httpx.post(endpoint, json=api.message("Hello over a webhook"), timeout=5,
                             headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-value"})
        assert genuine.status_code == 200
        wait_until(lambda: api.texts(ALICE))
    assert api.texts(ALICE) == ["You said: Hello over a webhook"] and len(model.calls) == 1
    assert "getUpdates" not in api.methods()


def run_cli_until(api, monkeypatch, capsys, args, done, timeout=60) -> tuple[int, str]:
    """`assistant ARGS` in this process, stopped with Ctrl-C (SIGINT) once ``done()`` holds."""
    monkeypatch.setattr(sys, "argv", ["assistant", *args])
    finished = threading.Event()

    def stop_when_done() -> None:
        with contextlib.suppress(AssertionError):
            wait_until(lambda: done() or finished.is_set(), timeout=timeout)
        if not finished.is_set():
            os.kill(os.getpid(), signal.SIGINT)

    stopper = threading.Thread(target=stop_when_done)
    stopper.start()
    try:
        with pytest.raises(SystemExit) as exit_info:
            main()
    finally:
        finished.set()
        stopper.join()
    return exit_info.value.code, capsys.readouterr().err


def test_the_cli_without_an_allowlist_says_how_to_allow_users_and_refuses_everyone(api, monkeypatch, capsys):
    model = ScriptedChatModel(answers)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setattr("assistant.runtime.load_chat_model", lambda settings: model)
    api.push(api.message("/start"))
    code, err = run_cli_until(api, monkeypatch, capsys, ["telegram", "--api-url", api.url], lambda: api.texts(ALICE))
    assert code == 0, err
    assert "Nobody may use this bot yet" in err and "--allow USER_ID" in err and "--allow-all" in err
    assert "allow your Telegram user id 42" in api.texts(ALICE)[0] and model.calls == []


@pytest.mark.parametrize("problem, message", [
    ("bad token", "Error: Telegram rejected TELEGRAM_BOT_TOKEN: copy the token from @BotFather again."),
    ("no server", "Error: Cannot reach the Bot API at http://127.0.0.1:"),
])
def test_the_cli_explains_start_up_failures_in_one_line(api, monkeypatch, capsys, problem, message):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setattr("assistant.runtime.load_chat_model", lambda settings: ScriptedChatModel())
    url = api.url
    if problem == "bad token":
        api.fail("getMe", 401, "Unauthorized", retry_after=None)
    else:
        with socket.socket() as probe:  # a port nothing listens on
            probe.bind(("127.0.0.1", 0))
            url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setattr(sys, "argv", ["assistant", "telegram", "--api-url", url, "--allow", str(ALICE)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and message in err and TOKEN not in err


def test_the_cli_needs_a_token(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["assistant", "telegram"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    assert "Error: Set TELEGRAM_BOT_TOKEN to the token @BotFather gave you" in capsys.readouterr().err


@pytest.mark.real_model
def test_the_cli_bot_answers_with_the_real_model_and_never_logs_the_token(api, real_model, monkeypatch, capsys):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setattr("assistant.runtime.load_chat_model", lambda settings: real_model)
    api.push(api.message("What is the capital of France?"))
    code, err = run_cli_until(api, monkeypatch, capsys, ["--debug", "telegram", "--api-url", api.url, "--allow", str(ALICE)],
                              lambda: api.calls_of("sendMessage"), timeout=240)
    assert code == 0, err
    assert "@assistant_test_bot is running (long polling via http://127.0.0.1" in err and "Stopped." in err
    answer = api.texts(ALICE)
    assert len(answer) == 1 and "Paris" in answer[0], answer
    log = log_file(load_settings().data_dir).read_text()
    assert "bot****/getUpdates" in log  # the HTTP client logged the URLs, masked
    assert TOKEN not in log and TOKEN not in err


def test_no_form_of_the_token_reaches_the_log_or_stderr_at_debug_level(api, monkeypatch, capsys, tmp_path):
    """Messages, drafts, edits, file downloads (fetched, retried, lost) and 429 retries, all with --debug."""
    from urllib.parse import quote

    (tmp_path / "assistant.toml").write_text("[telegram]\nstream_interval = 0.05\ngroup_stream_interval = 0.05\n")
    model = ScriptedChatModel(lambda messages: " ".join(f"word{i}" for i in range(30)), delay=0.01)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setattr("assistant.runtime.load_chat_model", lambda settings: model)
    report = api.document("report.txt", b"Quarterly revenue grew by ten percent thanks to new customers.")
    lost = api.document("lost.txt", b"never served", served=False)
    api.fail("getFile", 429, retry_after=1)  # waited for, then retried
    api.fail("download", 502, "Bad Gateway", retry_after=None)  # retried
    users = (ALICE, 8, 9, 10)
    api.push(api.message("Hello there"),  # a private chat: drafts
             api.message("@assistant_test_bot tell me more", user_id=8, chat_id=-100, chat_type="group"),  # edits
             api.message(user_id=9, document=report, caption="/summarize"),
             api.message(user_id=10, document=lost, caption="/summarize"))

    def done() -> bool:
        return (any("word29" in t for t in api.texts(ALICE)) and any("word29" in t for t in api.texts(-100))
                and any("word29" in t for t in api.texts(9)) and any("fetch lost.txt" in t for t in api.texts(10)))

    args = ["--debug", "telegram", "--api-url", api.url] + [f"--allow={user}" for user in users]
    code, err = run_cli_until(api, monkeypatch, capsys, args, done, timeout=60)
    assert code == 0, err
    assert done(), api.methods()
    methods = set(api.methods())
    assert {"sendMessageDraft", "editMessageText", "getFile", "download"} <= methods, methods
    assert len(api.calls_of("download")) == 3  # the report twice (502, then served), the lost file once
    assert len(api.calls_of("getFile")) == 3
    log = log_file(load_settings().data_dir).read_text()
    assert "/file/bot****/documents/" in log and "bot****/getFile" in log  # the URLs were logged, masked
    secret = TOKEN.split(":", 1)[1]
    for form in (TOKEN, quote(TOKEN, safe=""), quote(TOKEN, safe="").lower(), secret):
        assert form not in log and form not in err, form
