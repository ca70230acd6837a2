"""Printing replies in the terminal, shared by `chat` and the one-shot skill commands."""

from __future__ import annotations

import dataclasses
import shutil
import sys
import threading
import unicodedata
from collections.abc import Iterator

import click

from ..conversation.types import Reply, ReplyEvent, TextDelta


def reply_to_json(reply: Reply) -> dict:
    """The reply as JSON; of a message of several questions, with the reply to each (``parts``)."""
    return {
        "answer": reply.text,
        "skill": reply.skill,
        "declined": reply.declined,
        "grounded": reply.grounded,
        "quoted": reply.quoted,
        "error": reply.error,
        "notice": reply.notice,
        "sources": [dataclasses.asdict(p) for p in reply.sources],
        "timings": {k: round(v, 3) for k, v in reply.timings.items()},
        **({"parts": [reply_to_json(part) for part in reply.parts]} if reply.parts else {}),
    }


def print_stream(events: Iterator[ReplyEvent], cancel: threading.Event) -> Reply:
    """Echo the streamed text, then anything the final reply changed, its notice and its sources.

    Ctrl-C stops the answer in progress, not the program.
    """
    streamed = []
    reply: Reply | None = None
    try:
        for event in events:
            if isinstance(event, TextDelta):
                streamed.append(event.text)
                click.echo(event.text, nl=False)
                sys.stdout.flush()
            else:
                reply = event
    except KeyboardInterrupt:
        cancel.set()
        for event in events:  # let the manager finish cleanly and report the cancellation
            if isinstance(event, Reply):
                reply = event
    shown = "".join(streamed).strip()
    if reply is None:
        click.echo()
        return Reply(shown, "error", error=True)
    replaced = reply.text.strip() != shown
    if not replaced:
        click.echo()
    elif not shown or (not reply.error and erased("".join(streamed))):
        # A one-line answer is rewritten where it stands ("90 days [2]" becomes "90 days [1]" once only the
        # passage it cites is listed), so the terminal shows the answer once.
        click.secho(reply.text, fg="red" if reply.error else None, err=reply.error)
        replaced = False
    else:
        click.echo()
        click.secho("(replaced: " + (reply.notice or "the answer changed") + ")", fg="yellow", err=reply.error)
        click.secho(reply.text, fg="red" if reply.error else None, err=reply.error)
    if reply.notice and not replaced:
        click.secho(reply.notice, dim=True)
    if reply.sources and reply.skill != "sources":
        title = "Closest passages:" if reply.declined else "Sources:"
        click.secho(title, dim=True)
        for number, passage in enumerate(reply.sources, 1):
            click.secho(f"  [{number}] {passage.location}", dim=True)
    return reply


def erased(streamed: str) -> bool:
    """Clear ``streamed`` from the terminal, if it is all on the line the cursor is on; False where it cannot be
    (not a terminal, several lines, or wrapped past the terminal's width)."""
    if not sys.stdout.isatty() or "\n" in streamed:
        return False
    # East Asian wide characters take two columns each.
    columns = sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in streamed)
    if columns >= shutil.get_terminal_size().columns:
        return False
    click.echo("\r\033[K", nl=False)
    return True
