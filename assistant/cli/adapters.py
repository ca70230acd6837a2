"""`assistant adapters`: list, show, remove and merge LoRA adapters."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from ..errors import AdapterError
from ..llm.adapters import CONFIG_FILE, adapter_path, list_adapters, read_adapter


@click.group()
def adapters() -> None:
    """List, show, remove or merge LoRA adapters (in the adapters folder, or given by path)."""


@adapters.command("list")
@click.pass_obj
def list_command(state) -> None:
    """The adapters in the adapters folder, with their base model and size."""
    from ..training.card import read_metadata

    if state.settings.backend == "openai":  # with a serving engine, what counts is what the server serves
        model = state.runtime.chat_model
        click.echo(f"Adapters the server at {model.base_url} offers: {', '.join(model.adapters()) or 'none'}")
    folder = state.settings.adapters_dir
    found = list_adapters(folder)
    if not found:
        click.echo(f"No adapters in {folder}. Train one with: assistant train --data FILE.jsonl --out NAME")
        return
    click.echo(f"Adapters in {folder}:")
    for info in found:
        results = (read_metadata(info.path) or {}).get("results", {})
        loss = f"  eval loss {results['best_eval_loss']}" if results.get("best_eval_loss") is not None else ""
        click.echo(f"  {info.name}  base={info.base_model or '?'}  r={info.rank}  {info.size_bytes / 2**20:.1f} MiB{loss}")


@adapters.command("show")
@click.argument("name")
@click.pass_obj
def show(state, name) -> None:
    """Details of adapter NAME: base model, LoRA settings, training data and results."""
    from ..training.card import read_metadata

    info = read_adapter(name, state.settings.adapters_dir)
    click.echo(f"{info.name}  ({info.path})")
    click.echo(f"  base model: {info.base_model or 'not recorded'}")
    click.echo(f"  rank: {info.rank}  size: {info.size_bytes / 2**20:.1f} MiB")
    modules = sorted({m.rsplit(".", 1)[-1] for m in info.target_modules})
    click.echo(f"  target modules: {', '.join(modules)}")
    metadata = read_metadata(info.path)
    if metadata:
        data, hp, results = metadata["data"], metadata["hyperparameters"], metadata["results"]
        click.echo(f"  data: {data['file']} ({data['train_examples']} trained on, {data['eval_examples']} held out, sha256 {data['sha256'][:12]}…)")
        click.echo(f"  training: {results['steps']} steps, lr {hp['learning_rate']}, batch {hp['batch_size']}x{hp['grad_accum']}, max length {hp['max_length']}")
        click.echo(f"  train loss: {results['first_train_loss']} → {results['final_train_loss']}; eval loss: {results.get('best_eval_loss')}")
        click.echo(f"  speed: {results['tokens_per_s']} tokens/s on {results['device']}, {results['train_seconds'] / 60:.1f} min")
    if (info.path / "README.md").is_file():
        click.echo(f"  model card: {info.path / 'README.md'}")


@adapters.command("remove")
@click.argument("name")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def remove(state, name, yes) -> None:
    """Delete adapter NAME (its folder, or an unfinished training run's checkpoint)."""
    path = adapter_path(name, state.settings.adapters_dir)
    # Only folders that are adapters or training runs: never an arbitrary folder given by mistake.
    if not ((path / CONFIG_FILE).is_file() or (path / "checkpoint" / "state.json").is_file()):
        known = ", ".join(a.name for a in list_adapters(state.settings.adapters_dir)) or "none"
        raise AdapterError(f"{path} is not an adapter. Known adapters: {known}.")
    if not yes:
        click.confirm(f"Delete {path}?", abort=True)
    shutil.rmtree(path)
    click.echo(f"Removed {path}")


@adapters.command("merge")
@click.argument("name")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Folder for the merged model.")
@click.option("--dtype", type=click.Choice(["bfloat16", "float16", "float32"]), default="bfloat16", show_default=True, help="Weight type saved.")
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists.")
@click.pass_obj
def merge(state, name, out, dtype, overwrite) -> None:
    """Merge adapter NAME into the base model (--model) and save a standalone model in --out.

    Serve it with `assistant --model OUT chat`; it needs no adapter.
    """
    from ..llm.models import resolve_model
    from ..training.merge import merge_adapter

    settings = state.settings
    out_path = Path(out)
    merge_adapter(
        resolve_model(settings.model), name, settings.adapters_dir, out_path,
        cache_dir=settings.cache_dir, dtype=dtype, overwrite=overwrite,
    )
    click.echo(f"Merged model written to {out_path}. Use it with: assistant --model {out_path} chat")
