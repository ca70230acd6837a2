"""The model card (README.md) written into every adapter folder, and its evaluation section.

`assistant train` writes the card from the training metadata (also kept as training.json);
`assistant eval --card` replaces the part between the eval markers with its figures.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..files import atomic_write_text

METADATA_FILE = "training.json"
EVAL_START = "<!-- eval:start -->"
EVAL_END = "<!-- eval:end -->"
HYPERPARAMETERS = (
    "rank", "alpha", "dropout", "target_modules", "learning_rate", "schedule", "warmup_ratio", "epochs",
    "max_steps", "batch_size", "grad_accum", "max_length", "eval_fraction", "eval_every", "patience", "seed", "save_dtype",
)


def _table(rows: list[tuple[str, object]]) -> str:
    lines = ["| | |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows if value not in (None, "")]
    return "\n".join(lines)


def render(name: str, metadata: dict) -> str:
    base, data, hp, results = metadata["base_model"], metadata["data"], metadata["hyperparameters"], metadata["results"]
    description = hp.get("description") or f"A LoRA adapter fine-tuned with `assistant train` on {Path(data['file']).name}."
    minutes = results["train_seconds"] / 60
    eval_loss = (
        f"{results['initial_eval_loss']} before training, best {results['best_eval_loss']} at step {results['best_step']} (these weights)"
        if results.get("best_eval_loss") is not None
        else "no held-out split"
    )
    parts = [
        f"# {name}",
        "",
        description,
        "",
        f"Base model: **{base['base_id']}** (loaded as `{base['spec']}`). Use it with "
        f"`assistant --model {base['spec']} --adapter {name} chat`, or merge it with `assistant adapters merge {name} --out DIR`.",
        "",
        "## Training",
        "",
        _table([
            ("base model", f"{base['base_id']} (`{base['spec']}`)"),
            ("base model sha256", f"`{base['sha256']}`"),
            *([("started from", f"adapter {start['name']}, weights sha256 `{start['sha256']}`")] if (start := metadata.get("init_adapter")) else []),
            ("data", f"{Path(data['file']).name}, sha256 `{data['sha256']}`"),
            ("examples", f"{data['examples']} read; {data['train_examples']} for training, {data['eval_examples']} held out"
                         + (f" ({Path(data['eval_file']).name})" if data.get("eval_file") else "")
                         + f"; {data['skipped_too_long']} skipped as longer than {hp['max_length']} tokens"),
            *[(key.replace("_", " "), hp.get(key)) for key in HYPERPARAMETERS],
            ("steps", f"{results['steps']} of {results['planned_steps']} ({results.get('examples_seen', '?')} examples seen, {results['epochs']} epochs)"
                      + (", stopped early" if results["stopped_early"] else "")),
            ("train loss", f"{results['first_train_loss']} (first 10 steps) → {results['final_train_loss']} (last steps)"),
            ("eval loss", eval_loss),
            ("throughput", f"{results['tokens']} tokens at {results['tokens_per_s']} tokens/s on {results['device']} ({results['dtype']})"),
            ("training time", f"{minutes:.1f} min"),
        ]),
        "",
        EVAL_START,
        "## Evaluation",
        "",
        f"Not evaluated yet. Run `assistant eval --data FILE --adapter {name} --card` to add the figures here.",
        EVAL_END,
        "",
    ]
    return "\n".join(parts)


def read_metadata(adapter_dir: Path) -> dict | None:
    try:
        return json.loads((adapter_dir / METADATA_FILE).read_text())
    except (OSError, ValueError):
        return None


def replace_eval_section(readme: Path, section: str) -> None:
    """Put the evaluation text between the markers (appending them when missing), atomically."""
    text = readme.read_text(encoding="utf-8") if readme.is_file() else f"# {readme.parent.name}\n"
    block = f"{EVAL_START}\n{section.strip()}\n{EVAL_END}"
    start, end = text.find(EVAL_START), text.find(EVAL_END)
    if start >= 0 and end > start:
        text = text[:start] + block + text[end + len(EVAL_END):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    atomic_write_text(readme, text)
