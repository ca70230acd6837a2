"""The openai backend against a real OpenAI-compatible server: llama.cpp's, serving the embedded GGUF.

The model path, the commands (`generate`, `models`, `chat`, `ask`), the TUI and the Telegram bot all
go through the server here.

`make test-server` installs llama-cpp-python[server] (it compiles llama.cpp, a few minutes) and runs
this file; `make test` runs it too whenever llama_cpp is importable.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import REPO, wait_until

from assistant.config import load_settings
from assistant.errors import ModelError
from assistant.llm import GenerationOptions
from assistant.llm.models import embedded_file
from assistant.runtime import Runtime, load_chat_model

pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed: `make test-server` installs it and runs this test")

SERVED_NAME = "smollm2-135m"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    """`python -m llama_cpp.server` on a free port of 127.0.0.1, serving the embedded SmolLM2 GGUF."""
    gguf = embedded_file(SERVED_NAME)
    assert gguf is not None, "the embedded model is not installed: run `make install`"
    port = free_port()
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", SERVED_NAME,
               "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
               # One thread: the CI machine is shared, and llama.cpp's spin-waiting threads crawl on busy cores.
               "--n_threads", "1", "--n_threads_batch", "1",
               "--interrupt_requests", "False"]  # queue a second chat's request instead of cutting off the first
    with open(log_path, "w") as log_file:
        server = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while True:
        assert server.poll() is None, f"llama_cpp.server exited:\n{log_path.read_text()[-3000:]}"
        try:
            urllib.request.urlopen(url + "/models", timeout=2).read()
            break
        except OSError:
            assert time.monotonic() < deadline, f"llama_cpp.server did not start:\n{log_path.read_text()[-3000:]}"
            time.sleep(0.2)
    yield url
    server.terminate()
    server.wait(timeout=30)


def assistant(url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """The real command line, in its own process, pointed at the server."""
    return subprocess.run(
        [sys.executable, "-m", "assistant", "--backend", "openai", "--base-url", url, *args],
        input=stdin, capture_output=True, text=True, timeout=300, cwd=os.getcwd(),
        env={**os.environ, "PYTHONPATH": str(REPO), "ASSISTANT_MAX_NEW_TOKENS": "48"},  # short replies: a CPU is slow
    )


def test_generate_streams_through_the_server(llama_server):
    model = load_chat_model(load_settings({"backend": "openai", "base_url": llama_server}))
    assert model.name == SERVED_NAME  # discovered from /v1/models
    stream = model.stream([{"role": "user", "content": "Name three colours."}], GenerationOptions(max_new_tokens=24))
    pieces = list(stream)
    assert len(pieces) > 3 and "".join(pieces).strip()  # streamed piece by piece, not in one block
    assert stream.usage.prompt_tokens > 5 and 3 < stream.usage.completion_tokens <= 24
    assert stream.usage.time_to_first_token_s < stream.usage.total_s


def test_token_counts_use_the_served_models_tokenizer(llama_server):
    from assistant.llm.tokens import load_tokenizer

    model = load_chat_model(load_settings({"backend": "openai", "base_url": llama_server}))
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    tokenizer = load_tokenizer(SERVED_NAME, model.cache_dir)  # the served name is the embedded model's name
    expected = len(tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)["input_ids"])
    assert model.count_tokens(messages) == expected
    # The server's own count of the same chat (llama-cpp-python reports usage only without streaming).
    served = model.client.chat.completions.create(model=SERVED_NAME, messages=messages, max_tokens=1)
    assert served.usage.prompt_tokens == expected
    stream = model.stream(messages, GenerationOptions(max_new_tokens=8))
    stream.text()
    assert stream.usage.prompt_tokens == expected


def test_cancel_stops_the_generation_and_the_server_serves_the_next_request(llama_server):
    model = load_chat_model(load_settings({"backend": "openai", "base_url": llama_server}))
    long_reply = GenerationOptions(max_new_tokens=400)
    cancel = threading.Event()
    received = []
    started = time.perf_counter()
    for piece in model.stream([{"role": "user", "content": "Write a long story about a dragon."}], long_reply, cancel=cancel):
        received.append(piece)
        if len(received) == 3:
            cancel.set()
    assert len(received) == 3
    # The server noticed the closed stream: the next request is not stuck behind 400 tokens.
    assert model.generate([{"role": "user", "content": "Say hi."}], GenerationOptions(max_new_tokens=4)).strip()
    assert time.perf_counter() - started < 60


def test_two_chats_at_once(llama_server):
    model = load_chat_model(load_settings({"backend": "openai", "base_url": llama_server}))
    replies: list[str] = []
    prompts = ["Name a fruit.", "Name an animal."]
    threads = [threading.Thread(target=lambda p=p: replies.append(model.generate(
        [{"role": "user", "content": p}], GenerationOptions(max_new_tokens=12)))) for p in prompts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(replies) == 2 and all(r.strip() for r in replies)


def test_cli_generate(llama_server):
    result = assistant(llama_server, "generate", "--json", "--max-new-tokens", "16", "What is the capital of France?")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["model"] == SERVED_NAME and out["text"].strip()
    assert out["usage"]["completion_tokens"] > 0 and out["usage"]["prompt_tokens"] > 0


def test_cli_models_and_unknown_model(llama_server):
    result = assistant(llama_server, "models")
    assert result.returncode == 0, result.stderr
    assert f"{SERVED_NAME}  (base" in result.stdout
    result = assistant(llama_server, "--model", "no-such-model", "generate", "hi")
    assert result.returncode == ModelError.exit_code
    assert f"does not serve a model named 'no-such-model'. It serves: {SERVED_NAME}" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_chat_turn_streams_through_the_server(llama_server):
    from assistant.conversation.types import Reply, TextDelta

    settings = load_settings({"backend": "openai", "base_url": llama_server, "max_new_tokens": 24})
    events = list(Runtime(settings).manager.stream("integration", "Hello! How are you today?"))
    deltas = [e for e in events if isinstance(e, TextDelta)]
    reply = events[-1]
    assert isinstance(reply, Reply) and not reply.error, reply
    assert len(deltas) > 1 and "".join(d.text for d in deltas).strip()
    result = assistant(llama_server, "chat", stdin="Tell me a joke.\n")
    assert result.returncode == 0, result.stderr
    assert f"model {SERVED_NAME}" in result.stdout and "Error" not in result.stdout + result.stderr


def test_cli_ask_answers_from_the_knowledge_base(llama_server):
    from assistant.retrieval import open_knowledge_base

    document = Path("handbook.md")
    document.write_text("# Office handbook\n\nThe office opens at 8 am and closes at 6 pm. The wifi password is cactus42.\n")
    open_knowledge_base(load_settings({})).add([document])
    result = assistant(llama_server, "ask", "--json", "When does the office open?")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert not out["error"] and out["answer"].strip()
    assert out["declined"] or any(s["source"].endswith("handbook.md") for s in out["sources"])


async def test_tui_streams_an_answer_through_the_server(llama_server):
    from test_tui import ready, say  # the TUI's own Pilot helpers

    from assistant.tui.app import AssistantApp
    from assistant.tui.widgets import StatusBar

    settings = load_settings({"backend": "openai", "base_url": llama_server, "max_new_tokens": 24})
    app = AssistantApp(Runtime(settings))
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        view = await say(pilot, "Hello! Who are you?", timeout=120)
        assert view.text.strip() and view.query_one("Markdown").source.strip() == view.text.strip()
        assert SERVED_NAME in str(app.chat.query_one(StatusBar).render())


def test_telegram_answers_two_users_through_the_server(llama_server):
    from telegram_fake import FakeBotAPI, FakeBotServer
    from test_telegram_e2e import ADMIN, ALICE, polling  # the real bot, polling a fake Bot API

    settings = load_settings({"backend": "openai", "base_url": llama_server, "max_new_tokens": 24})
    runtime = Runtime(settings)
    api = FakeBotAPI()
    with FakeBotServer(api) as server:
        api.url = server.url
        with polling(api, runtime):
            api.push(api.message("Name a fruit."), api.message("Name a colour.", user_id=ADMIN, username="admin"))
            # Each answer is saved once it is complete.
            wait_until(lambda: all(len(runtime.manager.turns(f"tg:{user}")) == 2 for user in (ALICE, ADMIN)), timeout=180)
            wait_until(lambda: api.texts(ALICE) and api.texts(ADMIN), timeout=30)
    for user in (ALICE, ADMIN):
        answer = runtime.manager.turns(f"tg:{user}")[1].content
        assert answer.strip() and api.texts(user)[-1].strip()
