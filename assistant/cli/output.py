"""Printing replies in the terminal, shared by `chat` and the one-shot skill commands."""

from __future__ import annotations

import dataclasses
import sys
import threading
from collections.abc import Iterator

import click

from ..conversation.types import Reply, ReplyEvent, TextDelta


def reply_to_json(reply: Reply) -> dict:
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
    if reply.text.strip() != shown:
        if shown:
            click.echo()
            click.secho("(replaced: " + (reply.notice or "the answer changed") + ")", fg="yellow", err=reply.error)
        click.secho(reply.text, fg="red" if reply.error else None, err=reply.error)
    else:
        click.echo()
    if reply.notice and reply.text.strip() == shown:
        click.secho(reply.notice, dim=True)
    if reply.sources and reply.skill != "sources":
        title = "Closest passages:" if reply.declined else "Sources:"
        click.secho(title, dim=True)
        for number, passage in enumerate(reply.sources, 1):
            click.secho(f"  [{number}] {passage.location}", dim=True)
    return reply
