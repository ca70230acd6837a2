"""The `ChatModel` double for tests and examples, beside the protocol it stands in for: it streams
scripted replies word by word, the way a real backend streams tokens, and records every call."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from .base import GenerateFromStream, GenerationOptions, Message, StopFilter, TokenStream


class ScriptedChatModel(GenerateFromStream):
    """Replies from a script: a list of texts used in turn, or a function of the messages.

    Records every call (messages and adapter) so tests can check what the model was asked.
    ``delay`` slows each streamed word, for tests of concurrency; with ``hold_after`` the reply stops
    after that many words until it is cancelled, so a test that stops an answer in progress knows
    it is still in progress.
    """

    def __init__(self, replies: list[str] | Callable[[list[Message]], str] | None = None, *, delay: float = 0.0,
                 hold_after: int | None = None, context_window: int = 2048, name: str = "scripted") -> None:
        self.replies = replies if replies is not None else ["Hello from the scripted model."]
        self.delay = delay
        self.hold_after = hold_after
        self.context_window = context_window
        self.name = name
        self.calls: list[dict[str, Any]] = []
        self._turn = 0
        self._lock = threading.Lock()

    def _reply(self, messages: list[Message]) -> str:
        if callable(self.replies):
            return self.replies(messages)
        with self._lock:
            text = self.replies[min(self._turn, len(self.replies) - 1)]
            self._turn += 1
        return text

    def stream(self, messages: list[Message], options: GenerationOptions | None = None, *,
               adapter: str | None = None, cancel: threading.Event | None = None) -> TokenStream:
        options = options or GenerationOptions()
        self.calls.append({"messages": [dict(m) for m in messages], "adapter": adapter, "options": options})
        text = self._reply(messages)
        stream = TokenStream(iter(()), cancel or threading.Event())
        usage = stream.usage

        def pieces() -> Iterator[str]:
            started = time.perf_counter()
            usage.prompt_tokens = self.count_tokens(messages)
            stops = StopFilter(options.stop)
            words = text.split(" ")
            for i, word in enumerate(words[: options.max_new_tokens]):
                if i == self.hold_after:
                    (cancel or stream.cancel).wait(60)  # the caller's event: the stream's own only mirrors it
                if stream.cancel.is_set():
                    break
                if self.delay:
                    time.sleep(self.delay)
                out = stops.feed(word if i == 0 else " " + word)
                usage.completion_tokens += 1
                if i == 0:
                    usage.time_to_first_token_s = time.perf_counter() - started
                if out:
                    yield out
                if stops.stopped:
                    break
            if not stops.stopped:
                tail = stops.flush()
                if tail:
                    yield tail
            usage.total_s = time.perf_counter() - started

        stream.pieces = pieces()
        return stream

    def count_tokens(self, messages: list[Message] | str) -> int:
        if isinstance(messages, str):
            return len(messages.split())
        return sum(len(m["content"].split()) + 4 for m in messages)

    def adapters(self) -> list[str]:
        return []
