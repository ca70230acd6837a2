"""The output folder and the checkpoint in ``<out>/checkpoint``: everything ``--resume`` needs to go on
exactly where training stopped, written atomically."""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from pathlib import Path

from ..errors import UsageError
from ..files import clean_interrupted, replace_dir, staging_dir
from .state import TrainConfig, TrainState

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint"


def check_out(out: Path, overwrite: bool, resume: bool) -> None:
    """Refuse an output folder that would be lost; first clear what a killed run left there."""
    clean_interrupted(out)
    clean_interrupted(out / CHECKPOINT)
    if resume:
        if not (out / CHECKPOINT / "state.json").is_file():
            raise UsageError(f"Nothing to resume: {out} has no checkpoint. Start a new run without --resume.")
        return
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise UsageError(
            f"{out} already exists. Use --overwrite to replace it, --resume to continue its checkpoint, or another --out."
        )


def adapter_weights(model) -> dict:
    """The adapter's own weights. Not the base model's embeddings as well: training never resizes the vocabulary, and
    peft's default ("auto") asks the Hugging Face Hub for the base model's config to find out, at every save."""
    from peft.utils import get_peft_model_state_dict

    return get_peft_model_state_dict(model, save_embedding_layers=False)


def save_checkpoint(out: Path, model, optimizer, scheduler, config: TrainConfig, state: TrainState, best, rng) -> None:
    """Everything needed to go on as if never stopped; ``rng`` is the random state at the next step's start."""
    import torch
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    staging = staging_dir(out / CHECKPOINT)
    try:
        save_file(adapter_weights(model), str(staging / "adapter.safetensors"))
        if best is not None:
            save_file(best, str(staging / "best.safetensors"))
        torch.save(
            {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "rng": rng},
            staging / "optimizer.pt",
        )
        state_json = {"config": dataclasses.asdict(config), "state": dataclasses.asdict(state)}
        (staging / "state.json").write_text(json.dumps(state_json, indent=1))
        replace_dir(staging, out / CHECKPOINT)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("checkpoint at step %d saved in %s", state.step, out / CHECKPOINT)


def read_checkpoint_config(out: Path) -> TrainConfig:
    saved = json.loads((out / CHECKPOINT / "state.json").read_text())
    return TrainConfig(**saved["config"])


def load_checkpoint(out: Path, model, optimizer, scheduler):
    import torch
    from peft.utils import set_peft_model_state_dict
    from safetensors.torch import load_file

    folder = out / CHECKPOINT
    saved = json.loads((folder / "state.json").read_text())
    state = TrainState(**saved["state"])
    state.evals = [(int(step), float(loss)) for step, loss in state.evals]
    set_peft_model_state_dict(model, load_file(str(folder / "adapter.safetensors")))
    extra = torch.load(folder / "optimizer.pt", weights_only=False)
    optimizer.load_state_dict(extra["optimizer"])
    scheduler.load_state_dict(extra["scheduler"])
    torch.set_rng_state(extra["rng"])
    best = load_file(str(folder / "best.safetensors")) if (folder / "best.safetensors").is_file() else None
    return state, best
