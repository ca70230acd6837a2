"""What the conversation manager needs of a knowledge base: passages found for a query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Passage:
    """One retrieved chunk, with enough about where it came from to cite it precisely."""

    text: str
    source: str  # the document's path as it was indexed
    title: str = ""  # heading path, e.g. "Install > From source"
    page: int | None = None  # 1-based, for paged formats (PDF)
    line_start: int | None = None  # 1-based, inclusive, for text formats
    line_end: int | None = None
    score: float = 0.0  # ranking score within one search (e.g. fused rank score); higher is better
    chunk_id: int = -1
    # Absolute relevance in [0, 1] comparable across queries (e.g. dense cosine similarity),
    # used to decide whether the knowledge base has anything on a question at all.
    relevance: float | None = None

    @property
    def location(self) -> str:
        """'docs/install.md › Install > From source, lines 10-24' or 'manual.pdf, page 3'."""
        where = self.source
        if self.title:
            where += f" › {self.title}"
        if self.page is not None:
            where += f", page {self.page}"
        elif self.line_start is not None:
            end = self.line_end if self.line_end is not None else self.line_start
            where += f", line {self.line_start}" if end == self.line_start else f", lines {self.line_start}-{end}"
        return where


@runtime_checkable
class Retriever(Protocol):
    def search(self, query: str, k: int = 5) -> list[Passage]:
        """The k best passages for the query, best first; scores are comparable within one call."""
        ...
