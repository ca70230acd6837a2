"""Changing the knowledge base: one write session holds the locks, a transaction on the store and a
private copy of the vectors, commits a new generation at checkpoints and at the end, and rolls back
on any error. A session killed at any point leaves the last commit in force: the vectors of a
generation are written aside before the transaction that names them commits, with the documents
and the index's state (embedder, roots) in the same transaction.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np

from ..crashpoints import crash_point
from ..errors import AssistantError, KnowledgeBaseError
from .base import IngestReport, Progress
from .chunking import chunk_document
from .discovery import Discovery, discover, not_a_file
from .document import Skipped, Unreadable
from .embedder import ConfiguredEmbedder, Embedder
from .layout import (
    FORMAT,
    LOCK,
    IndexState,
    Manifest,
    Root,
    damaged,
    open_store,
    read_state,
    remove_store_files,
    store_path,
    vector_path,
    write_manifest,
)
from .lexical import terms
from .loaders import load_document, reading
from .options import KnowledgeOptions
from .snapshot import Reader
from .store import Store
from .vectors import VectorIndex

if TYPE_CHECKING:
    from filelock import BaseFileLock

log = logging.getLogger(__name__)


class Writer:
    """One write session: holds the locks, a transaction on the store and a private copy of the
    vectors; commits a new generation at checkpoints and at the end, rolls back on any error."""

    def __init__(self, reader: Reader, embedder: ConfiguredEmbedder, options: KnowledgeOptions,
                 process_lock: threading.Lock, fresh: bool = False) -> None:
        self.reader = reader
        self.configured = embedder
        self.process_lock = process_lock  # one writer per process (the file lock does processes)
        self.fresh = fresh  # a new store (rebuild), published only when complete
        self.folder = reader.folder
        self.options = options
        # Set by __enter__ for the session; read them through the properties below.
        self._store: Store | None = None
        self._manifest: Manifest | None = None
        self._state: IndexState | None = None
        self.vectors: VectorIndex | None = None  # none until something is embedded (see vector_index)
        self.published = False  # whether manifest.json points at self.store
        self.generation = 0
        self.dirty = False  # uncommitted changes to chunks
        self.lexical_stale = False  # committed changes the BM25 cache does not have yet
        self.state_dirty = False  # changes to self.state the store does not have yet
        self.last_commit = time.monotonic()
        self._file_lock: BaseFileLock | None = None
        self._embedder: Embedder | None = None

    @property
    def store(self) -> Store:
        """The store this session writes (its transaction is open between checkpoints)."""
        if self._store is None:
            raise RuntimeError("the knowledge base writer is used outside its with-block")
        return self._store

    @property
    def manifest(self) -> Manifest:
        """What manifest.json says (or will say once published) about this session's store."""
        if self._manifest is None:
            raise RuntimeError("the knowledge base writer is used outside its with-block")
        return self._manifest

    @property
    def state(self) -> IndexState:
        """The index's state (embedder, dimension, roots) as this session will commit it."""
        if self._state is None:
            raise RuntimeError("the knowledge base writer is used outside its with-block")
        return self._state

    # ---------------------------------------------------------------- session

    def __enter__(self) -> Writer:
        from filelock import FileLock, Timeout

        if not self.process_lock.acquire(timeout=max(self.options.lock_timeout, 0.01)):
            raise KnowledgeBaseError(
                f"The knowledge base in {self.folder} is being changed by another task of this program; try again when it is done."
            )
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            lock = FileLock(str(self.folder / LOCK))
            try:
                lock.acquire(timeout=self.options.lock_timeout)
            except Timeout:
                raise KnowledgeBaseError(
                    f"Another process is changing the knowledge base in {self.folder} (it holds {self.folder / LOCK}). "
                    "Wait for it to finish, then try again."
                ) from None
            self._file_lock = lock
            self._open()
        except BaseException:
            self._release()
            raise
        return self

    def _open(self) -> None:
        previous = None
        try:
            previous = self.reader.manifest()
        except KnowledgeBaseError:
            if not self.fresh:
                raise
        if self.fresh or previous is None:
            self._new_store()
            return
        self._manifest = dataclasses.replace(previous)
        self.published = True
        store = self._store = open_store(self.folder, self.manifest)
        try:
            store.begin(write=True)
            store.add_new_columns()
            self.generation = store.generation
            count = store.chunk_count()
            self._state = read_state(self.folder, self.manifest, store).copy()
        except KnowledgeBaseError:
            raise
        except Exception as error:
            raise damaged(self.folder, f"{store.path.name}: {error}") from None
        self.state_dirty = self.manifest.legacy is not None  # a format 1 index: the state moves into the store
        if self.generation == 0 or not self.state.dimension:
            return  # nothing was ever embedded: the vectors start when the embedder is loaded
        path = vector_path(self.folder, self.manifest.store, self.generation)
        try:
            vectors = VectorIndex.read(path, self.options.vector_options)
        except RuntimeError as error:
            raise damaged(self.folder, f"{path.name} cannot be read: {str(error).splitlines()[0]}") from None
        if vectors.size != count:
            raise damaged(self.folder, f"{path.name} has {vectors.size} vectors, the records say {count}")
        self.vectors = vectors

    def _new_store(self) -> None:
        stem = f"kb-{uuid.uuid4().hex[:12]}"
        store = self._store = Store(store_path(self.folder, stem), create=True)
        store.begin(write=True)
        store.set("generation", "0")
        # dimension 0: not known until the embedder is loaded, which only embedding needs.
        self._state = IndexState(self.configured.resolve().name)
        self._manifest = Manifest(stem)
        self.state_dirty = True

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        try:
            if error is None:
                self._finish()
            else:
                self._abandon()
        finally:
            self._release()

    def _release(self) -> None:
        if self._store is not None:
            self._store.rollback()
            self._store.close()
            self._store = None
        if self._file_lock is not None:
            self._file_lock.release()
            self._file_lock = None
        self.process_lock.release()

    def _abandon(self) -> None:
        """Back to the last commit; a store that was never published is deleted with its files."""
        if self._store is None:
            return
        self._store.rollback()
        if not self.published:
            stem = self.manifest.store
            self._store.close()
            self._store = None
            remove_store_files(self.folder, keep=None, only=stem)
        log.info("knowledge base write abandoned; generation %s stays in force", self.generation)

    def _finish(self) -> None:
        self.checkpoint(final=True)
        count = self.store.chunk_count()
        if count and self.lexical_stale:
            self.reader.lexical(self.manifest, self.generation, count, store=self.store)
        if not self.published or self.manifest.legacy is not None or self.manifest.roots != self.state.roots:
            self._publish()
        remove_store_files(self.folder, keep=(self.manifest.store, self.generation))

    def _publish(self) -> None:
        """Point manifest.json at this store, with a copy of the committed roots."""
        self.manifest.roots = self.state.copy().roots
        self.manifest.legacy = None
        self.manifest.format = FORMAT
        write_manifest(self.folder, self.manifest)
        self.published = True

    # ---------------------------------------------------------------- pieces

    def embedder(self) -> Embedder:
        if self._embedder is None:
            known = self.state.dimension > 0
            self._embedder = (self.configured.for_index(self.state.embedder, self.state.dimension) if known
                              else self.configured.load())
            if not known:
                self.state.embedder = self._embedder.name
                self.state.dimension = self._embedder.dimension
                self.state_dirty = True
        return self._embedder

    def vector_index(self) -> VectorIndex:
        """This session's copy of the vectors: an empty one (loading the embedder) if there were none."""
        if self.vectors is None:
            self.vectors = VectorIndex.empty(self.embedder().dimension, self.options.vector_options)
        return self.vectors

    def checkpoint(self, final: bool = False) -> None:
        """Commit: vectors to a new generation's file, then the transaction that names it (with the
        state: embedder, dimension and roots change in the same step as the documents)."""
        if self.dirty or self.state_dirty:
            self.state.updated = time.time()
            self.store.set("state", self.state.to_json())
            self.state_dirty = False
        if self.dirty:
            vectors = self.vector_index()
            if vectors.reshape(lambda: np.asarray(self.store.chunk_ids(), dtype=np.int64)):
                log.info("vector index is now %s", vectors.describe())
            generation = self.generation + 1
            vectors.write(vector_path(self.folder, self.manifest.store, generation))
            self.store.set("generation", str(generation))
            self.store.set("index", vectors.describe())
            crash_point("before commit")
            self.store.commit()
            crash_point("committed")
            self.generation = generation
            self.dirty = False
            self.lexical_stale = True
            # A first store is published at its first commit, so even an interrupted first add
            # leaves something searchable; a rebuild's store only when it is complete.
            if not self.published and not self.fresh:
                self._publish()
        elif self.store.conn.in_transaction:
            crash_point("before commit")
            self.store.commit()  # e.g. new modification times of unchanged files, or new roots
            crash_point("committed")
        self.last_commit = time.monotonic()
        if not final:
            self.store.begin(write=True)

    def _delete(self, document_id: int) -> None:
        ids = self.store.delete_document(document_id)
        if ids:
            if self.vectors is None:
                raise damaged(self.folder, "chunks without vectors")
            self.vectors.remove(ids)
        self.dirty = True
        crash_point("document deleted, not committed")

    def ingest(self, files: Sequence[Path], report: IngestReport, progress: Progress | None) -> None:
        """Index these files: unchanged ones are skipped by size and time, then by content hash."""
        total, done, last_report = len(files), 0, 0.0
        pending: list[tuple[str, Any, list, os.stat_result, str, int | None]] = []
        pending_chunks = 0

        def tell(force: bool = False) -> None:
            nonlocal last_report
            if progress and (force or time.monotonic() - last_report > 0.1):
                last_report = time.monotonic()
                progress(done, total)

        def flush() -> None:
            nonlocal done, pending_chunks
            if not pending:
                return
            texts = [chunk.indexed_text for _, _, chunks, _, _, _ in pending for chunk in chunks]
            vectors = self.embedder().encode(texts, self.options.batch_size)
            chunk_terms = terms(texts)
            offset = 0
            for path, document, chunks, stat, digest, old_id in pending:
                if old_id is not None:
                    self._delete(old_id)
                ids = self.store.insert_document(path, document.title, document.format, stat.st_size, stat.st_mtime_ns,
                                                 digest, document.text, chunks, chunk_terms[offset : offset + len(chunks)],
                                                 reading(document.format))
                self.vector_index().add(np.asarray(ids, dtype=np.int64), vectors[offset : offset + len(chunks)])
                crash_point("document stored, not committed")
                offset += len(chunks)
                (report.updated if old_id is not None else report.added).append(path)
            report.chunks += len(texts)
            self.dirty = True
            done += len(pending)
            pending.clear()
            pending_chunks = 0
            tell()
            if time.monotonic() - self.last_commit >= self.options.checkpoint_seconds:
                self.checkpoint()

        tell(force=True)
        for file in files:
            path = str(file)
            row = None
            try:
                why = not_a_file(file)  # it may have become a pipe or a link loop since discovery
                if why is not None:
                    raise Skipped(why)
                stat = file.stat()
                if stat.st_size > self.options.max_file_mb * 2**20:
                    raise Skipped(f"{stat.st_size / 2**20:.1f} MB, over the limit of {self.options.max_file_mb:g} MB "
                                  "(raise max_file_mb under [knowledge] in assistant.toml to index it)")
                row = self.store.document(path)
                unchanged_if = row  # the record that an unchanged file is recognised by
                if row is not None and row["reading"] < reading(row["format"]):
                    # Read with an earlier reading of its format: read again, changed or not.
                    log.info("reading %s again: it was indexed with reading %d of %s files, this version gives %d",
                             path, row["reading"], row["format"], reading(row["format"]))
                    unchanged_if = None
                if unchanged_if is not None and unchanged_if["size"] == stat.st_size and unchanged_if["mtime_ns"] == stat.st_mtime_ns:
                    report.unchanged.append(path)
                    done += 1
                    tell()
                    continue
                data = file.read_bytes()
                digest = hashlib.sha256(data).hexdigest()
                if unchanged_if is not None and unchanged_if["sha256"] == digest:
                    self.store.touch(unchanged_if["id"], stat.st_size, stat.st_mtime_ns)
                    report.unchanged.append(path)
                    done += 1
                    tell()
                    continue
                document = load_document(file, data)
                chunks = chunk_document(document, self.embedder(), self.options.chunk_tokens, self.options.chunk_overlap)
            except Skipped as why:
                report.skipped.append((path, str(why)))
                if row is not None:  # it was a document and no longer is one
                    self._delete(row["id"])
                    report.removed.append(path)
                done += 1
                tell()
                continue
            except Unreadable as why:
                cause = why.__cause__
                # The report tells the person; the log file keeps what the library said.
                log.warning("cannot index %s: %s (%s: %s)", path, why, type(cause).__name__, cause,
                            extra={"file_only": True})
                report.failed.append((path, str(why)))
                done += 1
                tell()
                continue
            except AssistantError:
                raise  # the embedder or the index itself: no file can be indexed
            except Exception as error:
                log.warning("cannot index %s", path, exc_info=True)
                report.failed.append((path, f"{type(error).__name__}: {error}"))
                done += 1
                tell()
                continue
            pending.append((path, document, chunks, stat, digest, row["id"] if row is not None else None))
            pending_chunks += len(chunks)
            if pending_chunks >= self.options.embed_group:
                flush()
        flush()
        tell(force=True)

    def add_roots(self, roots: Iterable[Root]) -> None:
        for root in roots:
            self.state.roots = [r for r in self.state.roots if r.path != root.path] + [root]
            self.state_dirty = True

    def discover_roots(self) -> Discovery:
        """The files under every recorded root; roots that no longer exist are dropped."""
        found = Discovery()
        seen: set[Path] = set()
        kept = []
        for root in self.state.roots:
            part = discover([root.path], root.include, root.exclude)
            if part.missing:
                found.missing += part.missing
                self.state_dirty = True
                continue
            kept.append(root)
            found.files += [f for f in part.files if f not in seen]
            found.skipped += part.skipped
            seen.update(part.files)
        self.state.roots = kept
        return found

    def prune(self, present: set[str], report: IngestReport) -> None:
        for info in self.store.documents():
            row = self.store.document(info.path) if info.path not in present else None
            if row is not None:
                self._delete(row["id"])
                report.removed.append(info.path)

    def remove_paths(self, paths: Sequence[str]) -> int:
        removed = 0
        for path in paths:
            for row in self.store.documents_under(path):
                self._delete(row["id"])
                removed += 1
            kept = []
            for root in self.state.roots:
                if root.path == path or root.path.startswith(path.rstrip("/") + "/"):
                    self.state_dirty = True
                    continue
                if path.startswith(root.path.rstrip("/") + "/"):
                    # Inside an added folder: exclude it there, or sync would bring it back.
                    pattern = "/" + os.path.relpath(path, root.path).replace(os.sep, "/")
                    if pattern not in root.exclude:
                        root.exclude.append(pattern)
                        self.state_dirty = True
                kept.append(root)
            self.state.roots = kept
        return removed
