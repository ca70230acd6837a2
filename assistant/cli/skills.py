"""One-shot skills: `assistant ask`, `translate` and `summarize`, routed through the conversation manager."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import click

from ..conversation.commands import Request
from ..errors import UsageError
from ..skills.summarize import STYLES
from .generate import read_text_argument
from .output import print_stream, reply_to_json

ONE_SHOT = "one-shot"


def _run(state, message: Request, *, as_json: bool = False, attachment: str | None = None) -> None:
    manager = state.runtime.manager
    if as_json:
        reply = manager.handle(ONE_SHOT, message, attachment=attachment, remember=False)
        click.echo(json.dumps(reply_to_json(reply), ensure_ascii=False))
    else:
        cancel = threading.Event()
        reply = print_stream(manager.stream(ONE_SHOT, message, attachment=attachment, cancel=cancel, remember=False), cancel)
    if reply.error:
        sys.exit(2)


@click.command()
@click.argument("question", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: answer, sources, declined, timings.")
@click.option("--questions", type=click.File("r", encoding="utf-8"),
              help="Answer one question per line of this file ('-' for stdin), one JSON line each.")
@click.pass_obj
def ask(state, question, as_json, questions) -> None:
    """Answer QUESTION from the knowledge base, citing the passages used."""
    if questions is not None:
        manager = state.runtime.manager
        for line in questions:
            if line.strip():
                reply = manager.handle(ONE_SHOT, Request("ask", line.strip()), remember=False)
                click.echo(json.dumps({"question": line.strip(), **reply_to_json(reply)}, ensure_ascii=False))
        return
    question = read_text_argument(question)
    if not question.strip():
        raise UsageError('Give a question, e.g. assistant ask "How do I add my documents?"')
    _run(state, Request("ask", question.strip()), as_json=as_json)


@click.command()
@click.argument("text", required=False)
@click.option("--to", "target", required=True, help="Target language: a name or code (French, fr, français, 中文).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def translate(state, text, target, as_json) -> None:
    """Translate TEXT ('-' or a pipe reads standard input) into another language."""
    text = read_text_argument(text)
    if not text.strip():
        raise UsageError("Nothing to translate: give the text as an argument or on standard input.")
    _run(state, Request("translate", text.strip(), target=target.strip()), as_json=as_json)


@click.command()
@click.argument("text", required=False)
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Summarize this text file.")
@click.option("--style", type=click.Choice(STYLES), default="short", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def summarize(state, text, file, style, as_json) -> None:
    """Summarize TEXT ('-' reads standard input), a --file, or an indexed document by name."""
    if file is not None:
        _run(state, Request("summarize", "", style=style, attachment_name=file.name), as_json=as_json,
             attachment=file.read_text(encoding="utf-8", errors="replace"))
        return
    text = read_text_argument(text)
    if not text.strip():
        raise UsageError("Nothing to summarize: give text, --file PATH, a document name, or pipe text in.")
    _run(state, Request("summarize", text.strip(), style=style), as_json=as_json)
