"""Reading the knowledge base: the manifest (re-read only when it is replaced), one connection to
the current store, and an immutable snapshot of its newest committed generation (vectors and BM25),
which searches use while writers move on. Safe to share between threads and processes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import KnowledgeBaseError
from .layout import (
    MANIFEST,
    IndexState,
    Manifest,
    damaged,
    lexical_path,
    open_store,
    read_manifest,
    read_state,
    vector_path,
)
from .lexical import LexicalIndex
from .store import Store
from .vectors import VectorIndex, VectorOptions

log = logging.getLogger(__name__)


@dataclass
class Snapshot:
    manifest: Manifest
    state: IndexState
    generation: int
    vectors: VectorIndex
    lexical: LexicalIndex

    @property
    def size(self) -> int:
        return self.vectors.size


class Reader:
    """The reading side of the knowledge base in ``folder``."""

    def __init__(self, folder: Path, vector_options: VectorOptions) -> None:
        self.folder = folder
        self.vector_options = vector_options
        self._manifest_key: tuple | None = None
        self._manifest_value: Manifest | None = None
        self._stores: dict[str, Store] = {}  # reading connections by store name
        self._reader_lock = threading.RLock()  # guards the reading connections
        self._load_lock = threading.Lock()  # one thread loads a new snapshot
        self._snapshot: Snapshot | None = None

    def manifest(self) -> Manifest | None:
        """The manifest, re-read only when the file was replaced; None for an empty knowledge base."""
        try:
            stat = (self.folder / MANIFEST).stat()
        except FileNotFoundError:
            self._manifest_key = self._manifest_value = None
            return None
        key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if key != self._manifest_key:
            self._manifest_value, self._manifest_key = read_manifest(self.folder), key
        return self._manifest_value

    def _reader_store(self, manifest: Manifest) -> Store:
        """The reading connection to this manifest's store. After a rebuild the previous store stays
        open (its files may be deleted already) for searches still working on an older snapshot."""
        with self._reader_lock:
            store = self._stores.get(manifest.store)
            if store is None:
                store = open_store(self.folder, manifest)
                for stem in list(self._stores)[:-1]:
                    self._stores.pop(stem).close()
                self._stores[manifest.store] = store
            return store

    def read(self, manifest: Manifest, action: Callable[[Store], Any]) -> Any:
        """Run a read on the reader connection; damage in the database becomes the clear error."""
        store = self._reader_store(manifest)
        with self._reader_lock:
            try:
                return action(store)
            except KnowledgeBaseError:
                raise
            except Exception as error:
                if type(error).__module__ == "sqlite3":
                    raise damaged(self.folder, f"{store.path.name}: {error}") from None
                raise

    def state(self, manifest: Manifest) -> IndexState:
        return self.read(manifest, lambda store: read_state(self.folder, manifest, store))

    def current(self) -> Snapshot | None:
        """The snapshot of the newest committed generation; None when nothing was ever indexed."""
        for _ in range(3):
            manifest = self.manifest()
            if manifest is None:
                return None
            generation, state = self.read(manifest, lambda store: (store.generation, read_state(self.folder, manifest, store)))  # noqa: B023 (called at once)
            snapshot = self._snapshot
            if snapshot is not None and snapshot.manifest.store == manifest.store and snapshot.generation == generation:
                return snapshot
            with self._load_lock:
                snapshot = self._snapshot
                if snapshot is not None and snapshot.manifest.store == manifest.store and snapshot.generation == generation:
                    return snapshot
                try:
                    snapshot = self._load(manifest, state, generation)
                except FileNotFoundError:
                    # A writer moved on and cleaned up meanwhile: read the newer generation.
                    if self.read(manifest, lambda store: store.generation) != generation or self.manifest() is not manifest:
                        continue
                    raise damaged(self.folder, f"{vector_path(self.folder, manifest.store, generation).name} is missing") from None
                self._snapshot = snapshot
                return snapshot
        raise KnowledgeBaseError(f"The knowledge base in {self.folder} kept changing while being read; try again.")

    def _load(self, manifest: Manifest, state: IndexState, generation: int) -> Snapshot:
        if generation == 0 or not state.dimension:  # nothing was ever embedded
            empty = VectorIndex.empty(state.dimension or 1, self.vector_options)
            return Snapshot(manifest, state, generation, empty, LexicalIndex.build([], []))
        path = vector_path(self.folder, manifest.store, generation)
        if not path.is_file():
            raise FileNotFoundError(path)
        try:
            vectors = VectorIndex.read(path, self.vector_options)
        except RuntimeError as error:
            raise damaged(self.folder, f"{path.name} cannot be read: {str(error).splitlines()[0]}") from None

        def read_consistent(store: Store) -> tuple[int, int]:
            store.begin()
            try:
                return store.generation, store.chunk_count()
            finally:
                store.commit()

        current, count = self.read(manifest, read_consistent)
        if current != generation:
            raise FileNotFoundError(path)  # superseded while loading: the caller reads the newer one
        if vectors.size != count or vectors.dimension != state.dimension:
            raise damaged(self.folder, f"{path.name} has {vectors.size} vectors of dimension "
                                       f"{vectors.dimension}, the records say {count} of {state.dimension}")
        return Snapshot(manifest, state, generation, vectors, self.lexical(manifest, generation, count))

    def lexical(self, manifest: Manifest, generation: int, count: int, store: Store | None = None) -> LexicalIndex:
        """The BM25 index of a generation: from its cache folder, else built from the stored terms."""
        folder = lexical_path(self.folder, manifest.store, generation)
        try:
            lexical = LexicalIndex.load(folder)
            if len(lexical.ids) == count:
                return lexical
        except Exception as error:  # a missing or broken cache is rebuilt, never fatal
            if folder.exists():
                log.warning("rebuilding the BM25 cache %s: %s", folder, error)

        def read_terms(reader: Store):
            reader.begin()
            try:
                return reader.generation, reader.chunk_terms()
            finally:
                reader.commit()

        current, (ids, chunk_terms) = read_terms(store) if store is not None else self.read(manifest, read_terms)
        if current != generation:
            raise FileNotFoundError(folder)
        lexical = LexicalIndex.build(ids, chunk_terms)
        try:
            if ids:
                lexical.save(folder)
        except OSError as error:
            log.warning("cannot cache the BM25 index in %s: %s", folder, error)
        return lexical

    def close(self) -> None:
        with self._reader_lock:
            for store in self._stores.values():
                store.close()
            self._stores.clear()
        self._snapshot = None
