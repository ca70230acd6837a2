"""/summarize: extractive (central sentences by embedding), abstractive (map-reduce with the LLM), or auto."""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Protocol

from ..llm.base import BASE, ChatModel, GenerationOptions, Message
from ..text import SENTENCE_STOPS, pack, paragraphs, sentences

STYLES = ("short", "bullets", "detailed")
INSTRUCTIONS = {
    "short": "Summarize the text in one or two sentences.",
    "bullets": "Summarize the text as 3 to 5 short bullet points, each starting with '- '.",
    "detailed": "Summarize the text in one detailed paragraph that keeps the key facts and figures.",
}
SENTENCES_FOR = {"short": 2, "bullets": 5, "detailed": 8}
# Extractive scoring beyond centrality. Writers put what matters first (news ledes, topic sentences, the
# opening of a meeting), and centrality alone prefers long sentences that touch every topic. Chosen on
# 150 texts each of CNN/DM, XSum and DialogSum outside bench/summarize_rouge.py's sample: ROUGE-L
# 0.207 -> 0.242, 0.125 -> 0.129 and 0.202 -> 0.239 against centrality alone (lead: 0.244, 0.125, 0.235).
LEAD_WEIGHT = 0.2  # added as LEAD_WEIGHT / (1 + position)
LONG_SENTENCE_WORDS, LONG_SENTENCE_PENALTY = 35, 0.1  # per LONG_SENTENCE_WORDS words beyond that
# A model's summary must beat the text's own sentences by this much ROUGE-L to be chosen: about the noise of
# 100 texts, and extractive cannot invent a fact, which ROUGE does not see (FRANK, whose news articles the
# bench uses, was made to count what abstractive summaries invent).
CLEAR_WIN = 0.02
# "Speaker: words" at the start of a line: chat logs, transcripts, DialogSum's "#Person1#:".
SPEAKER_TURN = re.compile(r"^\s*[#@]?[\w][\w .'#@-]{0,30}:\s+\S", re.MULTILINE)
ANSWER_TOKENS = {"short": 96, "bullets": 192, "detailed": 320}


def summary_messages(text: str, style: str) -> list[Message]:
    """The prompt AbstractiveSummarizer sends; the summarize adapter's training data is built with it too."""
    return [{"role": "system", "content": "You write faithful, concise summaries."},
            {"role": "user", "content": f"{INSTRUCTIONS[style]}\n\nText:\n{text}"}]


class Summarizer(Protocol):
    def summarize(self, text: str, style: str = "short", cancel: threading.Event | None = None) -> Iterator[str]: ...

    def choose(self, text: str, style: str = "short") -> Summarizer:
        """The summarizer that will summarize this text: itself, unless it picks between others."""
        ...

    def extracts(self, text: str, style: str = "short") -> bool:
        """Whether the summary of this text will be its own sentences rather than a model's words."""
        ...


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

    def choose(self, text: str, style: str = "short") -> Summarizer:
        return self

    def extracts(self, text: str, style: str = "short") -> bool:
        return True

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
        lead = LEAD_WEIGHT / (1.0 + np.arange(len(units)))
        words = np.array([len(u.split()) for u in units])
        too_long = LONG_SENTENCE_PENALTY * np.maximum(0, words - LONG_SENTENCE_WORDS) / LONG_SENTENCE_WORDS
        chosen = sorted(np.argsort(-(centrality + lead - too_long))[:count])
        yield layout([units[i] for i in chosen], style)


class AbstractiveSummarizer:
    """Asks the model; a text too long for one prompt is summarised in parts, then the parts combined."""

    def __init__(self, model: ChatModel, adapter: str | None = None) -> None:
        self.model = model
        self.adapter = adapter

    def choose(self, text: str, style: str = "short") -> Summarizer:
        return self

    def extracts(self, text: str, style: str = "short") -> bool:
        return False

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


def is_dialogue(text: str) -> bool:
    """A chat log or transcript: most lines are "Speaker: words", from at least two speakers."""
    lines = [line for line in text.splitlines() if line.strip()]
    turns = SPEAKER_TURN.findall(text)
    speakers = {turn.split(":", 1)[0].strip() for turn in turns}
    return len(turns) >= 2 and len(speakers) >= 2 and len(turns) >= 0.5 * len(lines)


@functools.lru_cache(maxsize=1)
def measured_rouge() -> dict:
    """summarize_quality.json: ROUGE-L of each method per kind of text for a model and summarize adapter."""
    return json.loads(Path(__file__).with_name("summarize_quality.json").read_text(encoding="utf-8"))


class AutoSummarizer:
    """The method measured best for this model, adapter and kind of text (a dialogue or prose); abstractive
    when nothing was measured (a larger model); extractive when the text needs more than a few prompts
    (map-reduce on a CPU would take minutes)."""

    def __init__(self, abstractive: AbstractiveSummarizer, extractive: ExtractiveSummarizer, max_parts: int = 3) -> None:
        self.abstractive = abstractive
        self.extractive = extractive
        self.max_parts = max_parts

    def choose(self, text: str, style: str = "short") -> Summarizer:
        parts = self.abstractive.model.count_tokens(text) / self.abstractive.part_budget(style)
        if parts > self.max_parts:
            return self.extractive
        by_adapter = measured_rouge()["models"].get(self.abstractive.model.name, {})
        scores = by_adapter.get(self.abstractive.adapter or BASE, {}).get("dialogue" if is_dialogue(text) else "prose")
        if scores and scores["abstractive"] < scores["extractive"] + CLEAR_WIN:
            return self.extractive
        return self.abstractive

    def extracts(self, text: str, style: str = "short") -> bool:
        return self.choose(text, style).extracts(text, style)

    def summarize(self, text, style="short", cancel=None) -> Iterator[str]:
        yield from self.choose(text, style).summarize(text, style, cancel)
