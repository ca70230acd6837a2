"""Numbers as people read them."""

from __future__ import annotations


def human_size(count: float) -> str:
    """A size in bytes as '512 B', '1.5 KiB', '3.2 MiB' or '1.1 GiB'."""
    for unit in ("B", "KiB", "MiB"):
        if count < 1024:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GiB"
