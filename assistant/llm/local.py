"""The local backend: a `transformers` causal LM on this machine, with switchable LoRA adapters."""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from ..errors import AdapterError, UsageError
from ..torch_threads import TORCH
from .adapters import AdapterInfo, check_base, read_adapter
from .base import BASE, GenerateFromStream, GenerationOptions, Message, StopFilter, TokenStream, Usage, require_prompt
from .engine import check_engine, choose_engine
from .models import ModelSource, load_pretrained, resolve_device

log = logging.getLogger(__name__)
# Words guessed from the prompt on the generate() path (other architectures, GPUs), checked in one pass: the
# fast path's count was 3 when this was measured (a RAG answer 4.9 -> 3.3 s on the CPU); on a GPU extra rows cost
# little, so this is not tied to the fast path's (smaller) count.
GENERATE_LOOKUP_TOKENS = 3


class LocalChatModel(GenerateFromStream):
    """One model in memory. Loading and every generation run on the torch thread (see torch_threads.py),
    one request at a time, so chats never share a model state."""

    def __init__(
        self,
        source: ModelSource,
        *,
        cache_dir: Path,
        adapters_dir: Path,
        device: str = "auto",
        dtype: str = "auto",
        context_window: int = 2048,
        default_options: GenerationOptions | None = None,
        default_adapter: str | None = None,
        engine: str = "auto",
    ) -> None:
        """``engine``: "auto", "fast" or "generate" (see `engine.py`)."""
        check_engine(engine)  # a typo costs a second, not a model load
        self.source = source
        self.name = source.spec
        self.device = resolve_device(device)
        self.adapters_dir = adapters_dir
        self.default_options = default_options or GenerationOptions()
        started = time.perf_counter()
        TORCH.run(self._load, cache_dir, dtype, context_window, engine)
        self.load_seconds = time.perf_counter() - started
        self._loaded: dict[str, AdapterInfo] = {}
        self.default_adapter = None
        if default_adapter and default_adapter != BASE:
            self.default_adapter = self.load_adapter(default_adapter)
        log.info("loaded %s on %s in %.1fs; engine %s", self.name, self.device, self.load_seconds, self.engine_reason)

    def _load(self, cache_dir: Path, dtype: str, context_window: int, engine: str) -> None:
        self.model, self.tokenizer = load_pretrained(self.source, cache_dir, self.device, dtype)
        limit = getattr(self.model.config, "max_position_embeddings", None) or context_window
        self.context_window = min(context_window, limit) if context_window > 0 else limit
        choice = choose_engine(
            self.model, lambda text: self.tokenizer(text, add_special_tokens=False)["input_ids"], self.encode_chat,
            self.device, self.context_window, cache_dir, engine,
        )
        self.fast, self.engine, self.engine_reason = choice.decoder, choice.name, choice.reason

    # --- adapters -------------------------------------------------------------------------

    def load_adapter(self, name_or_path: str) -> str:
        """Load an adapter (once) and return the name it is known by from then on."""
        if name_or_path in self._loaded:
            return name_or_path
        info = read_adapter(name_or_path, self.adapters_dir)
        return TORCH.run(self._load_adapter, info)

    def _load_adapter(self, info: AdapterInfo) -> str:
        if info.name in self._loaded:
            return info.name
        check_base(info, self.source)
        from peft import PeftModel
        from peft.utils import load_peft_weights

        try:
            load_peft_weights(str(info.path))  # a damaged file fails here, before peft changes the model
            if not self._loaded:
                self.model = PeftModel.from_pretrained(self.model, str(info.path), adapter_name=info.name)
            else:
                self.model.load_adapter(str(info.path), adapter_name=info.name)
        except Exception as error:  # peft and safetensors raise many types for a bad or mismatched file
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise AdapterError(
                f"Adapter {info.name!r} cannot be loaded into {self.name}: {first_line}. Retrain it or remove {info.path}."
            ) from error
        self.model.eval()
        if self.fast is not None and not self.fast.add_adapter(info.name, self.model):
            log.info("adapter %s runs with generate(), not the fast path", info.name)
        self._loaded[info.name] = info
        log.info("loaded adapter %s from %s", info.name, info.path)
        return info.name

    def adapters(self) -> list[str]:
        return list(self._loaded)

    def _adapter_name(self, adapter: str | None) -> str | None:
        """The loaded adapter a request runs with (None: the base model). Call on the torch thread."""
        name = self.default_adapter if adapter is None else adapter
        return None if name in (None, BASE) else self.load_adapter(name)

    @contextlib.contextmanager
    def _active(self, name: str | None):
        """Run generate() with one adapter active, or none. Call on the torch thread."""
        if name is None:
            if self._loaded:
                with self.model.disable_adapter():
                    yield
            else:
                yield
            return
        self.model.set_adapter(name)
        yield

    # --- tokens ---------------------------------------------------------------------------

    def encode_chat(self, messages: list[Message]) -> list[int]:
        if self.tokenizer.chat_template:
            encoded = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
            ids = encoded["input_ids"] if hasattr(encoded, "keys") else encoded
            return list(ids)
        text = "".join(f"{m['role'].capitalize()}: {m['content']}\n" for m in messages) + "Assistant:"
        return self.tokenizer(text)["input_ids"]

    def count_tokens(self, messages: list[Message] | str) -> int:
        if isinstance(messages, str):
            return len(self.tokenizer(messages, add_special_tokens=False)["input_ids"])
        return len(self.encode_chat(messages))

    # --- generation -----------------------------------------------------------------------

    def stream(
        self,
        messages: list[Message],
        options: GenerationOptions | None = None,
        *,
        adapter: str | None = None,
        cancel: threading.Event | None = None,
        ignore_eos: bool = False,
    ) -> TokenStream:
        """Stream the reply. ``ignore_eos`` (for benchmarks) always makes max_new_tokens tokens."""
        require_prompt(messages)
        options = options or self.default_options
        prompt = self.encode_chat(messages)
        if len(prompt) >= self.context_window:
            raise UsageError(
                f"The message is too long: {len(prompt)} tokens, and the model's context window is {self.context_window}. "
                f"Shorten it or split it."
            )
        options_fit = GenerationOptions(
            max_new_tokens=min(options.max_new_tokens, self.context_window - len(prompt)),
            temperature=options.temperature,
            top_p=options.top_p,
            stop=options.stop,
            seed=options.seed,
        )
        stream = TokenStream(iter(()), cancel or threading.Event())
        stream.pieces = self._pieces(prompt, options_fit, adapter, stream, ignore_eos)
        return stream

    def _pieces(self, prompt, options: GenerationOptions, adapter, stream: TokenStream, ignore_eos: bool) -> Iterator[str]:
        usage: Usage = stream.usage
        usage.prompt_tokens = len(prompt)
        tokens: queue.Queue = queue.Queue()
        started = time.perf_counter()
        # On the torch thread itself this runs the whole generation before the first piece is read.
        generation = TORCH.submit(self._run, prompt, options, adapter, stream.cancel, tokens, ignore_eos)
        generated: list[int] = []
        emitted = ""
        stops = StopFilter(options.stop)
        try:
            while True:
                item = tokens.get()
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise item
                if not generated:
                    usage.time_to_first_token_s = time.perf_counter() - started
                generated.extend(item)
                usage.completion_tokens = len(generated)
                text = self.tokenizer.decode(generated, skip_special_tokens=True)
                # An incomplete multi-byte character decodes to U+FFFD: wait for the next token.
                if text.endswith("\ufffd"):
                    continue
                piece, emitted = text[len(emitted) :], text
                out = stops.feed(piece)
                if out:
                    yield out
                if stops.stopped:
                    stream.cancel.set()
                    break
            tail = stops.flush()
            if tail and not stops.stopped:
                yield tail
        finally:
            stream.cancel.set()
            generation.result()
            usage.total_s = time.perf_counter() - started

    def _run(self, prompt, options: GenerationOptions, adapter, cancel: threading.Event, tokens: queue.Queue, ignore_eos: bool) -> None:
        try:
            name = self._adapter_name(adapter)
            if cancel.is_set():
                return
            if self.fast is not None and (name is None or name in self.fast.adapters):
                eos = set() if ignore_eos else self._eos_ids()
                for token in self.fast.generate(
                    prompt, options.max_new_tokens, temperature=options.temperature, top_p=options.top_p,
                    seed=options.seed, adapter=name, eos=eos, cancel=cancel,
                ):
                    tokens.put([token])
            else:
                self._generate(prompt, options, name, cancel, tokens, ignore_eos)
        except BaseException as error:  # handed to the reading thread, which raises it
            tokens.put(error)
        finally:
            tokens.put(None)

    def _eos_ids(self) -> set[int]:
        configured = self.model.generation_config.eos_token_id
        ids = set(configured if isinstance(configured, list) else [configured])
        return {i for i in ids | {self.tokenizer.eos_token_id} if i is not None}

    def _generate(self, prompt, options: GenerationOptions, name, cancel: threading.Event, tokens: queue.Queue, ignore_eos: bool) -> None:
        """The general path: transformers' generate(), for any model, device and adapter."""
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList
        from transformers.generation.streamers import BaseStreamer

        class QueueStreamer(BaseStreamer):
            def __init__(self) -> None:
                self.prompt_seen = False

            def put(self, value) -> None:
                if not self.prompt_seen:  # generate() first hands back the prompt itself
                    self.prompt_seen = True
                    return
                tokens.put(value.reshape(-1).tolist())

            def end(self) -> None:
                pass

        class StopOnCancel(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                return torch.full((input_ids.shape[0],), cancel.is_set(), dtype=torch.bool, device=input_ids.device)

        with self._active(name), torch.inference_mode():
            if options.seed is not None:
                torch.manual_seed(options.seed)
            sampling = options.temperature > 0
            self.model.generate(
                input_ids=torch.tensor([prompt], device=self.device),
                attention_mask=torch.ones(1, len(prompt), dtype=torch.long, device=self.device),
                max_new_tokens=options.max_new_tokens,
                min_new_tokens=options.max_new_tokens if ignore_eos else None,
                do_sample=sampling,
                temperature=options.temperature if sampling else None,
                top_p=options.top_p if sampling else None,
                top_k=None,
                pad_token_id=self.tokenizer.pad_token_id,
                streamer=QueueStreamer(),
                stopping_criteria=StoppingCriteriaList([StopOnCancel()]),
                # Greedy replies check words guessed from the prompt, as the fast path does (`lookup.py`); a stateful
                # model (Mamba and the like) cannot take back a guess, and transformers refuses it.
                prompt_lookup_num_tokens=None if sampling or getattr(self.model, "_is_stateful", False) else GENERATE_LOOKUP_TOKENS,
            )
