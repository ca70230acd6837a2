"""The knowledge base on disk: which files there are, what they are called, and how they are
written, read back and cleaned up.

- ``manifest.json``: which store is current (replacing it is how a rebuild takes effect), and a
  copy of the paths added, to rebuild from should the store itself be lost.
- ``kb-<id>.sqlite3``: documents and chunks (see store.py); its ``generation`` names the vectors,
  its ``state`` holds the embedder, dimension and paths added (for sync and rebuild), committed in
  the same transaction as the documents.
- ``kb-<id>.<generation>.faiss``: the vectors; ``kb-<id>.<generation>.bm25/``: the BM25 cache.
- ``write.lock``: held by the one process allowed to write.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..crashpoints import crash_point
from ..errors import KnowledgeBaseError
from .store import Store

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
LOCK = "write.lock"
FORMAT = 2  # 1: the embedder, dimension and paths added lived in manifest.json
_OWN_FILE = re.compile(r"^(kb-[0-9a-f]+)(?:\.(\d+)\.(faiss|bm25))?")


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
    def from_dict(cls, data: dict) -> IndexState:
        return cls(str(data["embedder"]), int(data["dimension"]), _roots(data.get("roots", [])),
                   float(data.get("updated") or 0.0))

    def copy(self) -> IndexState:
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
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        legacy = IndexState.from_dict(data) if "embedder" in data else None
        return cls(str(data["store"]), _roots(data.get("roots", [])), float(data.get("created") or 0.0),
                   int(data.get("format", 1)), legacy)


def store_path(folder: Path, stem: str) -> Path:
    return folder / f"{stem}.sqlite3"


def vector_path(folder: Path, stem: str, generation: int) -> Path:
    return folder / f"{stem}.{generation}.faiss"


def lexical_path(folder: Path, stem: str, generation: int) -> Path:
    return folder / f"{stem}.{generation}.bm25"


def damaged(folder: Path, detail: str) -> KnowledgeBaseError:
    return KnowledgeBaseError(
        f"The knowledge base in {folder} is damaged ({detail}). "
        "Run `assistant index rebuild` to rebuild it from its sources."
    )


def read_manifest(folder: Path) -> Manifest | None:
    """The manifest in folder; None for an empty knowledge base."""
    path = folder / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError as error:
        raise damaged(folder, f"{MANIFEST} is unreadable: {error}") from None
    try:
        manifest = Manifest.from_json(text)
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise damaged(folder, f"{MANIFEST} is unreadable: {error}") from None
    if manifest.format > FORMAT:
        raise KnowledgeBaseError(
            f"The knowledge base in {folder} was written by a newer version (format {manifest.format}). "
            "Upgrade assistant, or run `assistant index rebuild` to rebuild it with this one."
        )
    return manifest


def write_manifest(folder: Path, manifest: Manifest) -> None:
    write_atomically(folder / MANIFEST, manifest.to_json())


def open_store(folder: Path, manifest: Manifest) -> Store:
    path = store_path(folder, manifest.store)
    try:
        return Store(path)
    except FileNotFoundError:
        raise damaged(folder, f"{path.name} is missing") from None
    except Exception as error:  # sqlite3.DatabaseError and friends
        raise damaged(folder, f"{path.name}: {error}") from None


def read_state(folder: Path, manifest: Manifest, store: Store) -> IndexState:
    """The store's state; an index of format 1 has it in its manifest until its next write."""
    text = store.get("state")
    if not text:
        if manifest.legacy is not None:
            return manifest.legacy
        raise damaged(folder, f"{store.path.name} has no record of its embedder")
    try:
        return IndexState.from_dict(json.loads(text))
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise damaged(folder, f"{store.path.name} has an unreadable state: {error}") from None


def roots_of_any_store(folder: Path) -> list[Root] | None:
    """Without a readable manifest, the newest store that still opens says which files were indexed."""
    for path in sorted(folder.glob("kb-*.sqlite3"), key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            store = Store(path)
            try:
                state = store.get("state")
                return IndexState.from_dict(json.loads(state)).roots if state else [Root(info.path) for info in store.documents()]
            finally:
                store.close()
        except Exception as error:
            log.warning("cannot read %s: %s", path, error)
    return None


def write_atomically(path: Path, text: str) -> None:
    staging = path.with_name(path.name + ".tmp")
    with open(staging, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    crash_point(f"{path.name} written aside")
    os.replace(staging, path)
    crash_point(f"{path.name} in place")


def remove_store_files(folder: Path, keep: tuple[str, int] | None, only: str | None = None) -> None:
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
