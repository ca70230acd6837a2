"""Which files under the paths a person gave should be indexed.

Folders are walked recursively. Hidden files and folders, build and dependency folders, virtual
environments and whatever a ``.gitignore`` names are left out silently; ``include`` and ``exclude``
are gitignore-style patterns relative to the folder given. A file named explicitly is always read.
Only regular files are ever opened: a named pipe would block the reader (and the write lock) forever.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from .loaders import loader_for

SKIPPED_FOLDERS = {"node_modules", "__pycache__", "build", "dist", "target", "site-packages", "bower_components",
                   "venv", "htmlcov", "__pypackages__"}


def absolute(path: str | Path) -> Path:
    """The path as the index records it: absolute, symlinks kept as the person named them."""
    return Path(os.path.abspath(os.path.expanduser(str(path))))


@dataclass
class Discovery:
    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why): not a readable format
    missing: list[str] = field(default_factory=list)


def not_a_file(path: Path) -> str | None:
    """Why this path cannot be read as a document, without opening it; None for a regular file."""
    try:
        mode = path.stat().st_mode
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "a symbolic link loop (it leads back to itself)"
        if path.is_symlink():
            return f"a broken symbolic link (to {os.readlink(path)}, which does not exist)"
        return f"cannot be read ({error.strerror or error})"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a named pipe, not a regular file"
    if stat.S_ISSOCK(mode):
        return "a socket, not a regular file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device, not a regular file"
    return "not a regular file"


def _patterns(lines: Iterable[str]) -> pathspec.PathSpec | None:
    lines = [line for line in lines if line.strip()]
    return pathspec.GitIgnoreSpec.from_lines(lines) if lines else None


def discover(paths: Sequence[str | Path], include: Sequence[str] = (), exclude: Sequence[str] = ()) -> Discovery:
    found = Discovery()
    seen: set[Path] = set()
    include_spec, exclude_spec = _patterns(include), _patterns(exclude)

    def take(path: Path) -> None:
        if path in seen:
            return
        seen.add(path)
        why = not_a_file(path)
        if why is None and loader_for(path) is None:
            why = f"unsupported file type {path.suffix.lower() or '(no extension)'}"
        if why is None:
            found.files.append(path)
        else:
            found.skipped.append((str(path), why))

    for given in paths:
        root = absolute(given)
        if root.is_dir():
            for path in walk(root, include_spec, exclude_spec):
                take(path)
        elif os.path.lexists(root):  # a file, or something said why it is not one (a pipe, a link loop)
            take(root)
        else:
            found.missing.append(str(root))
    return found


def walk(root: Path, include: pathspec.PathSpec | None, exclude: pathspec.PathSpec | None) -> Iterable[Path]:
    """Files under root in a stable order, minus hidden, build, ignored and excluded ones."""
    ignores: list[tuple[str, pathspec.PathSpec]] = []  # (folder relative to root, its .gitignore)
    for folder, dirs, files in os.walk(root):
        relative_folder = os.path.relpath(folder, root)
        relative_folder = "" if relative_folder == "." else relative_folder.replace(os.sep, "/") + "/"
        gitignore = Path(folder) / ".gitignore"
        if gitignore.is_file():
            try:
                spec = _patterns(gitignore.read_text(encoding="utf-8", errors="replace").splitlines())
            except OSError:
                spec = None
            if spec is not None:
                ignores.append((relative_folder, spec))

        def ignored(relative: str) -> bool:
            for base, spec in ignores:
                if relative.startswith(base) and spec.match_file(relative[len(base):]):
                    return True
            return bool(exclude and exclude.match_file(relative))

        kept = []
        for name in sorted(dirs):
            full = Path(folder) / name
            if name.startswith(".") or name in SKIPPED_FOLDERS or (full / "pyvenv.cfg").exists() or full.is_symlink():
                continue
            if ignored(f"{relative_folder}{name}/"):
                continue
            kept.append(name)
        dirs[:] = kept
        for name in sorted(files):
            relative = f"{relative_folder}{name}"
            if name.startswith(".") or ignored(relative):
                continue
            if include is not None and not include.match_file(relative):
                continue
            yield Path(folder) / name
