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
import math
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import openai

from ..config import Settings, read_table
from ..errors import AdapterError, ConfigError, ModelError, UsageError
from ..logs import add_secret
from .adapters import list_adapters
from .base import BASE, GenerationOptions, Message, StopFilter, TokenStream, require_prompt

log = logging.getLogger(__name__)

# Servers that need no key (llama.cpp, vLLM without --api-key, Ollama) still get one: the client insists.
NO_KEY = "no-key"
# What a chat template adds around the messages (role markers, a default system prompt), counted generously.
TEMPLATE_TOKENS = 32
TOKENS_PER_MESSAGE = 8


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


@dataclass(frozen=True)
class ServedModel:
    id: str
    parent: str | None = None  # vLLM names the base model a LoRA adapter belongs to
    max_model_len: int | None = None


def estimate_tokens(text: str) -> int:
    """A token count that errs high, for when the served model's tokenizer is not on this machine.

    Calibrated on WMT22 and Tatoeba sentences (English, German, French, Spanish, Chinese) against
    SmolLM2's small English-centric vocabulary, one of the least efficient a served model has:
    it stays above the real count on whole texts in every one of those languages.
    """
    letters = digits = symbols = ascii_chars = 0
    for char in text:
        if char.isascii():
            ascii_chars += 1
            if char.isalpha():
                letters += 1
            elif char.isdigit():
                digits += 1  # many tokenizers split numbers digit by digit
            elif not char.isspace():
                symbols += 1
    other_bytes = len(text.encode("utf-8")) - ascii_chars
    return math.ceil(letters / 2 + digits + symbols + other_bytes / 1.3)


def _first_line(text: object, limit: int = 300) -> str:
    line = str(text).strip().splitlines()[0] if str(text).strip() else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


