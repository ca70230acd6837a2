"""The knowledge base: documents in a folder on disk, searched by meaning and by exact terms.

On disk (``settings.index``):
- ``manifest.json``: which store is current (replacing it is how a rebuild takes effect), and a
  copy of the paths added, to rebuild from should the store itself be lost.
- ``kb-<id>.sqlite3``: documents and chunks (see store.py); its ``generation`` names the vectors,
  its ``state`` holds the embedder, dimension and paths added (for sync and rebuild), committed in
  the same transaction as the documents.
- ``kb-<id>.<generation>.faiss``: the vectors; ``kb-<id>.<generation>.bm25/``: the BM25 cache.
- ``write.lock``: held by the one process allowed to write.

Readers (any number of threads, any number of processes) work on an immutable snapshot of one
generation and pick up a newer one at their next search. Writers write new files aside and commit.
A writer killed at any point leaves the last commit in force (docs/knowledge-base.md, "Safety").
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import logging
import os
import re
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from ..errors import AssistantError, ConfigError, KnowledgeBaseError, UsageError
from . import fusion
from .base import Passage
from .chunking import chunk_document
from .crashpoints import crash_point
from .discovery import Discovery, absolute, discover, not_a_file
from .embedder import DEFAULT_EMBEDDER, Embedder, EmbedderSpec, load_embedder, resolve_embedder
from .lexical import LexicalIndex, terms, top
from .loaders import Skipped, Unreadable, load_document
from .store import DocumentInfo, Store
from .vectors import VectorIndex, VectorOptions

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
LOCK = "write.lock"
FORMAT = 2  # 1: the embedder, dimension and paths added lived in manifest.json
MODES = ("hybrid", "dense", "lexical")
_OWN_FILE = re.compile(r"^(kb-[0-9a-f]+)(?:\.(\d+)\.(faiss|bm25))?")

Progress = Callable[[int, int], None]


@dataclass
class KnowledgeOptions:
    """Tunable from the ``[knowledge]`` table of assistant.toml."""

    chunk_tokens: int = 200  # all-MiniLM-L6-v2 reads 256 word pieces; the header takes some
    chunk_overlap: int = 40
    approximate_above: int = 200_000  # chunks; past this the vectors go into an IVF index
    nprobe: int = 0  # IVF lists searched per query; 0: a sixteenth of them, at least 32
    fusion: str = "convex"  # or "rrf"
    dense_weight: float = 0.5  # for convex fusion: cosine weight, the BM25 fraction gets the rest
    candidates: int = 100  # taken from each ranking before fusing
    batch_size: int = 64  # texts per forward pass of the embedder
    embed_group: int = 512  # chunks gathered across files per encode call
    checkpoint_seconds: float = 60.0  # a long add commits this often, so an interruption loses little
    # Larger files are skipped: a 50 MB text file is some 50,000 passages, an hour of embedding on
    # a laptop CPU and gigabytes of memory while it is chunked.
    max_file_mb: float = 20.0
    lock_timeout: float = 3.0

    @classmethod
    def from_section(cls, table: dict[str, Any]) -> "KnowledgeOptions":
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values = {}
        for key, value in table.items():
            name = key.replace("-", "_")
            if name not in fields:
                raise ConfigError(f"Unknown key {key!r} in [knowledge]. Known keys: {', '.join(fields)}.")
            kind = type(fields[name].default)
            try:
                values[name] = kind(value)
            except (TypeError, ValueError):
                raise ConfigError(f"[knowledge] {key} = {value!r} is not a valid {kind.__name__}.") from None
        options = cls(**values)
        if options.fusion not in ("rrf", "convex"):
            raise ConfigError(f"[knowledge] fusion = {options.fusion!r}: use 'rrf' or 'convex'.")
        return options

    @property
    def vector_options(self) -> VectorOptions:
        return VectorOptions(approximate_above=self.approximate_above, nprobe=self.nprobe)


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


@dataclass
class Root:
    """A path given to `index add`, with its patterns: what sync and rebuild read again."""

    path: str
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)


def _roots(data: list[dict]) -> list[Root]:
    return [Root(root["path"], list(root.get("include", [])), list(root.get("exclude", []))) for root in data]


@dataclass
class IndexState:
    """What the index is besides its documents: the embedder, its dimension (0 until something is
    embedded) and the paths added. The store keeps it and commits it in the same transaction as the
    documents, so no crash can separate them (a removed folder coming back at the next sync)."""

    embedder: str
    dimension: int = 0
    roots: list[Root] = field(default_factory=list)
    updated: float = field(default_factory=time.time)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict) -> "IndexState":
        return cls(str(data["embedder"]), int(data["dimension"]), _roots(data.get("roots", [])),
                   float(data.get("updated") or 0.0))

    def copy(self) -> "IndexState":
        return IndexState.from_dict(dataclasses.asdict(self))


@dataclass
class Manifest:
    """manifest.json: which store is current, and a copy of the paths added, read only to rebuild
    when the store cannot be read (the store's state is what counts)."""

    store: str  # file stem of the current store, e.g. kb-3f2a9c1e
    roots: list[Root] = field(default_factory=list)
    created: float = field(default_factory=time.time)
    format: int = FORMAT
    legacy: IndexState | None = None  # format 1 kept the state here; the next write moves it into the store

    def to_json(self) -> str:
        data = {"format": self.format, "store": self.store, "created": self.created,
                "roots": [dataclasses.asdict(root) for root in self.roots]}
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "Manifest":
        data = json.loads(text)
        legacy = IndexState.from_dict(data) if "embedder" in data else None
        return cls(str(data["store"]), _roots(data.get("roots", [])), float(data.get("created") or 0.0),
                   int(data.get("format", 1)), legacy)


@dataclass
class _Snapshot:
    manifest: Manifest
    state: IndexState
    generation: int
    vectors: VectorIndex
    lexical: LexicalIndex

    @property
    def size(self) -> int:
        return self.vectors.size


def _damaged(folder: Path, detail: str) -> KnowledgeBaseError:
    return KnowledgeBaseError(
        f"The knowledge base in {folder} is damaged ({detail}). "
        "Run `assistant index rebuild` to rebuild it from its sources."
    )


def _write_atomically(path: Path, text: str) -> None:
    staging = path.with_name(path.name + ".tmp")
    with open(staging, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    crash_point(f"{path.name} written aside")
    os.replace(staging, path)
    crash_point(f"{path.name} in place")


class KnowledgeBase:
    """Search and maintain the index in ``folder``. Safe to share between threads."""

    def __init__(self, folder: str | Path, embedder: str = DEFAULT_EMBEDDER, *, device: str = "auto",
                 options: KnowledgeOptions | None = None) -> None:
        self.folder = absolute(folder)
        self.embedder_spec = embedder or DEFAULT_EMBEDDER
        self.device = device
        self.options = options or KnowledgeOptions()
        self._resolved: EmbedderSpec | None = None
        self._manifest_key: tuple | None = None
        self._manifest_value: Manifest | None = None
        self._stores: dict[str, Store] = {}  # reading connections by store name
        self._reader_lock = threading.RLock()  # guards the reading connections
        self._load_lock = threading.Lock()  # one thread loads a new snapshot
        self._write_lock = threading.Lock()  # one writer per process (the file lock does processes)
        self._snapshot: _Snapshot | None = None

    def __repr__(self) -> str:
        return f"KnowledgeBase({str(self.folder)!r}, embedder={self.embedder_spec!r})"

    # ---------------------------------------------------------------- reading state

    def _manifest(self) -> Manifest | None:
        """The manifest, re-read only when the file was replaced; None for an empty knowledge base."""
        path = self.folder / MANIFEST
        try:
            stat = path.stat()
        except FileNotFoundError:
            self._manifest_key = self._manifest_value = None
            return None
        key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if key != self._manifest_key:
            try:
                manifest = Manifest.from_json(path.read_text(encoding="utf-8"))
            except (ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError) as error:
                raise _damaged(self.folder, f"{MANIFEST} is unreadable: {error}") from None
            if manifest.format > FORMAT:
                raise KnowledgeBaseError(
                    f"The knowledge base in {self.folder} was written by a newer version (format {manifest.format}). "
                    "Upgrade assistant, or run `assistant index rebuild` to rebuild it with this one."
                )
            self._manifest_key, self._manifest_value = key, manifest
        return self._manifest_value

    def _open_store(self, manifest: Manifest) -> Store:
        path = self.folder / f"{manifest.store}.sqlite3"
        try:
            return Store(path)
        except FileNotFoundError:
            raise _damaged(self.folder, f"{path.name} is missing") from None
        except Exception as error:  # sqlite3.DatabaseError and friends
            raise _damaged(self.folder, f"{path.name}: {error}") from None

    def _reader_store(self, manifest: Manifest) -> Store:
        """The reading connection to this manifest's store. After a rebuild the previous store stays
        open (its files may be deleted already) for searches still working on an older snapshot."""
        with self._reader_lock:
            store = self._stores.get(manifest.store)
            if store is None:
                store = self._open_store(manifest)
                for stem in list(self._stores)[:-1]:
                    self._stores.pop(stem).close()
                self._stores[manifest.store] = store
            return store

    def _read(self, manifest: Manifest, action: Callable[[Store], Any]) -> Any:
        """Run a read on the reader connection; damage in the database becomes the clear error."""
        store = self._reader_store(manifest)
        with self._reader_lock:
            try:
                return action(store)
            except KnowledgeBaseError:
                raise
            except Exception as error:
                if type(error).__module__ == "sqlite3":
                    raise _damaged(self.folder, f"{store.path.name}: {error}") from None
                raise

    def _state(self, manifest: Manifest, store: Store) -> IndexState:
        """The store's state; an index of format 1 has it in its manifest until its next write."""
        text = store.get("state")
        if not text:
            if manifest.legacy is not None:
                return manifest.legacy
            raise _damaged(self.folder, f"{store.path.name} has no record of its embedder")
        try:
            return IndexState.from_dict(json.loads(text))
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise _damaged(self.folder, f"{store.path.name} has an unreadable state: {error}") from None

    def _current(self) -> _Snapshot | None:
        """The snapshot of the newest committed generation; None when nothing was ever indexed."""
        for _ in range(3):
            manifest = self._manifest()
            if manifest is None:
                return None
            generation, state = self._read(manifest, lambda store: (store.generation, self._state(manifest, store)))
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
                    if self._read(manifest, lambda store: store.generation) != generation or self._manifest() is not manifest:
                        continue
                    raise _damaged(self.folder, f"{manifest.store}.{generation}.faiss is missing") from None
                self._snapshot = snapshot
                return snapshot
        raise KnowledgeBaseError(f"The knowledge base in {self.folder} kept changing while being read; try again.")

    def _load(self, manifest: Manifest, state: IndexState, generation: int) -> _Snapshot:
        if generation == 0 or not state.dimension:  # nothing was ever embedded
            empty = VectorIndex.empty(state.dimension or 1, self.options.vector_options)
            return _Snapshot(manifest, state, generation, empty, LexicalIndex.build([], []))
        vector_path = self.folder / f"{manifest.store}.{generation}.faiss"
        if not vector_path.is_file():
            raise FileNotFoundError(vector_path)
        try:
            vectors = VectorIndex.read(vector_path, self.options.vector_options)
        except RuntimeError as error:
            raise _damaged(self.folder, f"{vector_path.name} cannot be read: {str(error).splitlines()[0]}") from None

        def read_consistent(store: Store) -> tuple[int, int]:
            store.begin()
            try:
                return store.generation, store.chunk_count()
            finally:
                store.commit()

        current, count = self._read(manifest, read_consistent)
        if current != generation:
            raise FileNotFoundError(vector_path)  # superseded while loading: the caller reads the newer one
        if vectors.size != count or vectors.dimension != state.dimension:
            raise _damaged(self.folder, f"{vector_path.name} has {vectors.size} vectors of dimension "
                                        f"{vectors.dimension}, the records say {count} of {state.dimension}")
        return _Snapshot(manifest, state, generation, vectors, self._lexical(manifest, generation, count))

    def _lexical(self, manifest: Manifest, generation: int, count: int, store: Store | None = None) -> LexicalIndex:
        """The BM25 index of a generation: from its cache folder, else built from the stored terms."""
        folder = self.folder / f"{manifest.store}.{generation}.bm25"
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

        current, (ids, chunk_terms) = read_terms(store) if store is not None else self._read(manifest, read_terms)
        if current != generation:
            raise FileNotFoundError(folder)
        lexical = LexicalIndex.build(ids, chunk_terms)
        try:
            if ids:
                lexical.save(folder)
        except OSError as error:
            log.warning("cannot cache the BM25 index in %s: %s", folder, error)
        return lexical

    def _resolve(self) -> EmbedderSpec:
        if self._resolved is None:
            self._resolved = resolve_embedder(self.embedder_spec)
        return self._resolved

    def _check_embedder(self, state: IndexState) -> EmbedderSpec:
        spec = self._resolve()
        if spec.name != state.embedder:
            raise KnowledgeBaseError(
                f"The knowledge base in {self.folder} was built with the embedder {state.embedder!r}, "
                f"but the configured embedder is {spec.name!r}. Set embedder = \"{state.embedder}\" "
                f"(assistant.toml or ASSISTANT_EMBEDDER), or run `assistant index rebuild` to re-embed "
                f"every document with {spec.name!r}."
            )
        return spec

    def _embedder(self, state: IndexState | None) -> Embedder:
        spec = self._check_embedder(state) if state is not None else self._resolve()
        embedder = load_embedder(spec, self.device)
        if state is not None and embedder.dimension != state.dimension:
            raise KnowledgeBaseError(
                f"The knowledge base in {self.folder} holds vectors of dimension {state.dimension}, "
                f"but the embedder {spec.name!r} makes {embedder.dimension}. "
                "Run `assistant index rebuild` to re-embed every document."
            )
        return embedder

    # ---------------------------------------------------------------- search

    def search(self, query: str, k: int = 5, mode: str = "hybrid") -> list[Passage]:
        """The k best chunks for the query, best first. ``mode``: hybrid (default), dense or lexical."""
        if mode not in MODES:
            raise UsageError(f"Unknown search mode {mode!r}: use one of {', '.join(MODES)}.")
        query = " ".join(query.split())
        if not query or k <= 0:
            return []
        snapshot = self._current()
        if snapshot is None or snapshot.size == 0:
            return []
        embedder = self._embedder(snapshot.state)
        query_vector = embedder.encode([query])[0]
        wanted = min(snapshot.size, max(self.options.candidates, 2 * k))

        dense: dict[int, float] = {}
        if mode != "lexical":
            scores, ids = snapshot.vectors.search(query_vector[None, :], wanted)
            dense = {int(i): float(s) for i, s in zip(ids[0], scores[0]) if i >= 0}
        lexical: list[int] = []
        if mode != "dense":
            bm25, bound = snapshot.lexical.scores(terms([query])[0])
            lexical = [int(i) for i in top(bm25, snapshot.lexical.ids, wanted)[0]]

        # Both scores for every candidate: the cosine of a chunk only BM25 found is computed
        # from its stored vector, the BM25 score of a chunk only the vectors found is looked up.
        dense_ranking = list(dense)
        candidates = list(dict.fromkeys([*dense_ranking, *lexical]))
        missing = [i for i in candidates if i not in dense]
        if missing:
            for i, vector in zip(missing, snapshot.vectors.vectors(missing)):
                dense[i] = float(vector @ query_vector)
        cosine = np.array([dense[i] for i in candidates], dtype=np.float32)
        if mode == "dense":
            ranked = sorted(((i, dense[i]) for i in candidates), key=lambda pair: -pair[1])
        elif mode == "lexical":
            ranked = [(i, float(s)) for i, s in zip(lexical, snapshot.lexical.scores_of(bm25, lexical))]
        elif self.options.fusion == "rrf":
            ranked = fusion.rrf([dense_ranking, lexical])
        else:
            fraction = snapshot.lexical.scores_of(bm25, candidates) / bound if bound > 0 else np.zeros(len(candidates))
            ranked = fusion.convex(candidates, cosine, fraction, self.options.dense_weight)
        ranked = ranked[:k]
        rows = self._read(snapshot.manifest, lambda store: store.chunks([i for i, _ in ranked]))
        return [
            _passage(rows[i], score, max(0.0, min(1.0, dense[i])))
            for i, score in ranked
            if i in rows  # a chunk a writer removed after this snapshot was taken
        ]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length vectors of these texts from the configured embedder (e.g. for extractive
        summaries); loads it on first use."""
        return load_embedder(self._resolve(), self.device).encode(texts, self.options.batch_size)

    def passage(self, chunk_id: int) -> Passage:
        """One chunk by id, e.g. to show a cited passage in full."""
        manifest = self._manifest()
        rows = self._read(manifest, lambda store: store.chunks([chunk_id])) if manifest else {}
        if chunk_id not in rows:
            raise KnowledgeBaseError(f"No passage {chunk_id} in the knowledge base (it may have been re-indexed).")
        return _passage(rows[chunk_id], 0.0, None)

    # ---------------------------------------------------------------- what is in it

    def documents(self) -> list[DocumentInfo]:
        manifest = self._manifest()
        return self._read(manifest, lambda store: store.documents()) if manifest else []

    def stats(self) -> dict[str, Any]:
        """Counts, size on disk, embedder and index type; never loads the embedder."""
        manifest = self._manifest()
        disk = sum(p.stat().st_size for p in self.folder.rglob("*") if p.is_file()) if self.folder.is_dir() else 0
        info: dict[str, Any] = {
            "folder": str(self.folder),
            "documents": 0,
            "chunks": 0,
            "bytes": disk,
            "embedder": self._resolve().name,
            "dimension": None,
            "index": "exact (flat inner product)",
            "approximate_above": self.options.approximate_above,
            "updated": None,
        }
        if manifest:
            def read(store: Store) -> tuple:
                store.begin()
                try:
                    return (store.counts(), store.get("index", info["index"]), store.generation,
                            self._state(manifest, store))
                finally:
                    store.commit()

            (info["documents"], info["chunks"]), info["index"], info["generation"], state = self._read(manifest, read)
            info.update(embedder=state.embedder, dimension=state.dimension, updated=state.updated,
                        roots=[root.path for root in state.roots])
        return info

    def document_text(self, name_or_path: str) -> tuple[str, str]:
        """(path, full text in reading order) of an indexed document, found by path, file name,
        path suffix, stem or title, ignoring case."""
        manifest = self._manifest()
        names = self._read(manifest, lambda store: store.document_names()) if manifest else []
        if not names:
            raise KnowledgeBaseError("The knowledge base is empty. Add documents with `assistant index add PATH`.")
        wanted = name_or_path.strip()
        lowered = wanted.lower().replace(os.sep, "/")
        exact = str(absolute(wanted))
        tests = [
            lambda path, title: path == exact,
            lambda path, title: Path(path).name.lower() == lowered,
            lambda path, title: path.lower().endswith("/" + lowered.lstrip("./")),
            lambda path, title: Path(path).stem.lower() == lowered,
            lambda path, title: title.lower() == lowered,
        ]
        for test in tests:
            matches = [(i, path) for i, path, title in names if test(path, title)]
            if len(matches) == 1:
                document_id, path = matches[0]
                return path, self._read(manifest, lambda store: store.document_text(document_id))
            if len(matches) > 1:
                listed = ", ".join(path for _, path in matches[:8])
                raise KnowledgeBaseError(f"{wanted!r} matches {len(matches)} documents: {listed}. Give more of the path.")
        candidates = {Path(path).name: path for _, path, _ in names}
        close = difflib.get_close_matches(Path(wanted).name, list(candidates), n=5, cutoff=0.5)
        hint = f" Closest: {', '.join(close)}." if close else " See `assistant index list`."
        raise KnowledgeBaseError(f"No indexed document called {wanted!r}.{hint}")

    # ---------------------------------------------------------------- changing it

    def add(self, paths: Sequence[str | Path], include: Sequence[str] = (), exclude: Sequence[str] = (),
            progress: Progress | None = None) -> IngestReport:
        """Index files and folders; unchanged files are a quick no-op, changed ones are replaced."""
        started = time.monotonic()
        found = discover(paths, include, exclude)
        report = IngestReport(skipped=list(found.skipped), failed=[(p, "no such file or folder") for p in found.missing])
        roots = [Root(str(absolute(p)), list(include), list(exclude)) for p in paths if absolute(p).exists()]
        if found.files or roots:
            with _Writer(self) as writer:
                # Recorded first, so that an add interrupted after a checkpoint is finished by the next sync.
                writer.add_roots(roots)
                writer.ingest(found.files, report, progress)
        report.seconds = time.monotonic() - started
        return report

    def remove(self, paths: Sequence[str | Path]) -> int:
        """Take documents (a file, or everything in a folder) out; sync will not bring them back."""
        if self._manifest() is None:
            return 0
        with _Writer(self) as writer:
            return writer.remove_paths([str(absolute(p)) for p in paths])

    def sync(self, progress: Progress | None = None) -> IngestReport:
        """Re-read the added paths: new and changed files are indexed, vanished ones pruned."""
        started = time.monotonic()
        report = IngestReport()
        if self._manifest() is not None:
            with _Writer(self) as writer:
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
        with _Writer(self, fresh=True) as writer:
            writer.state.roots = roots
            found = writer.discover_roots()
            report.skipped = found.skipped
            report.failed = [(p, "no such file or folder") for p in found.missing]
            writer.ingest(found.files, report, progress)
        report.seconds = time.monotonic() - started
        return report

    def _recorded_roots(self) -> list[Root]:
        try:
            manifest = self._manifest()
        except KnowledgeBaseError:
            manifest = None
        if manifest is not None:
            try:
                return self._read(manifest, lambda store: self._state(manifest, store)).roots
            except KnowledgeBaseError:
                if manifest.roots:
                    return manifest.roots  # the copy from the last completed write
        # Without a readable manifest, the newest store that still opens says which files were indexed.
        for path in sorted(self.folder.glob("kb-*.sqlite3"), key=lambda p: p.stat().st_mtime, reverse=True):
            try:
                store = Store(path)
                try:
                    state = store.get("state")
                    return IndexState.from_dict(json.loads(state)).roots if state else [Root(info.path) for info in store.documents()]
                finally:
                    store.close()
            except Exception as error:
                log.warning("cannot read %s: %s", path, error)
        if manifest is not None:
            return []
        raise KnowledgeBaseError(
            f"Nothing in {self.folder} says which documents were indexed. Add them again with `assistant index add PATH`."
        )

    def close(self) -> None:
        with self._reader_lock:
            for store in self._stores.values():
                store.close()
            self._stores.clear()
        self._snapshot = None


def _passage(row, score: float, relevance: float | None) -> Passage:
    headings = json.loads(row["headings"])
    title = " > ".join(headings) if headings else row["title"]
    return Passage(text=row["text"], source=row["path"], title=title, page=row["page"], line_start=row["line_start"],
                   line_end=row["line_end"], score=float(score), chunk_id=int(row["id"]), relevance=relevance)


class _Writer:
    """One write session: holds the locks, a transaction on the store and a private copy of the
    vectors; commits a new generation at checkpoints and at the end, rolls back on any error."""

    def __init__(self, kb: KnowledgeBase, fresh: bool = False) -> None:
        self.kb = kb
        self.fresh = fresh  # a new store (rebuild), published only when complete
        self.folder = kb.folder
        self.options = kb.options
        self.store: Store | None = None
        self.vectors: VectorIndex | None = None
        self.manifest: Manifest | None = None
        self.state: IndexState | None = None
        self.published = False  # whether manifest.json points at self.store
        self.generation = 0
        self.dirty = False  # uncommitted changes to chunks
        self.lexical_stale = False  # committed changes the BM25 cache does not have yet
        self.state_dirty = False  # changes to self.state the store does not have yet
        self.last_commit = time.monotonic()
        self._file_lock = None
        self._embedder: Embedder | None = None

    # ---------------------------------------------------------------- session

    def __enter__(self) -> "_Writer":
        from filelock import FileLock, Timeout

        if not self.kb._write_lock.acquire(timeout=max(self.options.lock_timeout, 0.01)):
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
            previous = self.kb._manifest()
        except KnowledgeBaseError:
            if not self.fresh:
                raise
        if self.fresh or previous is None:
            self._new_store()
            return
        self.manifest = dataclasses.replace(previous)
        self.published = True
        self.store = self.kb._open_store(self.manifest)
        try:
            self.store.begin(write=True)
            self.generation = self.store.generation
            count = self.store.chunk_count()
            self.state = self.kb._state(self.manifest, self.store).copy()
        except KnowledgeBaseError:
            raise
        except Exception as error:
            raise _damaged(self.folder, f"{self.store.path.name}: {error}") from None
        self.state_dirty = self.manifest.legacy is not None  # a format 1 index: the state moves into the store
        if self.generation == 0 or not self.state.dimension:
            return  # nothing was ever embedded: the vectors start when the embedder is loaded
        path = self.folder / f"{self.manifest.store}.{self.generation}.faiss"
        try:
            self.vectors = VectorIndex.read(path, self.options.vector_options)
        except RuntimeError as error:
            raise _damaged(self.folder, f"{path.name} cannot be read: {str(error).splitlines()[0]}") from None
        if self.vectors.size != count:
            raise _damaged(self.folder, f"{path.name} has {self.vectors.size} vectors, the records say {count}")

    def _new_store(self) -> None:
        stem = f"kb-{uuid.uuid4().hex[:12]}"
        self.store = Store(self.folder / f"{stem}.sqlite3", create=True)
        self.store.begin(write=True)
        self.store.set("generation", "0")
        # dimension 0: not known until the embedder is loaded, which only embedding needs.
        self.state = IndexState(self.kb._resolve().name)
        self.manifest = Manifest(stem)
        self.state_dirty = True

    def __exit__(self, kind, error, traceback) -> None:
        try:
            if error is None:
                self._finish()
            else:
                self._abandon()
        finally:
            self._release()

    def _release(self) -> None:
        if self.store is not None:
            self.store.rollback()
            self.store.close()
            self.store = None
        if self._file_lock is not None:
            self._file_lock.release()
            self._file_lock = None
        self.kb._write_lock.release()

    def _abandon(self) -> None:
        """Back to the last commit; a store that was never published is deleted with its files."""
        if self.store is None:
            return
        self.store.rollback()
        if not self.published:
            stem = self.manifest.store
            self.store.close()
            self.store = None
            _remove_store_files(self.folder, keep=None, only=stem)
        log.info("knowledge base write abandoned; generation %s stays in force", self.generation)

    def _finish(self) -> None:
        self.checkpoint(final=True)
        count = self.store.chunk_count()
        if count and self.lexical_stale:
            self.kb._lexical(self.manifest, self.generation, count, store=self.store)
        if not self.published or self.manifest.legacy is not None or self.manifest.roots != self.state.roots:
            self._publish()
        _remove_store_files(self.folder, keep=(self.manifest.store, self.generation))

    def _publish(self) -> None:
        """Point manifest.json at this store, with a copy of the committed roots."""
        self.manifest.roots = self.state.copy().roots
        self.manifest.legacy = None
        self.manifest.format = FORMAT
        _write_atomically(self.folder / MANIFEST, self.manifest.to_json())
        self.published = True

    # ---------------------------------------------------------------- pieces

    def embedder(self) -> Embedder:
        if self._embedder is None:
            known = self.state if self.state.dimension else None
            self._embedder = self.kb._embedder(known)
            if known is None:
                self.state.embedder = self._embedder.name
                self.state.dimension = self._embedder.dimension
                self.state_dirty = True
            if self.vectors is None:
                self.vectors = VectorIndex.empty(self._embedder.dimension, self.options.vector_options)
        return self._embedder

    def checkpoint(self, final: bool = False) -> None:
        """Commit: vectors to a new generation's file, then the transaction that names it (with the
        state: embedder, dimension and roots change in the same step as the documents)."""
        if self.dirty or self.state_dirty:
            self.state.updated = time.time()
            self.store.set("state", self.state.to_json())
            self.state_dirty = False
        if self.dirty:
            if self.vectors is None:
                self.embedder()
            if self.vectors.reshape(lambda: np.asarray(self.store.chunk_ids(), dtype=np.int64)):
                log.info("vector index is now %s", self.vectors.describe())
            generation = self.generation + 1
            self.vectors.write(self.folder / f"{self.manifest.store}.{generation}.faiss")
            self.store.set("generation", str(generation))
            self.store.set("index", self.vectors.describe())
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
                raise _damaged(self.folder, "chunks without vectors")
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
                                                 digest, document.text, chunks, chunk_terms[offset : offset + len(chunks)])
                self.vectors.add(np.asarray(ids, dtype=np.int64), vectors[offset : offset + len(chunks)])
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
                if row is not None and row["size"] == stat.st_size and row["mtime_ns"] == stat.st_mtime_ns:
                    report.unchanged.append(path)
                    done += 1
                    tell()
                    continue
                data = file.read_bytes()
                digest = hashlib.sha256(data).hexdigest()
                if row is not None and row["sha256"] == digest:
                    self.store.touch(row["id"], stat.st_size, stat.st_mtime_ns)
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
                log.warning("cannot index %s: %s (%s: %s)", path, why, type(cause).__name__, cause)
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
            if info.path not in present:
                self._delete(self.store.document(info.path)["id"])
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


def _remove_store_files(folder: Path, keep: tuple[str, int] | None, only: str | None = None) -> None:
    """Delete files of other stores and generations older than the previous one (a reader that
    has just read the generation number may still be opening it)."""
    for path in folder.iterdir():
        match = _OWN_FILE.match(path.name)
        if not match:
            continue
        stem, generation = match.group(1), match.group(2)
        if only is not None and stem != only:
            continue
        if keep is not None and stem == keep[0]:
            if generation is None or int(generation) >= keep[1] - 1:
                if not path.name.endswith(".tmp"):
                    continue
        try:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        except OSError as error:
            log.warning("cannot remove %s: %s", path, error)
        crash_point("removed an old file")
