"""/summarize: extractive (central sentences by embedding), abstractive (map-reduce with the LLM), or auto."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from ..llm.base import ChatModel, GenerationOptions, Message
from ..text import SENTENCE_STOPS, pack, paragraphs, sentences

STYLES = ("short", "bullets", "detailed")
INSTRUCTIONS = {
    "short": "Summarize the text in one or two sentences.",
    "bullets": "Summarize the text as 3 to 5 short bullet points, each starting with '- '.",
    "detailed": "Summarize the text in one detailed paragraph that keeps the key facts and figures.",
}
SENTENCES_FOR = {"short": 2, "bullets": 5, "detailed": 8}
ANSWER_TOKENS = {"short": 96, "bullets": 192, "detailed": 320}


def summary_messages(text: str, style: str) -> list[Message]:
    """The prompt AbstractiveSummarizer sends; the summarize adapter's training data is built with it too."""
    return [{"role": "system", "content": "You write faithful, concise summaries."},
            {"role": "user", "content": f"{INSTRUCTIONS[style]}\n\nText:\n{text}"}]


class Summarizer(Protocol):
    def summarize(self, text: str, style: str = "short", cancel: threading.Event | None = None) -> Iterator[str]: ...


def end_at_sentence(text: str) -> str:
    """Drop what the token budget cut off mid-sentence: the last line's unfinished sentence, or that line."""
    text = text.strip()
    if not text or text[-1] in SENTENCE_STOPS + "\"')":
        return text
    head, newline, last = text.rpartition("\n")
    whole = sentences(last)[:-1]
    if whole:
        return (head + newline + " ".join(whole)).strip()
    return head.strip() or text


def layout(chosen: Sequence[str], style: str) -> str:
    return "\n".join(f"- {s}" for s in chosen) if style == "bullets" else " ".join(chosen)


class ExtractiveSummarizer:
    """Keeps the sentences closest to the text's centre in embedding space, in their original order."""

    def __init__(self, embed: Callable[[list[str]], object]) -> None:
        self.embed = embed  # texts -> array of L2-normalised vectors

    def summarize(self, text, style="short", cancel=None) -> Iterator[str]:
        import numpy as np

        units = [s for p in paragraphs(text) for s in sentences(p)]
        count = SENTENCES_FOR[style]
        if len(units) <= count:
            yield layout(units, style)
            return
        vectors = np.asarray(self.embed(units), dtype="float32")
        centre = vectors.mean(axis=0)
        centrality = vectors @ (centre / (np.linalg.norm(centre) or 1.0))
        chosen = sorted(np.argsort(-centrality)[:count])
        yield layout([units[i] for i in chosen], style)


class AbstractiveSummarizer:
    """Asks the model; a text too long for one prompt is summarised in parts, then the parts combined."""

    def __init__(self, model: ChatModel, adapter: str | None = None) -> None:
        self.model = model
        self.adapter = adapter

    def part_budget(self, style: str) -> int:
        return max(128, self.model.context_window - ANSWER_TOKENS[style] - 96)

    def fits(self, text: str, style: str) -> bool:
        return self.model.count_tokens(text) <= self.part_budget(style)

    def _ask(self, text: str, style: str, cancel) -> Iterator[str]:
        options = GenerationOptions(max_new_tokens=ANSWER_TOKENS[style])
        yield from self.model.stream(summary_messages(text, style), options, adapter=self.adapter, cancel=cancel)

    def summarize(self, text, style="short", cancel=None) -> Iterator[str]:
        budget = self.part_budget(style)
        while not self.fits(text, style):
            units = [s for p in paragraphs(text) for s in sentences(p)]
            parts = pack(units, budget, self.model.count_tokens)
            notes = ["".join(self._ask(part, "short", cancel)).strip() for part in parts]
            if cancel is not None and cancel.is_set():
                return
            text = "\n\n".join(n for n in notes if n)
        yield from self._ask(text, style, cancel)


class AutoSummarizer:
    """Abstractive when the text fits a few prompts, extractive beyond (map-reduce on a CPU would take minutes)."""

    def __init__(self, abstractive: AbstractiveSummarizer, extractive: ExtractiveSummarizer, max_parts: int = 3) -> None:
        self.abstractive = abstractive
        self.extractive = extractive
        self.max_parts = max_parts

    def choose(self, text: str, style: str) -> Summarizer:
        parts = self.abstractive.model.count_tokens(text) / self.abstractive.part_budget(style)
        return self.abstractive if parts <= self.max_parts else self.extractive

    def summarize(self, text, style="short", cancel=None) -> Iterator[str]:
        yield from self.choose(text, style).summarize(text, style, cancel)
