"""The knowledge base: documents in a folder on disk, searched by meaning and by exact terms.

A façade over its parts: the files on disk (layout.py), reading snapshots (snapshot.py), ranking
(search.py), finding a document by name (lookup.py) and write sessions (writer.py), tuned by
``KnowledgeOptions`` (options.py). Readers (any number of threads, any number of processes) work
on an immutable snapshot of one generation and pick up a newer one at their next search; one
writer at a time writes new files aside and commits. A writer killed at any point leaves the last
commit in force (docs/knowledge-base.md, "What the index guarantees after a crash").
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import KnowledgeBaseError, UsageError
from .base import DocumentInfo, IngestReport, Passage, Progress
from .discovery import absolute, discover
from .embedder import DEFAULT_EMBEDDER, ConfiguredEmbedder
from .layout import IndexState, Manifest, Root, roots_of_any_store
from .lexical import terms
from .lookup import EMPTY, find_document
from .options import MODES, KnowledgeOptions
from .search import passage, rank
from .snapshot import Reader
from .store import Store
from .writer import Writer

__all__ = ["MODES", "IndexState", "IngestReport", "KnowledgeBase", "KnowledgeOptions", "Manifest", "Root"]


class KnowledgeBase:
    """Search and maintain the index in ``folder``. Safe to share between threads."""

    def __init__(self, folder: str | Path, embedder: str = DEFAULT_EMBEDDER, *, device: str = "auto",
                 options: KnowledgeOptions | None = None) -> None:
        self.folder = absolute(folder)
        self.embedder_spec = embedder or DEFAULT_EMBEDDER
        self.device = device
        self.options = options or KnowledgeOptions()
        self.embedder = ConfiguredEmbedder(self.embedder_spec, device, self.folder)
        self.reader = Reader(self.folder, self.options.vector_options)
        self._write_lock = threading.Lock()  # one writer per process (the file lock does processes)

    def __repr__(self) -> str:
        return f"KnowledgeBase({str(self.folder)!r}, embedder={self.embedder_spec!r})"

    def _writer(self, fresh: bool = False) -> Writer:
        return Writer(self.reader, self.embedder, self.options, self._write_lock, fresh=fresh)

    # ---------------------------------------------------------------- reading

    def search(self, query: str, k: int = 5, mode: str = "hybrid") -> list[Passage]:
        """The k best chunks for the query, best first. ``mode``: hybrid (default), dense or lexical."""
        if mode not in MODES:
            raise UsageError(f"Unknown search mode {mode!r}: use one of {', '.join(MODES)}.")
        query = " ".join(query.split())
        if not query or k <= 0:
            return []
        snapshot = self.reader.current()
        if snapshot is None or snapshot.size == 0:
            return []
        embedder = self.embedder.for_index(snapshot.state.embedder, snapshot.state.dimension)
        query_vector = embedder.encode([query])[0]
        ranked, cosine = rank(snapshot.vectors, snapshot.lexical, query_vector, terms([query])[0], k, mode, self.options)
        rows = self.reader.read(snapshot.manifest, lambda store: store.chunks([i for i, _ in ranked]))
        return [
            passage(rows[i], score, max(0.0, min(1.0, cosine[i])))
            for i, score in ranked
            if i in rows  # a chunk a writer removed after this snapshot was taken
        ]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length vectors of these texts from the configured embedder (e.g. for extractive
        summaries); loads it on first use."""
        return self.embedder.load().encode(texts, self.options.batch_size)

    def passage(self, chunk_id: int) -> Passage:
        """One chunk by id, e.g. to show a cited passage in full."""
        manifest = self.reader.manifest()
        rows = self.reader.read(manifest, lambda store: store.chunks([chunk_id])) if manifest else {}
        if chunk_id not in rows:
            raise KnowledgeBaseError(f"No passage {chunk_id} in the knowledge base (it may have been re-indexed).")
        return passage(rows[chunk_id], 0.0, None)

    def documents(self) -> list[DocumentInfo]:
        manifest = self.reader.manifest()
        return self.reader.read(manifest, lambda store: store.documents()) if manifest else []

    def chunk_count(self) -> int:
        """How many passages the index holds: one cheap query, for asking before every question."""
        manifest = self.reader.manifest()
        return self.reader.read(manifest, lambda store: store.chunk_count()) if manifest else 0

    def stats(self) -> dict[str, Any]:
        """Counts, size on disk, embedder and index type; never loads the embedder."""
        manifest = self.reader.manifest()
        disk = sum(p.stat().st_size for p in self.folder.rglob("*") if p.is_file()) if self.folder.is_dir() else 0
        info: dict[str, Any] = {
            "folder": str(self.folder),
            "documents": 0,
            "chunks": 0,
            "bytes": disk,
            "embedder": self.embedder.resolve().name,
            "dimension": None,
            "index": "exact (flat inner product)",
            "approximate_above": self.options.approximate_above,
            "updated": None,
        }
        if manifest:
            def read(store: Store) -> tuple:
                store.begin()
                try:
                    return store.counts(), store.get("index", info["index"]), store.generation
                finally:
                    store.commit()

            (info["documents"], info["chunks"]), info["index"], info["generation"] = self.reader.read(manifest, read)
            state = self.reader.state(manifest)
            info.update(embedder=state.embedder, dimension=state.dimension, updated=state.updated,
                        roots=[root.path for root in state.roots])
        return info

    def document_text(self, name_or_path: str) -> tuple[str, str]:
        """(path, full text in reading order) of an indexed document, found by path, file name,
        path suffix, stem or title, ignoring case."""
        manifest = self.reader.manifest()
        if manifest is None:
            raise KnowledgeBaseError(EMPTY)
        document_id, path = find_document(self.reader.read(manifest, lambda store: store.document_names()), name_or_path)
        return path, self.reader.read(manifest, lambda store: store.document_text(document_id))

    # ---------------------------------------------------------------- changing it

    def add(self, paths: Sequence[str | Path], include: Sequence[str] = (), exclude: Sequence[str] = (),
            progress: Progress | None = None) -> IngestReport:
        """Index files and folders; unchanged files are a quick no-op, changed ones are replaced."""
        started = time.monotonic()
        found = discover(paths, include, exclude)
        report = IngestReport(skipped=list(found.skipped), failed=[(p, "no such file or folder") for p in found.missing])
        roots = [Root(str(absolute(p)), list(include), list(exclude)) for p in paths if absolute(p).exists()]
        if found.files or roots:
            with self._writer() as writer:
                # Recorded first, so that an add interrupted after a checkpoint is finished by the next sync.
                writer.add_roots(roots)
                writer.ingest(found.files, report, progress)
        report.seconds = time.monotonic() - started
        return report

    def remove(self, paths: Sequence[str | Path]) -> int:
        """Take documents (a file, or everything in a folder) out; sync will not bring them back."""
        if self.reader.manifest() is None:
            return 0
        with self._writer() as writer:
            return writer.remove_paths([str(absolute(p)) for p in paths])

    def sync(self, progress: Progress | None = None) -> IngestReport:
        """Re-read the added paths: new and changed files are indexed, vanished ones pruned."""
        started = time.monotonic()
        report = IngestReport()
        if self.reader.manifest() is not None:
            with self._writer() as writer:
                found = writer.discover_roots()
                report.skipped = found.skipped
                writer.ingest(found.files, report, progress)
                writer.prune(set(map(str, found.files)) | {path for path, _ in found.skipped}, report)
        report.seconds = time.monotonic() - started
        return report

    def rebuild(self, progress: Progress | None = None) -> IngestReport:
        """Index every recorded source again into a new store, with the configured embedder; the
        old index stays in force until the new one is complete."""
        started = time.monotonic()
        roots = self._recorded_roots()
        report = IngestReport()
        with self._writer(fresh=True) as writer:
            writer.state.roots = roots
            found = writer.discover_roots()
            report.skipped = found.skipped
            report.failed = [(p, "no such file or folder") for p in found.missing]
            writer.ingest(found.files, report, progress)
        report.seconds = time.monotonic() - started
        return report

    def _recorded_roots(self) -> list[Root]:
        try:
            manifest = self.reader.manifest()
        except KnowledgeBaseError:
            manifest = None
        if manifest is not None:
            try:
                return self.reader.state(manifest).roots
            except KnowledgeBaseError:
                if manifest.roots:
                    return manifest.roots  # the copy from the last completed write
        roots = roots_of_any_store(self.folder)
        if roots is not None:
            return roots
        if manifest is not None:
            return []
        raise KnowledgeBaseError(
            f"Nothing in {self.folder} says which documents were indexed. Add them again with `assistant index add PATH`."
        )

    def close(self) -> None:
        self.reader.close()
