"""`assistant generate`: one prompt to the model alone, streamed, or as JSON with its usage."""

from __future__ import annotations

import json
import sys

import click

from ..errors import UsageError
from ..llm import GenerationOptions


def read_text_argument(text: str | None) -> str:
    """The text argument, or standard input when it is '-' or missing and piped."""
    if text == "-" or (text is None and not sys.stdin.isatty()):
        return sys.stdin.read()
    return text or ""


@click.command()
@click.argument("prompt", required=False)
@click.option("--system", help="A system prompt to put first.")
@click.option("--max-new-tokens", type=click.IntRange(1), help="At most this many new tokens.")
@click.option("--temperature", type=click.FloatRange(0), help="0 is greedy (the default); higher samples more freely.")
@click.option("--top-p", type=click.FloatRange(0, 1), help="Nucleus sampling threshold (with --temperature > 0).")
@click.option("--stop", multiple=True, help="Stop before this string (repeatable).")
@click.option("--seed", type=int, help="Random seed for sampling.")
@click.option("--json", "as_json", is_flag=True, help="Print the text with its usage (tokens, time to first token, tokens/s).")
@click.pass_obj
def generate(state, prompt, system, max_new_tokens, temperature, top_p, stop, seed, as_json) -> None:
    """Generate a reply to PROMPT ('-' reads standard input) with the model alone, no documents."""
    prompt = read_text_argument(prompt)
    if not prompt.strip():
        raise UsageError("The prompt is empty: give some text, e.g. assistant generate \"What is the capital of France?\"")
    settings = state.settings
    options = GenerationOptions(
        max_new_tokens=max_new_tokens or settings.max_new_tokens,
        temperature=settings.temperature if temperature is None else temperature,
        top_p=settings.top_p if top_p is None else top_p,
        stop=tuple(stop),
        seed=seed,
    )
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
    model = state.runtime.chat_model
    stream = model.stream(messages, options)
    if as_json:
        text = stream.text()
        usage = stream.usage
        click.echo(json.dumps({
            "model": model.name,
            "text": text,
            "usage": {
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "time_to_first_token_s": round(usage.time_to_first_token_s, 4),
                "decode_tokens_per_s": round(usage.decode_tokens_per_s, 2),
                "total_s": round(usage.total_s, 4),
            },
        }, ensure_ascii=False))
        return
    for piece in stream:
        click.echo(piece, nl=False)
    click.echo()
