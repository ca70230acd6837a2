"""The knowledge base double for tests: documents and passages in memory, no files, no model.

``FakeKnowledgeStore`` behaves as a ``KnowledgeStore`` does (base.py) where a caller can tell:
documents are added from files (one passage per paragraph), listed, found by name with the real
rules, read and removed; search returns the given passages (all of them, best first, for any
query) or, with ``rank_by_words``, those sharing most words with the query. It records the queries
searched and the texts added, for tests to check.
"""

from __future__ import annotations

import re
import time
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .base import DocumentInfo, IngestReport, Passage, Progress
from .lookup import find_document

_WORD = re.compile(r"\w+")


class FakeKnowledgeStore:
    def __init__(self, passages: Iterable[Passage] = (), documents: dict[str, str] | None = None, *,
                 rank_by_words: bool = False) -> None:
        self.passages = list(passages)
        self.texts: dict[str, str] = {}  # path -> full text: its passages', unless given
        for item in self.passages:
            self.texts[item.source] = (self.texts[item.source] + "\n\n" if item.source in self.texts else "") + item.text
        self.texts.update(documents or {})
        self.rank_by_words = rank_by_words
        self.queries: list[str] = []
        self.added: list[str] = []  # the text of each file added, in order
        self._infos: dict[str, DocumentInfo] = {}

    # ---------------------------------------------------------------- reading

    def search(self, query: str, k: int = 5) -> list[Passage]:
        self.queries.append(query)
        if not self.rank_by_words:
            return self.passages[:k]
        words = set(_WORD.findall(query.lower()))
        return sorted(self.passages, key=lambda p: -len(words & set(_WORD.findall(p.text.lower()))))[:k]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit bag-of-words vectors (64 hashed dimensions): texts sharing words are close."""
        vectors = np.zeros((len(texts), 64), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                vectors[row, zlib.crc32(word.encode()) % 64] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1.0, norms)

    def chunk_count(self) -> int:
        return len(self.passages)

    def documents(self) -> list[DocumentInfo]:
        return [self._info(path) for path in sorted(self.texts)]

    def stats(self) -> dict[str, Any]:
        documents = self.documents()
        return {"folder": "index", "documents": len(documents), "chunks": self.chunk_count(),
                "bytes": sum(d.size for d in documents), "embedder": "fake", "dimension": 64,
                "index": "exact (flat inner product)"}

    def document_text(self, name_or_path: str) -> tuple[str, str]:
        names = [(number, path, self._info(path).title) for number, path in enumerate(sorted(self.texts))]
        _, path = find_document(names, name_or_path)
        return path, self.texts[path]

    def _info(self, path: str) -> DocumentInfo:
        if path not in self._infos:
            passages = [p for p in self.passages if p.source == path]
            title = passages[0].title if passages else Path(path).stem
            self._infos[path] = DocumentInfo(path, title, Path(path).suffix.lstrip(".") or "text", max(1, len(passages)),
                                             len(self.texts[path].encode()), time.time())
        return self._infos[path]

    # ---------------------------------------------------------------- changing

    def add(self, paths: Sequence[str | Path], include: Sequence[str] = (), exclude: Sequence[str] = (),
            progress: Progress | None = None) -> IngestReport:
        """Files, and the .md and .txt files in folders; a file added again is replaced."""
        files = sorted({f for p in map(Path, paths)
                        for f in ([p] if p.is_file() else [*p.rglob("*.md"), *p.rglob("*.txt")])})
        report = IngestReport()
        for done, file in enumerate(files, 1):
            path, text = str(file), file.read_text(encoding="utf-8")
            (report.updated if path in self.texts else report.added).append(path)
            self._drop(path)
            self.added.append(text)
            self.texts[path] = text
            paragraphs = [block.strip() for block in text.split("\n\n") if block.strip()]
            self.passages += [Passage(block, path, file.stem, relevance=0.5) for block in paragraphs]
            report.chunks += len(paragraphs)
            if progress:
                progress(done, len(files))
        return report

    def remove(self, paths: Sequence[str | Path]) -> int:
        wanted = [str(p) for p in paths]
        removed = [path for path in list(self.texts) if any(path == w or path.startswith(w.rstrip("/") + "/") for w in wanted)]
        for path in removed:
            self._drop(path)
        return len(removed)

    def sync(self, progress: Progress | None = None) -> IngestReport:
        return IngestReport(unchanged=sorted(self.texts))

    def rebuild(self, progress: Progress | None = None) -> IngestReport:
        return IngestReport(added=sorted(self.texts), chunks=len(self.passages))

    def _drop(self, path: str) -> None:
        self.texts.pop(path, None)
        self._infos.pop(path, None)
        self.passages = [p for p in self.passages if p.source != path]
