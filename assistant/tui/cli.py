"""`assistant tui`: open the terminal UI."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import click


@contextlib.contextmanager
def quiet_console() -> Iterator[None]:
    """Log records written to the terminal would tear the UI: while it runs, they go to the log file only."""
    root = logging.getLogger()
    console = [h for h in root.handlers
               if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)]
    for handler in console:
        root.removeHandler(handler)
    try:
        yield
    finally:
        for handler in console:
            root.addHandler(handler)


@click.command()
@click.option("--conversation", "conversation_id", help="Open this saved conversation (default: a new one).")
@click.pass_obj
def tui(state, conversation_id: str | None) -> None:
    """Open the terminal UI: chat with streaming answers, sources, saved conversations and the knowledge base.

    Enter sends, shift+Enter or ctrl+j adds a line, Esc stops an answer, ctrl+p lists every action,
    ctrl+q quits.
    """
    from .app import AssistantApp

    with quiet_console():
        AssistantApp(state.runtime, conversation_id).run()
