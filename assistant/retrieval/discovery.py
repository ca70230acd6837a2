"""Which files under the paths a person gave should be indexed.

Folders are walked recursively. Hidden files and folders, build and dependency folders, virtual
environments and whatever a ``.gitignore`` names are left out silently; ``include`` and ``exclude``
are gitignore-style patterns relative to the folder given. A file named explicitly is always read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

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
        if loader_for(path) is None:
            found.skipped.append((str(path), f"unsupported file type {path.suffix.lower() or '(no extension)'}"))
        else:
            found.files.append(path)

    for given in paths:
        root = absolute(given)
        if root.is_file():
            take(root)
        elif root.is_dir():
            for path in walk(root, include_spec, exclude_spec):
                take(path)
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
