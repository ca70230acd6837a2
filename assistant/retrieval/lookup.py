"""Finding one document by what a person calls it: its path, file name, path suffix, stem or title."""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import KnowledgeBaseError
from .discovery import absolute

EMPTY = "The knowledge base is empty. Add documents with `assistant index add PATH`."


def find_document(names: Sequence[tuple[int, str, str]], wanted: str) -> tuple[int, str]:
    """(id, path) of the one document among (id, path, title) that ``wanted`` names, ignoring case;
    the most exact way of naming wins. KnowledgeBaseError, with the closest names, for none or several."""
    if not names:
        raise KnowledgeBaseError(EMPTY)
    wanted = wanted.strip()
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
            return matches[0]
        if len(matches) > 1:
            listed = ", ".join(path for _, path in matches[:8])
            raise KnowledgeBaseError(f"{wanted!r} matches {len(matches)} documents: {listed}. Give more of the path.")
    candidates = {Path(path).name: path for _, path, _ in names}
    close = difflib.get_close_matches(Path(wanted).name, list(candidates), n=5, cutoff=0.5)
    hint = f" Closest: {', '.join(close)}." if close else " See `assistant index list`."
    raise KnowledgeBaseError(f"No indexed document called {wanted!r}.{hint}")
