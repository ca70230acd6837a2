"""What the rest of the assistant needs of a knowledge base: passages found for a query
(``Retriever``), and documents added, listed, read and removed (``KnowledgeStore``), with the plain
data they come in. ``fake.FakeKnowledgeStore`` is the double for tests; ``KnowledgeBase`` the real one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

Progress = Callable[[int, int], None]  # (files done, files in all)
# Files whose "lines" are the rows of a sheet (retrieval.spreadsheets): a location says "rows" there.
SHEETS = (".xlsx", ".xlsm")


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
        """'docs/install.md › Install > From source, lines 10-24', 'manual.pdf, page 3' or 'prices.xlsx › Prices 2024,
        rows 2-4'."""
        where = self.source
        if self.title:
            where += f" › {self.title}"
        if self.page is not None:
            where += f", page {self.page}"
        elif self.line_start is not None:
            end = self.line_end if self.line_end is not None else self.line_start
            line = "row" if self.source.lower().endswith(SHEETS) else "line"
            where += f", {line} {self.line_start}" if end == self.line_start else f", {line}s {self.line_start}-{end}"
        return where


@runtime_checkable
class Retriever(Protocol):
    def search(self, query: str, k: int = 5) -> list[Passage]:
        """The k best passages for the query, best first; scores are comparable within one call."""
        ...


@dataclass
class DocumentInfo:
    """One indexed document, as `index list` shows it."""

    path: str
    title: str
    format: str
    chunks: int
    size: int
    indexed_at: float  # seconds since the epoch


@dataclass
class IngestReport:
    """What an add, sync or rebuild did, file by file."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    chunks: int = 0  # chunks embedded
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        parts = [f"{len(self.added)} added", f"{len(self.updated)} updated", f"{len(self.unchanged)} unchanged"]
        if self.removed:
            parts.append(f"{len(self.removed)} removed")
        parts += [f"{len(self.skipped)} skipped", f"{len(self.failed)} failed"]
        return ", ".join(parts) + f" ({self.chunks} chunks in {self.seconds:.1f} s)"


@runtime_checkable
class KnowledgeStore(Retriever, Protocol):
    """A knowledge base as the conversation manager and the front-ends use it."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length vectors of these texts, one row per text."""
        ...

    def chunk_count(self) -> int:
        """How many passages it holds; cheap enough to ask before every question."""
        ...

    def stats(self) -> dict[str, Any]:
        """Counts, size on disk, embedder and index type, for people to read."""
        ...

    def documents(self) -> list[DocumentInfo]:
        ...

    def document_text(self, name_or_path: str) -> tuple[str, str]:
        """(path, full text) of one document found by path, name, stem or title; KnowledgeBaseError if none."""
        ...

    def add(self, paths: Sequence[str | Path], include: Sequence[str] = (), exclude: Sequence[str] = (),
            progress: Progress | None = None) -> IngestReport:
        ...

    def remove(self, paths: Sequence[str | Path]) -> int:
        """How many documents were taken out."""
        ...

    def sync(self, progress: Progress | None = None) -> IngestReport:
        ...

    def rebuild(self, progress: Progress | None = None) -> IngestReport:
        ...
