"""`assistant chat`: a line-mode chat that streams replies; slash commands work as everywhere."""

from __future__ import annotations

import threading

import click

from .output import print_stream


@click.command()
@click.option("--conversation", "conversation_id", default="terminal", show_default=True,
              help="Conversation to continue; its history survives restarts.")
@click.pass_obj
def chat(state, conversation_id: str) -> None:
    """Chat in the terminal. /help lists the commands; Ctrl-C stops an answer; Ctrl-D quits."""
    try:
        import readline  # noqa: F401  (arrow keys and line history in input())
    except ImportError:
        pass
    click.secho(f"Loading {state.settings.model}…", dim=True, err=True)
    manager = state.runtime.manager
    turns = len(manager.turns(conversation_id))
    click.secho(
        f"assistant · model {manager.model.name} · conversation '{conversation_id}'"
        + (f" ({turns // 2} earlier exchanges)" if turns else "")
        + "\nAsk about your documents or just chat. /help for commands, Ctrl-D to quit.",
        fg="cyan",
    )
    while True:
        try:
            text = input("\n> ")
        except EOFError:
            click.echo()
            return
        except KeyboardInterrupt:
            click.echo()
            continue
        if not text.strip():
            continue
        if text.strip() in ("/quit", "/exit"):
            return
        cancel = threading.Event()
        print_stream(manager.stream(conversation_id, text, user="terminal", cancel=cancel), cancel)
