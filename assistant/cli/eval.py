"""`assistant eval`: the same held-out questions with and without an adapter, side by side."""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path

import click

from ..llm.adapters import read_adapter
from ..llm.base import GenerationOptions
from ..skills.prompts import QA_ADAPTER


@click.command()
@click.option("--data", "data", required=True, type=click.Path(dir_okay=False), help="Evaluation JSONL (scripts/build_qa_data.py writes one).")
@click.option("--adapter", "adapter", default=QA_ADAPTER, show_default=True, help="Adapter NAME or path to compare with the base model.")
@click.option("--limit", type=click.IntRange(1), help="Only the first N QA and N chat records, for a quick run.")
@click.option("--max-new-tokens", type=click.IntRange(1), default=64, show_default=True, help="Longest reply generated.")
@click.option("--threads", type=click.IntRange(1), help="CPU threads (1 is fastest on a busy machine).")
@click.option("--output", type=click.Path(dir_okay=False), help="Also write every reply, both ways, to this JSONL file.")
@click.option("--card", is_flag=True, help="Write the figures into the adapter's model card (README.md).")
@click.pass_obj
def eval_command(state, data, adapter, limit, max_new_tokens, threads, output, card) -> None:
    """Compare the base model with and without an adapter on held-out questions.

    Prints answer accuracy (contains the gold answer, token F1), citation correctness,
    "I don't know" accuracy on questions whose answer was removed, and a plain-chat check.
    """
    from ..files import sha256_file
    from ..training import card as model_card
    from ..training.evaluate import compare, load_eval_set, render_table

    settings = state.settings
    info = read_adapter(adapter, settings.adapters_dir)  # fail before loading the model
    data_path = Path(data)
    eval_set = load_eval_set(data_path).limited(limit)
    if threads:
        import torch

        torch.set_num_threads(threads)
    model = state.runtime.chat_model
    options = GenerationOptions(max_new_tokens=max_new_tokens, temperature=0.0)
    total = len(eval_set.qa) + len(eval_set.chat)
    with click.progressbar(length=total, label=f"Evaluating {info.name} and the base model", file=sys.stderr) as bar:
        result = compare(model, eval_set, str(info.path), options, on_item=lambda: bar.update(1))
    result.adapter = info.name
    table = render_table(result)
    click.echo(table)
    if output:
        with open(output, "w", encoding="utf-8") as out:
            for row in result.outputs:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
    if card:
        command = f"assistant eval --data {data_path.name} --adapter {info.name}" + (f" --limit {limit}" if limit else "")
        section = "\n".join([
            "## Evaluation",
            "",
            f"Held-out data: {data_path.name} (sha256 `{sha256_file(data_path)}`), base model {model.name}, "
            f"at most {max_new_tokens} new tokens, {datetime.date.today().isoformat()}. Reproduce with `{command}`.",
            "",
            table,
        ])
        model_card.replace_eval_section(info.path / "README.md", section)
        click.echo(f"Model card updated: {info.path / 'README.md'}")
