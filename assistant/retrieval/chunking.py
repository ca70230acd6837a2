"""Cut a document into chunks the embedder can read whole, along its own structure.

A chunk never crosses a heading or a page. Inside a section, paragraphs are split into sentences
(prose) or lines (code, lists, tables) and packed greedily up to a token budget; consecutive chunks
share about ``overlap`` tokens of whole sentences, so a fact on a boundary is in one chunk intact.
What the embedder reads is the chunk's header (document title and heading path) plus its text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ..text import sentence_spans
from .document import HEADING, LINES, Block, Document


class Tokenizer(Protocol):
    max_tokens: int

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...

    def token_windows(self, text: str, size: int, overlap: int) -> list[str]: ...


@dataclass
class Chunk:
    text: str
    headings: tuple[str, ...]
    page: int | None
    line_start: int | None
    line_end: int | None
    header: str  # title and heading path, read by the embedder and BM25 along with the text

    @property
    def indexed_text(self) -> str:
        return f"{self.header}\n{self.text}" if self.header else self.text


@dataclass
class _Unit:
    text: str
    block: int  # index of the block it came from: units of one block join with a space or newline
    joiner: str
    line_start: int | None
    line_end: int | None
    tokens: int = 0


def header_for(document: Document, headings: tuple[str, ...]) -> str:
    path = list(headings)
    if path and path[0] == document.title:
        path = path[1:]
    return " > ".join([document.title, *path]) if document.title else " > ".join(path)


def _units(block: Block, index: int) -> list[_Unit]:
    if block.kind == LINES:
        pieces, offset = [], 0
        for line in block.text.split("\n"):
            pieces.append((offset, offset + len(line)))
            offset += len(line) + 1
        joiner = "\n"
    else:
        pieces, joiner = sentence_spans(block.text), " "
    units = []
    for start, end in pieces:
        text = block.text[start:end].strip()
        if not text:
            continue
        first: int | None = None
        if block.line_start is not None:
            first = block.line_start + block.text.count("\n", 0, start)
        last = first + text.count("\n") if first is not None else None
        if block.line_end is not None and last is not None:
            last = min(last, block.line_end)
        units.append(_Unit(text, index, joiner, first, last))
    return units


def chunk_document(document: Document, tokenizer: Tokenizer, size: int = 200, overlap: int = 40) -> list[Chunk]:
    """Chunks of at most ``size`` tokens (header included, capped by what the model reads)."""
    sections: list[tuple[tuple[str, ...], int | None, list[Block]]] = []
    for block in document.blocks:
        if block.kind == HEADING or not block.text.strip():
            continue
        if sections and sections[-1][0] == block.headings and sections[-1][1] == block.page:
            sections[-1][2].append(block)
        else:
            sections.append((block.headings, block.page, [block]))

    headers = [header_for(document, headings) for headings, _, _ in sections]
    header_tokens = tokenizer.count_tokens(headers)
    chunks: list[Chunk] = []
    all_units: list[list[_Unit]] = []
    for _, _, blocks in sections:
        all_units.append([unit for index, block in enumerate(blocks) for unit in _units(block, index)])
    counts = iter(tokenizer.count_tokens([unit.text for units in all_units for unit in units]))
    for units in all_units:
        for unit in units:
            unit.tokens = next(counts)

    for (headings, page, _), header, extra, units in zip(sections, headers, header_tokens, all_units):
        # [CLS] and [SEP] plus the newline after the header also take places in the model's window.
        budget = max(32, min(size, tokenizer.max_tokens - 3 - extra))
        units = _fit(units, budget, min(overlap, budget // 4), tokenizer)
        for group in _pack(units, budget, min(overlap, budget // 4)):
            text = group[0].text
            for previous, unit in zip(group, group[1:]):
                text += ("\n\n" if unit.block != previous.block else unit.joiner) + unit.text
            starts = [u.line_start for u in group if u.line_start is not None]
            ends = [u.line_end for u in group if u.line_end is not None]
            chunks.append(Chunk(text, headings, page, min(starts) if starts else None, max(ends) if ends else None, header))
    return chunks


def _fit(units: list[_Unit], budget: int, overlap: int, tokenizer: Tokenizer) -> list[_Unit]:
    """Split units longer than the budget: lines into sentences, then sentences at token boundaries."""
    fitted: list[_Unit] = []
    for unit in units:
        if unit.tokens <= budget:
            fitted.append(unit)
            continue
        spans = sentence_spans(unit.text)
        pieces = [unit.text[a:b].strip() for a, b in spans] if len(spans) > 1 else [unit.text]
        counts = tokenizer.count_tokens(pieces)
        for piece, count in zip(pieces, counts):
            windows = [piece] if count <= budget else tokenizer.token_windows(piece, budget, overlap)
            window_counts = [count] if count <= budget else tokenizer.count_tokens(windows)
            for window, tokens in zip(windows, window_counts):
                fitted.append(_Unit(window, unit.block, " ", unit.line_start, unit.line_end, min(tokens, budget)))
    return fitted


def _pack(units: list[_Unit], budget: int, overlap: int) -> list[list[_Unit]]:
    groups: list[list[_Unit]] = []
    current: list[_Unit] = []
    used = 0
    fresh = 0  # units in `current` not carried over from the previous chunk
    for unit in units:
        if current and used + unit.tokens > budget:
            groups.append(current)
            carried: list[_Unit] = []
            carried_tokens = 0
            for previous in reversed(current[1:] if len(current) > 1 else []):
                if carried_tokens + previous.tokens > overlap or carried_tokens + previous.tokens + unit.tokens > budget:
                    break
                carried.insert(0, previous)
                carried_tokens += previous.tokens
            current, used, fresh = carried, carried_tokens, 0
        current.append(unit)
        used += unit.tokens
        fresh += 1
    if current and fresh:
        groups.append(current)
    return groups
