"""The seam every model backend plugs into: a chat model that generates or streams text."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol, TypedDict, runtime_checkable

from ..errors import UsageError


class Message(TypedDict):
    role: str  # "system" | "user" | "assistant"
    content: str


# The adapter argument: BASE runs the base model, None keeps the backend's default.
BASE = "none"


@dataclass(frozen=True)
class GenerationOptions:
    max_new_tokens: int = 512
    temperature: float = 0.0  # 0 means greedy
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int | None = None


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    time_to_first_token_s: float = 0.0
    total_s: float = 0.0

    @property
    def decode_tokens_per_s(self) -> float:
        decode_time = self.total_s - self.time_to_first_token_s
        if self.completion_tokens <= 1 or decode_time <= 0:
            return 0.0
        return (self.completion_tokens - 1) / decode_time


class LinkedEvent(threading.Event):
    """Set by its own ``set()`` or by the caller's event; setting it never sets the caller's.

    One stream ending must not look like a cancellation to whoever passed the event in.
    """

    def __init__(self, outer: threading.Event | None = None) -> None:
        super().__init__()
        self.outer = outer

    def is_set(self) -> bool:
        return super().is_set() or (self.outer is not None and self.outer.is_set())


@dataclass
class TokenStream:
    """An iterator of text pieces; ``usage`` is complete once it is exhausted.

    Breaking out of the loop, setting ``cancel``, or setting the event the caller passed in
    stops the generation.
    """

    pieces: Iterator[str]
    cancel: threading.Event = field(default_factory=threading.Event)
    usage: Usage = field(default_factory=Usage)

    def __post_init__(self) -> None:
        if not isinstance(self.cancel, LinkedEvent):
            self.cancel = LinkedEvent(self.cancel)

    def __iter__(self) -> Iterator[str]:
        try:
            yield from self.pieces
        finally:
            self.cancel.set()

    def text(self) -> str:
        return "".join(self)


@runtime_checkable
class ChatModel(Protocol):
    """What the conversation manager, the skills and the CLI need of a model."""

    context_window: int

    @property
    def name(self) -> str: ...

    def stream(
        self,
        messages: list[Message],
        options: GenerationOptions | None = None,
        *,
        adapter: str | None = None,
        cancel: threading.Event | None = None,
    ) -> TokenStream: ...

    def generate(
        self,
        messages: list[Message],
        options: GenerationOptions | None = None,
        *,
        adapter: str | None = None,
        cancel: threading.Event | None = None,
    ) -> str: ...

    def count_tokens(self, messages: list[Message] | str) -> int: ...

    def adapters(self) -> list[str]: ...


class GenerateFromStream:
    """``ChatModel.generate`` for a backend that streams: the streamed reply, whole."""

    def generate(self: ChatModel, messages: list[Message], options: GenerationOptions | None = None, *,
                 adapter: str | None = None, cancel: threading.Event | None = None) -> str:
        return self.stream(messages, options, adapter=adapter, cancel=cancel).text()


def require_prompt(messages: list[Message]) -> None:
    """Every backend refuses an empty prompt the same way, before any work."""
    if not messages or not any(m["content"].strip() for m in messages):
        raise UsageError("The prompt is empty: type a message.")


class StopFilter:
    """Cuts streamed text at the first stop string, holding back a tail that may begin one."""

    def __init__(self, stops: tuple[str, ...]) -> None:
        self.stops = tuple(s for s in stops if s)
        self.pending = ""
        self.stopped = False

    def feed(self, piece: str) -> str:
        if not self.stops:
            return piece
        self.pending += piece
        cut = min((i for i in (self.pending.find(s) for s in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            out, self.pending, self.stopped = self.pending[:cut], "", True
            return out
        hold = max((k for s in self.stops for k in range(1, len(s)) if self.pending.endswith(s[:k])), default=0)
        out, self.pending = self.pending[: len(self.pending) - hold], self.pending[len(self.pending) - hold :]
        return out

    def flush(self) -> str:
        out, self.pending = self.pending, ""
        return out
