"""Test doubles: a scripted chat model that streams like a real one."""

from __future__ import annotations

import threading
import time
from typing import Callable

from assistant.llm.base import BASE, GenerationOptions, Message, StopFilter, TokenStream, Usage


class ScriptedChatModel:
    """Replies from a script: a list of texts used in turn, or a function of the messages.

    Records every call (messages and adapter) so tests can check what the model was asked.
    ``delay`` slows each streamed word, for tests of cancellation and concurrency.
    """

    def __init__(self, replies: list[str] | Callable[[list[Message]], str] | None = None, *, delay: float = 0.0,
                 context_window: int = 2048, name: str = "scripted") -> None:
        self.replies = replies if replies is not None else ["Hello from the scripted model."]
        self.delay = delay
        self.context_window = context_window
        self.name = name
        self.calls: list[dict] = []
        self._turn = 0
        self._lock = threading.Lock()

    def _reply(self, messages: list[Message]) -> str:
        if callable(self.replies):
            return self.replies(messages)
        with self._lock:
            text = self.replies[min(self._turn, len(self.replies) - 1)]
            self._turn += 1
        return text

    def stream(self, messages, options: GenerationOptions | None = None, *, adapter=None, cancel=None) -> TokenStream:
        options = options or GenerationOptions()
        self.calls.append({"messages": [dict(m) for m in messages], "adapter": adapter, "options": options})
        text = self._reply(messages)
        stream = TokenStream(iter(()), cancel or threading.Event())
        usage = stream.usage

        def pieces():
            started = time.perf_counter()
            usage.prompt_tokens = self.count_tokens(messages)
            stops = StopFilter(options.stop)
            words = text.split(" ")
            for i, word in enumerate(words[: options.max_new_tokens]):
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

    def generate(self, messages, options=None, *, adapter=None, cancel=None) -> str:
        return self.stream(messages, options, adapter=adapter, cancel=cancel).text()

    def count_tokens(self, messages) -> int:
        if isinstance(messages, str):
            return len(messages.split())
        return sum(len(m["content"].split()) + 4 for m in messages)

    def adapters(self) -> list[str]:
        return []


def manager_over(model, history_path, knowledge=None, *, qa_options=None, **parts):
    """A conversation manager over these parts, with the skills `assistant.runtime` would build but no
    adapters (scripted models ignore them); ``parts`` are further ConversationManager arguments."""
    from assistant.conversation.documents import Documents
    from assistant.conversation.history import HistoryStore
    from assistant.conversation.manager import ConversationManager
    from assistant.skills.qa import QAOptions, QASkill
    from assistant.skills.translate import LLMTranslator

    qa = QASkill(model, knowledge, adapter=None, options=qa_options or QAOptions())
    return ConversationManager(model, HistoryStore(history_path), qa=qa, translator=LLMTranslator(model),
                               documents=None if knowledge is None else Documents(knowledge), **parts)
