"""`assistant train`: fine-tune a LoRA adapter on a JSONL file."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from ..errors import UsageError
from ..llm.adapters import adapter_path, read_adapter


@click.command()
@click.option("--data", "data", type=click.Path(dir_okay=False), help="JSONL: {\"messages\": [...]} or {\"instruction\", \"input\", \"output\"} per line.")
@click.option("--out", "out", required=True, help="Adapter folder, or a NAME to put it in the adapters folder.")
@click.option("--base", help="Base model to adapt (default: --model, i.e. smollm2-135m).")
@click.option("--from", "init_adapter", metavar="ADAPTER", help="Start from this adapter's weights (a name or folder) to train it further, e.g. on more data; its rank, alpha and target modules are kept.")
@click.option("--eval-data", type=click.Path(dir_okay=False), help="Held-out JSONL for the eval loss (default: a split of --data).")
@click.option("--eval-fraction", type=click.FloatRange(0, 0.5), default=0.05, show_default=True, help="Part of --data held out when there is no --eval-data.")
@click.option("--rank", type=click.IntRange(1), default=16, show_default=True, help="LoRA rank.")
@click.option("--alpha", type=click.IntRange(1), default=32, show_default=True, help="LoRA alpha (scale = alpha / rank).")
@click.option("--dropout", type=click.FloatRange(0, 0.9), default=0.05, show_default=True, help="LoRA dropout.")
@click.option("--target-modules", default="all-linear", show_default=True, help="Comma-separated module names, or all-linear (every linear layer of the blocks).")
@click.option("--lr", "learning_rate", type=click.FloatRange(0, min_open=True), default=2e-4, show_default=True, help="Peak learning rate.")
@click.option("--schedule", type=click.Choice(["cosine", "linear", "constant"]), default="cosine", show_default=True, help="Learning-rate schedule after warm-up.")
@click.option("--warmup", "warmup_ratio", type=click.FloatRange(0, 0.5), default=0.05, show_default=True, help="Part of the steps spent warming up.")
@click.option("--epochs", type=click.FloatRange(0, min_open=True), default=1.0, show_default=True, help="Passes over the data (fractions allowed).")
@click.option("--max-steps", type=click.IntRange(1), help="Stop after this many optimizer steps (overrides --epochs).")
@click.option("--batch-size", type=click.IntRange(1), default=4, show_default=True, help="Examples per micro-batch.")
@click.option("--grad-accum", type=click.IntRange(1), default=1, show_default=True, help="Micro-batches per optimizer step.")
@click.option("--max-length", type=click.IntRange(8), default=1024, show_default=True, help="Longer examples are skipped and counted.")
@click.option("--eval-every", type=click.IntRange(1), default=50, show_default=True, help="Steps between eval losses.")
@click.option("--patience", type=click.IntRange(1), help="Stop early after this many evals without improvement.")
@click.option("--save-every", type=click.IntRange(1), default=100, show_default=True, help="Steps between checkpoints.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed (data order, split, initial weights).")
@click.option("--save-dtype", type=click.Choice(["float32", "float16", "bfloat16"]), default="float32", show_default=True, help="Type of the adapter weights written (float16 halves the file).")
@click.option("--description", default="", help="A paragraph for the model card saying what the adapter is for.")
@click.option("--overwrite", is_flag=True, help="Replace the --out folder if it exists.")
@click.option("--resume", is_flag=True, help="Continue from the checkpoint in --out (its settings are used).")
@click.option("--threads", type=click.IntRange(1), help="CPU threads (default: all cores; 1 is fastest on a busy machine).")
@click.option("--no-progress", is_flag=True, help="No progress bar (for logs).")
@click.pass_obj
def train(state, data, out, base, init_adapter, overwrite, resume, threads, no_progress, **options) -> None:
    """Fine-tune a LoRA adapter on your own JSONL examples and write it with a model card.

    \b
    Examples:
      assistant train --data my.jsonl --out my-style
      assistant train --data qa.jsonl --out adapters/qa --epochs 2 --rank 8
      assistant train --resume --out my-style        # after Ctrl-C
      assistant train --data more.jsonl --from my-style --out my-style-2
    The loss covers the assistant's replies only, rendered with the base model's chat template.
    """
    from ..training.checkpoints import check_out, read_checkpoint_config
    from ..training.state import TrainConfig
    from ..training.trainer import train as run_training

    settings = state.settings
    out_path = adapter_path(out, settings.adapters_dir)
    check_out(out_path, overwrite, resume)
    if resume:
        config = read_checkpoint_config(out_path)
        if data and Path(data).resolve() != Path(config.data).resolve():
            raise UsageError(f"The checkpoint in {out_path} was trained on {config.data}, not {data}: drop --data or start a new run.")
    else:
        if not data:
            raise UsageError("Give the training data with --data FILE.jsonl.")
        config = TrainConfig(data=str(Path(data).resolve()), base=base or settings.model, **options)
        if init_adapter:
            start = read_adapter(init_adapter, settings.adapters_dir)
            if start.path.resolve() == out_path.resolve():
                raise UsageError(f"--from and --out are the same folder ({out_path}): write the further-trained adapter to another --out.")
            config = dataclasses.replace(config, init_adapter=str(start.path.resolve()))
        if config.eval_data:
            config = dataclasses.replace(config, eval_data=str(Path(config.eval_data).resolve()))
    result = run_training(
        config, out_path, cache_dir=settings.cache_dir, device=settings.device, overwrite=overwrite, resume=resume,
        progress=not no_progress, threads=threads,
    )
    r = result.metadata["results"]
    click.echo(
        f"Adapter written to {result.out} ({r['steps']} steps, train loss {r['first_train_loss']} → {r['final_train_loss']}"
        + (f", eval loss {r['initial_eval_loss']} → {r['best_eval_loss']}" if r["best_eval_loss"] is not None else "")
        + f", {r['tokens_per_s']} tokens/s)."
    )
    click.echo(f"Try it: assistant --adapter {result.out} generate \"...\"; evaluate it: assistant eval --adapter {result.out} --data FILE")
