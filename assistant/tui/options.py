"""The ``[tui]`` table of assistant.toml."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DARK, LIGHT = "textual-dark", "textual-light"


@dataclass(frozen=True)
class TUIOptions:
    theme: str = DARK  # any Textual theme's name
    export_dir: Path = Path(".")  # where /export writes when given no folder
