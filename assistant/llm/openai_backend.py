"""The `openai` backend: a model served by an OpenAI-compatible engine (vLLM, llama.cpp server, Ollama).

Adapters are served models too: vLLM serves each LoRA adapter under its own model name
(``--lora-modules grounded-qa=adapters/grounded-qa``), so choosing an adapter means choosing the
model name a request goes to. Requests share one HTTP client and hold no lock, so several chats
stream at once; how many the server runs in parallel is the server's business.

Configuration, in ``assistant.toml``::

    backend = "openai"
    base_url = "http://127.0.0.1:8000/v1"
    api_key_env = "OPENAI_API_KEY"     # the NAME of the variable holding the key

    [openai]
    model = "HuggingFaceTB/SmolLM2-135M-Instruct"   # served name of the base model
    adapters = { grounded-qa = "grounded-qa" }      # adapter -> served model name
    tokenizer = "smollm2-135m"                      # a local model whose tokenizer counts tokens
    timeout = 120                                   # seconds to wait for the next streamed piece
    connect_timeout = 5
    retries = 2                                     # on 408/409/429/5xx and connection errors
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai

from ..backoff import backoff_delay
from ..config import Settings, read_table
from ..errors import ConfigError, ModelError, UsageError
from ..logs import add_secret
from .base import BASE, GenerateFromStream, GenerationOptions, Message, StopFilter, TokenStream, require_prompt
from .openai_server import ServedModel, Server
from .tokens import TokenCounter

__all__ = ["OpenAIChatModel", "OpenAIOptions", "ServedModel", "create"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OpenAIOptions:
    """The ``[openai]`` table."""

    model: str = ""  # the served base model's name; "" finds the one the server serves
    adapters: dict[str, str] = field(default_factory=dict, metadata={
        "expects": 'a table of adapter name -> served model name, e.g. { grounded-qa = "grounded-qa" }'})
    tokenizer: str = ""  # a local model whose tokenizer counts tokens; "estimate" counts none
    timeout: float = 120.0
    connect_timeout: float = 5.0
    retries: int = 2


class OpenAIChatModel(GenerateFromStream):
    """A `ChatModel` whose tokens come from an OpenAI-compatible chat-completions server."""

    def __init__(
        self,
        base_url: str,
        *,
        model: str | None = None,
        api_key: str | None = None,
        adapter_models: dict[str, str] | None = None,
        adapters_dir: Path | None = None,
        tokenizer: str | None = None,
        cache_dir: Path | None = None,
        context_window: int = 2048,
        default_options: GenerationOptions | None = None,
        default_adapter: str | None = None,
        fall_back_to_base: bool = True,
        timeout: float = 120.0,
        connect_timeout: float = 5.0,
        retries: int = 2,
    ) -> None:
        if not base_url:
            raise ConfigError(
                "The openai backend needs the server's URL: --base-url http://127.0.0.1:8080/v1 "
                "(or base_url in assistant.toml)."
            )
        self.base_url = base_url.rstrip("/")
        if api_key:
            add_secret(api_key)
        self.server = Server(self.base_url, api_key=api_key, timeout=timeout, connect_timeout=connect_timeout,
                             retries=retries, model=model, adapter_models=dict(adapter_models or {}),
                             adapters_dir=adapters_dir, default_adapter=default_adapter,
                             fall_back_to_base=fall_back_to_base)
        self.client = self.server.client
        self.timeout = timeout
        self.retries = retries
        self.context_window = context_window
        self.default_options = default_options or GenerationOptions()
        self.default_adapter = default_adapter
        self.fall_back_to_base = fall_back_to_base
        self.cache_dir = cache_dir
        self.tokens = TokenCounter(tokenizer, cache_dir, lambda: self.server.name)

    # --- what the server serves (see openai_server.Server) --------------------------------

    @property
    def name(self) -> str:
        return self.server.name

    def served_models(self, refresh: bool = False) -> list[ServedModel]:
        return self.server.served_models(refresh)

    def served_name(self, adapter: str | None) -> str:
        return self.server.served_name(adapter)

    def adapters(self) -> list[str]:
        return self.server.adapters()

    def count_tokens(self, messages: list[Message] | str) -> int:
        return self.tokens.count(messages)

    # --- generation ---------------------------------------------------------------------

    def stream(
        self,
        messages: list[Message],
        options: GenerationOptions | None = None,
        *,
        adapter: str | None = None,
        cancel: threading.Event | None = None,
    ) -> TokenStream:
        require_prompt(messages)
        options = options or self.default_options
        model = self.served_name(adapter)
        prompt_tokens = self.count_tokens(messages)
        room = self.context_window - prompt_tokens
        if room <= 0:
            raise UsageError(
                f"The message is too long: about {prompt_tokens} tokens, and the model's context window is "
                f"{self.context_window}. Shorten it or split it."
            )
        request: dict[str, Any] = {
            "model": model,
            "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
            "max_tokens": min(options.max_new_tokens, room),
            "temperature": options.temperature,
            "top_p": options.top_p,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if options.stop:
            request["stop"] = list(options.stop)
        if options.seed is not None:
            request["seed"] = options.seed
        stream = TokenStream(iter(()), cancel or threading.Event())
        stream.usage.prompt_tokens = prompt_tokens
        stream.pieces = self._pieces(request, options, stream)
        return stream

    def _pieces(self, request: dict[str, Any], options: GenerationOptions, stream: TokenStream) -> Iterator[str]:
        """Text pieces of one reply; a connection lost before the first piece is retried, after it reported."""
        usage = stream.usage
        started = time.perf_counter()
        yielded = False
        attempt = pieces = 0
        try:
            while True:
                if stream.cancel.is_set():
                    return
                stops = StopFilter(options.stop)  # a retry starts over: nothing of the lost attempt was shown
                completion: Any = self.server.call(lambda: self.client.chat.completions.create(**request), "generate",
                                                   request["model"])
                finished = False
                pieces = 0
                try:
                    for chunk in completion:
                        if chunk.usage is not None:
                            usage.prompt_tokens = chunk.usage.prompt_tokens or usage.prompt_tokens
                            usage.completion_tokens = chunk.usage.completion_tokens or usage.completion_tokens
                        for choice in chunk.choices:
                            text = choice.delta.content if choice.delta else None
                            if text:
                                pieces += 1
                                if not yielded:
                                    usage.time_to_first_token_s = time.perf_counter() - started
                                out = stops.feed(text)
                                if out:
                                    yielded = True
                                    yield out
                            if choice.finish_reason:
                                finished = True
                        if stream.cancel.is_set() or stops.stopped:
                            return
                except openai.APIConnectionError as error:
                    if yielded or attempt >= self.retries:
                        raise self.server.lost(error, yielded) from error
                    attempt += 1
                    delay = backoff_delay(attempt, longest=8.0)
                    log.warning("connection to %s lost before the reply began; retrying in %.1fs", self.base_url, delay)
                    stream.cancel.wait(delay)
                    continue
                finally:
                    completion.close()
                if not finished:
                    raise ModelError(
                        f"The server at {self.base_url} ended the reply without finishing it (no finish_reason). "
                        f"A llama-cpp-python server does this to a reply when another request arrives: start it with "
                        f"--interrupt_requests False. Otherwise check the server's log."
                    )
                tail = stops.flush()
                if tail:
                    yield tail
                return
        finally:
            stream.cancel.set()
            usage.total_s = time.perf_counter() - started
            if not usage.completion_tokens:
                usage.completion_tokens = pieces  # the server reported no usage: one piece is about one token


def create(settings: Settings) -> OpenAIChatModel:
    from . import default_options

    options = read_table(OpenAIOptions, "openai", settings.section("openai"))
    # An explicit --model names the served model; the default (the embedded model) is left to discovery.
    model = options.model or (settings.model if "model" in settings.origins else None)
    forced = settings.adapter not in ("auto", BASE)
    return OpenAIChatModel(
        settings.base_url,
        model=model,
        api_key=os.environ.get(settings.api_key_env) or None,
        adapter_models=options.adapters,
        adapters_dir=settings.adapters_dir,
        tokenizer=options.tokenizer or None,
        cache_dir=settings.cache_dir,
        context_window=settings.context_window,
        default_options=default_options(settings),
        default_adapter=settings.adapter if forced else None,
        fall_back_to_base=settings.adapter == "auto",
        timeout=options.timeout,
        connect_timeout=options.connect_timeout,
        retries=options.retries,
    )
