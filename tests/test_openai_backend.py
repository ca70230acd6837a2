"""The openai backend against an in-process OpenAI-compatible server on 127.0.0.1.

The fake speaks real HTTP and server-sent events, so the official client, its retries and our
error handling all run as they would against vLLM or the llama.cpp server. Each chat request takes
the next behaviour from ``script`` (the last one repeats): a ``Reply`` streams pieces, a ``Status``
answers with an error code, ``Reply(drop_after=N)`` cuts the connection after N pieces.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner
from conftest import SHARED_CACHE, wait_until

from assistant.cli import cli
from assistant.config import load_settings
from assistant.errors import AdapterError, ConfigError, ModelError, UsageError
from assistant.llm import BASE, GenerationOptions
from assistant.llm.openai_backend import OpenAIChatModel
from assistant.llm.tokens import estimate_tokens, load_tokenizer
from assistant.runtime import load_chat_model


@dataclass
class Reply:
    pieces: list[str]
    delay: float = 0.0  # seconds before each piece
    usage: dict | None = None  # sent in a final chunk when the request asked for it
    finish_reason: str | None = "stop"
    drop_after: int | None = None  # cut the connection after this many pieces


@dataclass
class Status:
    code: int
    message: str = "scripted error"
    retry_after_ms: int = 10


@dataclass
class FakeOpenAIServer:
    models: list[str] = field(default_factory=lambda: ["base-model"])
    lora: dict[str, str] = field(default_factory=dict)  # served adapter name -> parent base model (as vLLM lists them)
    script: list[Reply | Status] = field(default_factory=lambda: [Reply(["Hello", " there", "."])])

    def __post_init__(self) -> None:
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.active = 0
        self.max_active = 0
        self.closed_by_client = 0
        self._turn = 0
        self._lock = threading.Lock()
        self.httpd = _QuietServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def next_behaviour(self) -> Reply | Status:
        with self._lock:
            behaviour = self.script[min(self._turn, len(self.script) - 1)]
            self._turn += 1
            return behaviour

    def model_list(self) -> dict:
        data = [{"id": m, "object": "model", "owned_by": "fake", "max_model_len": 4096} for m in self.models]
        data += [{"id": name, "object": "model", "owned_by": "fake", "parent": parent} for name, parent in self.lora.items()]
        return {"object": "list", "data": data}


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # clients closing connections is what tests do
            super().handle_error(request, client_address)


def _handler(server: FakeOpenAIServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args) -> None:  # keep test output clean
            pass

        def send_json(self, code: int, body: dict, headers: dict | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/v1/models":
                self.send_json(200, server.model_list())
            else:
                self.send_json(404, {"error": {"message": "not found"}})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            server.requests.append(body)
            server.headers.append({k.lower(): v for k, v in self.headers.items()})
            served = set(server.models) | set(server.lora)
            if body.get("model") not in served:
                self.send_json(404, {"error": {"message": f"The model `{body.get('model')}` does not exist.", "code": 404}})
                return
            behaviour = server.next_behaviour()
            if isinstance(behaviour, Status):
                self.send_json(behaviour.code, {"error": {"message": behaviour.message, "code": behaviour.code}},
                               {"retry-after-ms": str(behaviour.retry_after_ms)})
                return
            self.stream(body, behaviour)

        def chunk(self, payload: dict | str) -> None:
            text = payload if isinstance(payload, str) else json.dumps(payload)
            data = f"data: {text}\n\n".encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def stream(self, body: dict, reply: Reply) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            with server._lock:
                server.active += 1
                server.max_active = max(server.max_active, server.active)
            base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, "model": body["model"]}
            try:
                for i, piece in enumerate(reply.pieces):
                    if reply.drop_after is not None and i >= reply.drop_after:
                        self.connection.shutdown(socket.SHUT_RDWR)
                        self.close_connection = True
                        return
                    if reply.delay:
                        time.sleep(reply.delay)
                    self.chunk({**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
                if reply.drop_after is not None:
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                self.chunk({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": reply.finish_reason}]})
                if reply.usage and (body.get("stream_options") or {}).get("include_usage"):
                    self.chunk({**base, "choices": [], "usage": reply.usage})
                self.chunk("[DONE]")
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                server.closed_by_client += 1
                self.close_connection = True
            finally:
                with server._lock:
                    server.active -= 1

    return Handler


# --- fixtures -------------------------------------------------------------------------------

@pytest.fixture
def server():
    fake = FakeOpenAIServer()
    yield fake
    fake.close()


def make_model(server: FakeOpenAIServer, **kwargs) -> OpenAIChatModel:
    kwargs.setdefault("tokenizer", "estimate")
    kwargs.setdefault("retries", 2)
    return OpenAIChatModel(server.url, **kwargs)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


HI = [{"role": "user", "content": "Hi"}]


# --- streaming ------------------------------------------------------------------------------

def test_streams_the_scripted_pieces_and_sends_the_options(server):
    server.script = [Reply(["Hel", "lo", " world"], usage={"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14})]
    model = make_model(server)
    stream = model.stream(HI, GenerationOptions(max_new_tokens=20, temperature=0.7, top_p=0.9, seed=3))
    assert list(stream) == ["Hel", "lo", " world"]
    assert (stream.usage.prompt_tokens, stream.usage.completion_tokens) == (11, 3)  # the server's own counts
    assert stream.usage.total_s >= stream.usage.time_to_first_token_s > 0
    sent = server.requests[0]
    assert sent["model"] == "base-model"  # discovered: the one base model the server serves
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert (sent["max_tokens"], sent["temperature"], sent["top_p"], sent["seed"]) == (20, 0.7, 0.9, 3)
    assert sent["messages"] == HI


def test_usage_is_estimated_when_the_server_reports_none(server):
    server.script = [Reply(["one", " two", " three", " four"])]
    model = make_model(server)
    stream = model.stream(HI)
    assert stream.text() == "one two three four"
    assert stream.usage.completion_tokens == 4
    assert stream.usage.prompt_tokens == model.count_tokens(HI) > 0


def test_stop_strings_cut_the_reply_even_if_the_server_ignores_them(server):
    server.script = [Reply(["Answer: 4", "2\nUser", ": more"])]
    model = make_model(server)
    assert model.generate(HI, GenerationOptions(stop=("\nUser",))) == "Answer: 42"
    assert server.requests[0]["stop"] == ["\nUser"]


def test_cancel_closes_the_stream_on_the_server(server):
    server.script = [Reply([f" w{i}" for i in range(200)], delay=0.02)]
    model = make_model(server)
    cancel = threading.Event()
    stream = model.stream(HI, cancel=cancel)
    received = []
    for piece in stream:
        received.append(piece)
        if len(received) == 3:
            cancel.set()
    assert len(received) == 3 and stream.usage.completion_tokens == 3
    wait_until(lambda: server.closed_by_client == 1, timeout=5)
    assert server.active == 0


def test_several_chats_stream_at_the_same_time(server):
    server.script = [Reply([f" w{i}" for i in range(10)], delay=0.05)]
    model = make_model(server)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(model.generate(HI))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert results == ["".join(f" w{i}" for i in range(10))] * 4
    assert server.max_active == 4  # no lock on our side: all four were generating at once


# --- retries and failures -------------------------------------------------------------------

def test_429_then_success_is_retried(server):
    server.script = [Status(429, "slow down"), Status(503, "warming up"), Reply(["ok"])]
    assert make_model(server, retries=2).generate(HI) == "ok"
    assert len(server.requests) == 3


def test_persistent_429_is_a_clear_error(server):
    server.script = [Status(429, "slow down")]
    with pytest.raises(ModelError, match=r"still busy \(429\) after 1 retries"):
        make_model(server, retries=1).generate(HI)
    assert len(server.requests) == 2


def test_server_error_after_retries_names_the_status(server):
    server.script = [Status(500, "CUDA out of memory")]
    with pytest.raises(ModelError, match=r"\(500 after 1 retries\): CUDA out of memory"):
        make_model(server, retries=1).generate(HI)


def test_connection_dropped_before_the_first_piece_is_retried(server):
    server.script = [Reply(["never"], drop_after=0), Reply(["second", " try"])]
    assert make_model(server).generate(HI) == "second try"
    assert len(server.requests) == 2


def test_connection_dropped_mid_reply_is_reported_not_retried(server):
    server.script = [Reply(["partial", " reply", " lost"], drop_after=2), Reply(["should not be used"])]
    stream = make_model(server).stream(HI)
    received = []
    with pytest.raises(ModelError, match="lost in the middle of the reply"):
        for piece in stream:
            received.append(piece)
    assert received == ["partial", " reply"]
    assert len(server.requests) == 1


def test_a_silent_server_times_out(server):
    server.script = [Reply(["late"], delay=2.0)]
    with pytest.raises(ModelError, match=r"sent nothing for 0\.3s before the reply began.*timeout"):
        make_model(server, timeout=0.3, retries=0).generate(HI)


def test_server_down_is_a_one_line_error():
    model = OpenAIChatModel(f"http://127.0.0.1:{free_port()}/v1", retries=0, tokenizer="estimate")
    with pytest.raises(ModelError, match=r"Cannot reach the model server at http://127\.0\.0\.1:\d+/v1 .*--base-url") as caught:
        model.generate(HI)
    assert "\n" not in str(caught.value)


def test_unknown_model_lists_what_the_server_serves(server):
    server.models = ["qwen2.5-7b", "llama-3.1-8b"]
    with pytest.raises(ModelError, match=r"does not serve a model named 'nope'\. It serves: qwen2\.5-7b, llama-3\.1-8b"):
        make_model(server, model="nope").generate(HI)
    with pytest.raises(ModelError, match=r"serves 2 base models \(qwen2\.5-7b, llama-3\.1-8b\): name one with --model"):
        make_model(server).generate(HI)


def test_a_model_removed_from_the_server_after_listing_is_reported(server):
    model = make_model(server)
    model.served_models()
    server.models = ["other"]  # the name passed the (cached) listing; the server's 404 still becomes a clear error
    with pytest.raises(ModelError, match=r"does not serve a model named 'base-model'\. It serves: other"):
        model.generate(HI)


def test_the_api_key_is_sent_and_never_logged(server, isolated_env, monkeypatch):
    from assistant.logs import setup_logging

    key = "sk-test-0123456789abcdef"
    monkeypatch.setenv("MY_SERVER_KEY", key)
    log_path = setup_logging(isolated_env / "logs-here")
    settings = load_settings({"backend": "openai", "base_url": server.url, "api_key_env": "MY_SERVER_KEY"})
    model = load_chat_model(settings)
    assert model.generate(HI) == "Hello there."
    assert server.headers[0]["authorization"] == f"Bearer {key}"
    logging.getLogger("assistant.test").warning("the client was built with %s", key)
    text = log_path.read_text()
    assert "the client was built with ****" in text and key not in text


# --- adapters -------------------------------------------------------------------------------

@pytest.fixture
def lora_server(server):
    server.models = ["smollm2"]
    server.lora = {"grounded-qa": "smollm2", "qa-v2": "smollm2"}
    return server


def test_adapters_map_to_served_model_names(lora_server):
    model = make_model(lora_server, adapter_models={"support": "qa-v2"}, fall_back_to_base=False)
    model.generate(HI, adapter="grounded-qa")
    model.generate(HI, adapter="support")
    model.generate(HI, adapter=BASE)
    model.generate(HI)  # no default adapter: the base
    model.generate(HI, adapter="./adapters/grounded-qa")  # a path is known by its folder's name
    assert [r["model"] for r in lora_server.requests] == ["grounded-qa", "qa-v2", "smollm2", "smollm2", "grounded-qa"]
    assert model.adapters() == ["support", "grounded-qa"]


def test_a_forced_default_adapter_is_used_when_none_is_given(lora_server):
    model = make_model(lora_server, default_adapter="grounded-qa", fall_back_to_base=False)
    model.generate(HI)
    model.generate(HI, adapter=BASE)
    assert [r["model"] for r in lora_server.requests] == ["grounded-qa", "smollm2"]


def test_an_adapter_the_server_lacks(lora_server, caplog):
    forced = make_model(lora_server, fall_back_to_base=False)
    with pytest.raises(AdapterError, match=r"does not serve adapter 'summarizer'.*--lora-modules summarizer=adapters/summarizer"):
        forced.generate(HI, adapter="summarizer")
    auto = make_model(lora_server, fall_back_to_base=True)  # --adapter auto: the skill's adapter when served
    with caplog.at_level(logging.WARNING):
        assert auto.generate(HI, adapter="summarizer") == "Hello there."
        auto.generate(HI, adapter="summarizer")
    assert lora_server.requests[-1]["model"] == "smollm2"
    assert sum("does not serve adapter 'summarizer'" in r.message for r in caplog.records) == 1


def test_adapters_lists_local_adapters_the_server_serves(lora_server, tmp_path):
    for name in ("grounded-qa", "only-local"):
        folder = tmp_path / "adapters" / name
        folder.mkdir(parents=True)
        (folder / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 8}))
        (folder / "adapter_model.safetensors").write_bytes(b"0")
    model = make_model(lora_server, adapters_dir=tmp_path / "adapters")
    assert model.adapters() == ["grounded-qa", "qa-v2"]


# --- tokens and the context window ----------------------------------------------------------

def test_the_prompt_must_fit_the_context_window_and_max_tokens_is_clamped(server):
    model = make_model(server, context_window=100)
    with pytest.raises(UsageError, match="too long: about .* context window is 100"):
        model.stream([{"role": "user", "content": "word " * 200}])
    model.generate(HI, GenerationOptions(max_new_tokens=512))
    assert server.requests[-1]["max_tokens"] == 100 - model.count_tokens(HI)


def test_empty_prompt_is_a_usage_error(server):
    with pytest.raises(UsageError, match="empty"):
        make_model(server).stream([{"role": "user", "content": "  "}])


SAMPLES = [
    "The quick brown fox jumps over the lazy dog; it was 2024-11-05 at 13:45, and 3.14159 people watched.",
    "Die Bundesregierung hat am Mittwoch beschlossen, die Förderung für Wärmepumpen zu verlängern.",
    "Le gouvernement a annoncé mercredi une prolongation des aides à la rénovation énergétique.",
    "El gobierno anunció el miércoles que ampliará las ayudas para la rehabilitación de viviendas.",
    "政府周三宣布，将延长对热泵的补贴，并加快老旧住宅的节能改造。",
    "def count_tokens(self, messages: list[Message] | str) -> int:\n    return len(self.tokenizer(messages))",
]


def test_the_estimate_counts_more_than_the_real_tokenizer():
    tokenizer = load_tokenizer("smollm2-135m", SHARED_CACHE)
    for text in SAMPLES:
        real = len(tokenizer(text, add_special_tokens=False)["input_ids"])
        assert real <= estimate_tokens(text) <= 3 * real, text
    messages = [{"role": "system", "content": SAMPLES[0]}, {"role": "user", "content": SAMPLES[1]}]
    with_tokenizer = OpenAIChatModel("http://127.0.0.1:1/v1", tokenizer="smollm2-135m", cache_dir=SHARED_CACHE)
    estimating = OpenAIChatModel("http://127.0.0.1:1/v1", tokenizer="estimate")
    exact = len(tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)["input_ids"])
    assert with_tokenizer.count_tokens(messages) == exact
    assert with_tokenizer.count_tokens(SAMPLES[4]) == len(tokenizer(SAMPLES[4], add_special_tokens=False)["input_ids"])
    assert estimating.count_tokens(messages) >= exact


def test_a_tokenizer_that_is_not_here_falls_back_to_the_estimate(caplog):
    model = OpenAIChatModel("http://127.0.0.1:1/v1", tokenizer="nobody/no-such-model", cache_dir=SHARED_CACHE)
    with caplog.at_level(logging.WARNING):
        assert model.count_tokens("hello world") == estimate_tokens("hello world")
    assert "no local tokenizer for nobody/no-such-model" in caplog.text


# --- settings and the command line ----------------------------------------------------------

def test_settings_build_the_backend(server, tmp_path):
    (tmp_path / "assistant.toml").write_text(
        f'backend = "openai"\nbase_url = "{server.url}"\ncontext_window = 4096\nadapter = "grounded-qa"\n'
        '[openai]\nmodel = "base-model"\nadapters = { grounded-qa = "base-model" }\ntokenizer = "estimate"\n'
        "timeout = 7\nretries = 1\n"
    )
    model = load_chat_model(load_settings({}))
    assert isinstance(model, OpenAIChatModel)
    assert (model.name, model.context_window, model.timeout, model.retries) == ("base-model", 4096, 7.0, 1)
    assert (model.default_adapter, model.fall_back_to_base) == ("grounded-qa", False)
    assert model.generate(HI) == "Hello there."


def test_bad_settings_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="needs the server's URL: --base-url"):
        load_chat_model(load_settings({"backend": "openai"}))
    (tmp_path / "assistant.toml").write_text('[openai]\nmodle = "x"\n')
    with pytest.raises(ConfigError, match="Unknown key.*modle.*Known keys: model"):
        load_chat_model(load_settings({"backend": "openai", "base_url": "http://127.0.0.1:1/v1"}))


def test_cli_generate_through_the_server(server):
    server.script = [Reply(["Paris", "."], usage={"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11})]
    result = CliRunner().invoke(cli, ["--backend", "openai", "--base-url", server.url, "generate", "--json", "Capital of France?"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert (out["model"], out["text"], out["usage"]["prompt_tokens"]) == ("base-model", "Paris.", 9)


def test_cli_models_lists_the_served_models(lora_server):
    result = CliRunner().invoke(cli, ["--backend", "openai", "--base-url", lora_server.url, "models"])
    assert result.exit_code == 0, result.output
    assert f"Served by {lora_server.url}:" in result.output
    assert "smollm2  (base" in result.output and "grounded-qa  (adapter of smollm2)" in result.output


def test_cli_adapters_list_shows_what_the_server_offers(lora_server):
    result = CliRunner().invoke(cli, ["--backend", "openai", "--base-url", lora_server.url, "adapters", "list"])
    assert result.exit_code == 0, result.output
    assert f"Adapters the server at {lora_server.url} offers: grounded-qa, qa-v2" in result.output


def test_cli_server_down_is_one_line(monkeypatch, capsys):
    from assistant.cli import main

    monkeypatch.setattr("sys.argv", ["assistant", "--backend", "openai", "--base-url", f"http://127.0.0.1:{free_port()}/v1", "generate", "hi"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == ModelError.exit_code
    err = capsys.readouterr().err.strip()
    assert err.startswith("Error: Cannot reach the model server") and "\n" not in err
