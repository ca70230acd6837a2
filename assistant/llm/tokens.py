"""Counting tokens for a model served elsewhere: with its tokenizer when that is on this machine,
else with an estimate that errs high."""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ModelError, first_line
from .base import Message

log = logging.getLogger(__name__)

# What a chat template adds around the messages (role markers, a default system prompt), counted generously.
TEMPLATE_TOKENS = 32
TOKENS_PER_MESSAGE = 8


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


class TokenCounter:
    """Counts with the tokenizer of ``spec`` (None: of the served model's name, which is often a local
    spec too: an embedded name, a path, a hub id; "estimate": none), loaded on first use."""

    def __init__(self, spec: str | None, cache_dir: Path | None, served_name: Callable[[], str]) -> None:
        self.spec = spec
        self.cache_dir = cache_dir
        self.served_name = served_name
        self._tokenizer: Any = None
        self._loaded = False
        self._lock = threading.Lock()

    def tokenizer(self) -> Any:
        """The tokenizer, or None (and estimates are used)."""
        with self._lock:
            if self._loaded:
                return self._tokenizer
            spec = self.spec
            if spec is None:
                try:
                    spec = self.served_name()
                except ModelError:
                    return None  # the server is not reachable yet: estimate, and look again next time
            self._loaded = True
            if spec == "estimate":
                return None
            try:
                self._tokenizer = load_tokenizer(spec, self.cache_dir)
                log.info("counting tokens with the tokenizer of %s", spec)
            except (ModelError, OSError, ValueError) as error:
                level = logging.WARNING if self.spec else logging.INFO
                log.log(level, "no local tokenizer for %s (%s); token counts are estimates", spec, first_line(error))
            return self._tokenizer

    def count(self, messages: list[Message] | str) -> int:
        tokenizer = self.tokenizer()
        if isinstance(messages, str):
            if tokenizer is None:
                return estimate_tokens(messages)
            return len(tokenizer(messages, add_special_tokens=False)["input_ids"])
        if tokenizer is not None and tokenizer.chat_template:
            encoded = tokenizer.apply_chat_template(list(messages), add_generation_prompt=True, tokenize=True)
            return len(encoded["input_ids"] if hasattr(encoded, "keys") else encoded)
        return TEMPLATE_TOKENS + sum(TOKENS_PER_MESSAGE + self.count(m["content"]) for m in messages)
