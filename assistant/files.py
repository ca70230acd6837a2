"""Atomic writes: a file or a folder is either its old self or its new self, never half written,
whatever kills the process (written aside, flushed, then renamed into place)."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .crashpoints import crash_point

log = logging.getLogger(__name__)


@contextlib.contextmanager
def staged(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path``; whatever the block writes there replaces ``path`` when it succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    staging = Path(name)
    try:
        yield staging
        os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with staged(path) as staging:
        with open(staging, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def staging_dir(target: Path) -> Path:
    """An empty folder next to target (same file system, so the final rename is atomic)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))


def replace_dir(staging: Path, target: Path) -> None:
    """Put a finished folder in place: a crash leaves either the old folder or the new one."""
    old = None
    crash_point(f"{target.name} staged")
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
        crash_point(f"{target.name}: the old one moved aside")
    os.replace(staging, target)
    crash_point(f"{target.name}: the new one in place")
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def clean_interrupted(target: Path) -> None:
    """Undo what a process killed while replacing ``target`` left: its staging folders (they can
    be tens of MB) go, and a previous folder moved aside but not yet replaced comes back."""
    parent = target.parent
    if not parent.is_dir():
        return
    moved_aside = sorted(parent.glob(f".{target.name}.old-*"), key=lambda path: path.stat().st_mtime)
    if moved_aside and not target.exists():
        os.replace(moved_aside.pop(), target)
        log.warning("restored %s, which an interrupted save had moved aside", target)
    for leftover in [*parent.glob(f".{target.name}.tmp-*"), *moved_aside]:
        shutil.rmtree(leftover, ignore_errors=True)
        log.info("removed %s, left by an interrupted save", leftover)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
