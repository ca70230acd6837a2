"""The knowledge base as front-ends see it: its documents added, removed, listed and read, and a
file sent in a chat read without being added. Front-ends go through this, never the knowledge base."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..retrieval.base import DocumentInfo, IngestReport, KnowledgeStore, Progress
from ..retrieval.document import Skipped, Unreadable
from ..retrieval.loaders import load_document, loader_for

__all__ = ["READABLE", "DocumentInfo", "Documents", "IngestReport", "read_attachment", "readable"]

log = logging.getLogger(__name__)

READABLE = "text, Markdown, PDF, HTML, Word (.docx), spreadsheets (.csv, .xlsx) and other plain-text files"


def readable(name: str) -> bool:
    """Whether a file of this name is one the assistant can read."""
    return loader_for(Path(name)) is not None


def read_attachment(path: Path, name: str) -> str:
    """The text of a file sent to be summarized, read without adding it to the knowledge base."""
    try:
        return load_document(path).text
    except (Skipped, Unreadable) as why:
        raise UsageError(f"I can't summarize {name}: {why}.") from None
    except Exception as error:
        log.warning("could not read %s", name, exc_info=True)
        raise UsageError(f"I couldn't read {name} ({type(error).__name__}). Is the file damaged?") from None


class Documents:
    def __init__(self, knowledge: KnowledgeStore) -> None:
        self.knowledge = knowledge

    def add(self, paths: Sequence[str | Path], progress: Progress | None = None) -> IngestReport:
        return self.knowledge.add(paths, progress=progress)

    def remove(self, paths: Sequence[str | Path]) -> int:
        return self.knowledge.remove(paths)

    def documents(self) -> list[DocumentInfo]:
        return self.knowledge.documents()

    def chunk_count(self) -> int:
        """How many passages there are; cheap enough to ask before every question."""
        return self.knowledge.chunk_count()

    def stats(self) -> dict[str, Any]:
        return self.knowledge.stats()

    def text(self, name_or_path: str) -> tuple[str, str]:
        """(path, text) of an indexed document found by name; KnowledgeBaseError when there is none."""
        return self.knowledge.document_text(name_or_path)
