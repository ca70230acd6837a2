"""Crash points: the moments a write (the knowledge base's, a training checkpoint's) can be
interrupted, named so that a fault-injection sweep (scripts/fault_injection.py, the tests) can kill
a writer at each of them in turn.

With ``ASSISTANT_CRASH_AT=N`` the process kills itself with SIGKILL (no cleanup, no ``finally``,
as a power cut or the OOM killer would) on reaching the Nth crash point; with
``ASSISTANT_CRASH_LOG=FILE`` it appends each point it passes to FILE. Unset (always, outside
the sweep), a crash point costs two environment lookups.
"""

from __future__ import annotations

import os
import signal

_passed = 0


def crash_point(name: str) -> None:
    global _passed
    at, record = os.environ.get("ASSISTANT_CRASH_AT"), os.environ.get("ASSISTANT_CRASH_LOG")
    if at is None and record is None:
        return
    _passed += 1
    if record:
        with open(record, "a", encoding="utf-8") as handle:
            handle.write(f"{_passed} {name}\n")
    if at is not None and _passed == int(at):
        os.kill(os.getpid(), signal.SIGKILL)


def reset() -> None:
    """Count from zero again (a forked child of the sweep starts its own count)."""
    global _passed
    _passed = 0
