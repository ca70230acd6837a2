"""How long to wait before trying again: one policy for every retry loop (the Bot API, a model server)."""

from __future__ import annotations


def backoff_delay(attempt: int, first: float = 0.5, longest: float = 60.0) -> float:
    """Seconds to wait before retry number ``attempt`` (1, 2, ...): doubling from ``first``, at most ``longest``."""
    return min(first * 2 ** (attempt - 1), longest)