class OpenAIChatModel:
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
        self.timeout = timeout
        self.retries = retries
        self.client = openai.OpenAI(
            base_url=self.base_url,
            api_key=api_key or NO_KEY,
            timeout=openai.Timeout(timeout, connect=connect_timeout),
            max_retries=retries,
        )
        self.adapter_models = dict(adapter_models or {})
        self.adapters_dir = adapters_dir
        self.context_window = context_window
        self.default_options = default_options or GenerationOptions()
        self.default_adapter = default_adapter
        self.fall_back_to_base = fall_back_to_base
        self.tokenizer_spec = tokenizer
        self.cache_dir = cache_dir
        self._configured_model = model
        self._served: list[ServedModel] | None = None
        self._served_lock = threading.Lock()
        self._tokenizer: Any = None
        self._tokenizer_loaded = False
        self._tokenizer_lock = threading.Lock()
        self._warned: set[str] = set()

    # --- what the server serves ---------------------------------------------------------

    def served_models(self, refresh: bool = False) -> list[ServedModel]:
        """The server's /v1/models, fetched once (and again when a name turns out to be unknown)."""
        with self._served_lock:
            if self._served is None or refresh:
                page = self._call(lambda: self.client.models.list(), "list the served models")
                self._served = [
                    ServedModel(
                        id=m.id,
                        parent=getattr(m, "parent", None),
                        max_model_len=getattr(m, "max_model_len", None),
                    )
                    for m in page.data
                ]
            return list(self._served)

    @property
    def name(self) -> str:
        """The served name of the base model: configured, or the one base model the server serves."""
        if self._configured_model:
            return self._configured_model
        bases = [m.id for m in self.served_models() if not m.parent]
        if len(bases) != 1:
            raise ModelError(
                f"The server at {self.base_url} serves {len(bases)} base models ({', '.join(bases) or 'none'}): "
                f"name one with --model NAME or `model = \"NAME\"` in the [openai] table."
            )
        self._configured_model = bases[0]
        return bases[0]

    def _unknown_model(self, model: str) -> ModelError:
        served = ", ".join(m.id for m in self.served_models(refresh=True)) or "nothing"
        return ModelError(
            f"The server at {self.base_url} does not serve a model named {model!r}. It serves: {served}. "
            f"Set `model` (or the adapter's entry in `adapters`) in the [openai] table to one of these."
        )

    def served_name(self, adapter: str | None) -> str:
        """The model name a request with this adapter goes to, checked against what the server serves."""
        wanted = self.default_adapter if adapter is None else adapter
        base = self.name
        served = {m.id for m in self.served_models()}
        if base not in served:
            raise self._unknown_model(base)
        if wanted in (None, BASE):
            return base
        key = Path(wanted).name if "/" in wanted else wanted
        target = self.adapter_models.get(key, key)
        # vLLM can load adapters while it runs: look again before deciding one is missing (once, when falling back).
        if target in served or (key not in self._warned and target in {m.id for m in self.served_models(refresh=True)}):
            return target
        hint = (
            f"Serve it (vLLM: --enable-lora --lora-modules {target}=adapters/{key}), map it in the [openai] "
            f"table's `adapters`, or use --adapter none."
        )
        if self.fall_back_to_base:
            if key not in self._warned:
                self._warned.add(key)
                log.warning("The server at %s does not serve adapter %r; using the base model. %s", self.base_url, key, hint)
            return base
        raise AdapterError(f"The server at {self.base_url} does not serve adapter {key!r} (as model {target!r}). {hint}")

    def adapters(self) -> list[str]:
        """Adapters the server offers: the configured and locally installed ones it serves, and its LoRA models."""
        served = self.served_models()
        ids = {m.id for m in served}
        known = dict.fromkeys(self.adapter_models)
        if self.adapters_dir is not None:
            known.update(dict.fromkeys(info.name for info in list_adapters(self.adapters_dir)))
        offered = [name for name in known if self.adapter_models.get(name, name) in ids]
        mapped = {self.adapter_models.get(name, name) for name in offered}
        offered += [m.id for m in served if m.parent and m.id not in mapped]
        return offered

    # --- tokens -------------------------------------------------------------------------

    def _load_tokenizer(self) -> Any:
        """The served model's tokenizer when it is on this machine, else None (and estimates are used)."""
        with self._tokenizer_lock:
            if self._tokenizer_loaded:
                return self._tokenizer
            spec = self.tokenizer_spec
            if spec is None:
                try:
                    spec = self.name  # a served name is often a local spec too: an embedded name, a path, a hub id
                except ModelError:
                    return None  # the server is not reachable yet: estimate, and look again next time
            self._tokenizer_loaded = True
            if spec == "estimate":
                return None
            try:
                self._tokenizer = load_tokenizer(spec, self.cache_dir)
                log.info("counting tokens with the tokenizer of %s", spec)
            except (ModelError, OSError, ValueError) as error:
                level = logging.WARNING if self.tokenizer_spec else logging.INFO
                log.log(level, "no local tokenizer for %s (%s); token counts are estimates", spec, _first_line(error))
            return self._tokenizer

    def count_tokens(self, messages: list[Message] | str) -> int:
        tokenizer = self._load_tokenizer()
        if isinstance(messages, str):
            if tokenizer is None:
                return estimate_tokens(messages)
            return len(tokenizer(messages, add_special_tokens=False)["input_ids"])
        if tokenizer is not None and tokenizer.chat_template:
            encoded = tokenizer.apply_chat_template(list(messages), add_generation_prompt=True, tokenize=True)
            return len(encoded["input_ids"] if hasattr(encoded, "keys") else encoded)
        return TEMPLATE_TOKENS + sum(TOKENS_PER_MESSAGE + self.count_tokens(m["content"]) for m in messages)

    # --- generation ---------------------------------------------------------------------

    def generate(self, messages, options=None, *, adapter=None, cancel=None) -> str:
        return self.stream(messages, options, adapter=adapter, cancel=cancel).text()

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
                completion = self._call(lambda: self.client.chat.completions.create(**request), "generate", request["model"])
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
                        raise self._lost(error, yielded) from error
                    attempt += 1
                    delay = min(0.5 * 2 ** (attempt - 1), 8.0)
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

    def _lost(self, error: Exception, yielded: bool) -> ModelError:
        when = "in the middle of the reply" if yielded else "before the reply began"
        if isinstance(error, openai.APITimeoutError):
            return ModelError(
                f"The server at {self.base_url} sent nothing for {self.timeout:g}s {when}. "
                f"Raise `timeout` in the [openai] table, or check the server."
            )
        return ModelError(f"The connection to {self.base_url} was lost {when}. Check that the server is still running.")

    def _call(self, request, action: str, model: str | None = None):
        """Run one client call, turning the client's errors into one-line `ModelError`s."""
        try:
            return request()
        except openai.APITimeoutError:
            raise ModelError(
                f"The server at {self.base_url} did not answer within {self.timeout:g}s (to {action}). "
                f"Check that it is running, or raise `timeout` in the [openai] table."
            ) from None
        except openai.APIConnectionError as error:
            reason = _first_line(error.__cause__ or error)
            raise ModelError(
                f"Cannot reach the model server at {self.base_url} ({reason}). Start it (see docs/deploy.md) "
                f"or fix --base-url."
            ) from error
        except openai.NotFoundError as error:
            if model is None:
                raise ModelError(
                    f"{self.base_url} has no {action} endpoint (404): is it an OpenAI-compatible URL ending in /v1?"
                ) from error
            raise self._unknown_model(model) from error
        except (openai.AuthenticationError, openai.PermissionDeniedError) as error:
            raise ModelError(
                f"The server at {self.base_url} refused the API key ({error.status_code}): set the environment "
                f"variable named by api_key_env to a valid key."
            ) from error
        except openai.RateLimitError as error:
            raise ModelError(
                f"The server at {self.base_url} is still busy (429) after {self.retries} retries. Try again shortly, "
                f"or serve fewer chats at once."
            ) from error
        except openai.APIStatusError as error:
            message = error.body.get("message") if isinstance(error.body, dict) else None
            after = f" after {self.retries} retries" if error.status_code >= 500 else ""
            raise ModelError(
                f"The server at {self.base_url} could not {action} ({error.status_code}{after}): "
                f"{_first_line(message or error.message)}"
            ) from error


def load_tokenizer(spec: str, cache_dir: Path | None) -> Any:
    """Only the tokenizer of a model spec (embedded name, .gguf, folder, or a hub id already downloaded)."""
    from .models import gguf_cache_dir, resolve_model

    source = resolve_model(spec)  # before importing transformers: most served names are not local models
    if source.kind == "hub":
        from huggingface_hub import try_to_load_from_cache

        if not isinstance(try_to_load_from_cache(source.location, "tokenizer_config.json"), str):
            raise ModelError(f"{spec} is not in the local Hugging Face cache")
    # PreTrainedTokenizerFast loads a tokenizer.json in about a second; AutoTokenizer imports torch first.
    from transformers import PreTrainedTokenizerFast

    location = source.location
    if source.kind == "gguf":
        converted = gguf_cache_dir(source, cache_dir) if cache_dir else None
        if converted is None or not (converted / "tokenizer.json").is_file():
            from transformers import AutoTokenizer

            gguf = Path(source.location)
            return AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        location = str(converted)
    try:
        return PreTrainedTokenizerFast.from_pretrained(location, local_files_only=True)
    except (OSError, ValueError):
        from transformers import AutoTokenizer  # a model without tokenizer.json, e.g. sentencepiece only

        return AutoTokenizer.from_pretrained(location, local_files_only=True)


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
