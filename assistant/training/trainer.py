"""LoRA fine-tuning of any causal LM the engine loads, in one readable loop.

Batches are built from examples of similar length; the loss covers the assistant's tokens only;
an optional held-out part gives an eval loss every few steps (with early stopping), and the best
weights are the ones written. A checkpoint in ``<out>/checkpoint`` (also written on Ctrl-C) lets
``--resume`` continue exactly where training stopped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import logging
import math
import shutil
import time
import warnings
from pathlib import Path

from ..errors import Cancelled, UsageError
from ..files import replace_dir, sha256_file, staging_dir
from ..llm.adapters import check_base, read_adapter, weights_sha256
from ..llm.models import ModelSource, load_pretrained, materialize, resolve_device, resolve_model
from ..torch_threads import torch_threads
from . import card
from .batches import collate, eval_loss, loss_sum, micro_batches
from .checkpoints import adapter_weights, check_out, load_checkpoint, save_checkpoint
from .data import IGNORE, load_examples, split_eval, tokenize_all
from .state import TrainConfig, TrainResult, TrainState

log = logging.getLogger(__name__)

SCHEDULES = {"cosine": "cosine", "linear": "linear", "constant": "constant_with_warmup"}


def model_hash(source: ModelSource, cache_dir: Path) -> str:
    """sha256 of the weights the adapter was trained on (the GGUF file itself for GGUF models)."""
    if source.kind == "gguf":
        return sha256_file(Path(source.location))
    folder = Path(materialize(source, cache_dir))
    if not folder.is_dir():  # a hub id: only the files in the local hub cache would say
        return "unknown (hub model)"
    digest = hashlib.sha256()
    for weights in sorted(p for p in folder.iterdir() if p.suffix in (".safetensors", ".bin")):
        digest.update(bytes.fromhex(sha256_file(weights)))
    return digest.hexdigest()


# --- the loop -------------------------------------------------------------------------------


def _trainable(model) -> dict:
    return {k: v.detach().clone() for k, v in adapter_weights(model).items()}


def train(
    config: TrainConfig,
    out: Path,
    *,
    cache_dir: Path,
    device: str = "auto",
    overwrite: bool = False,
    resume: bool = False,
    progress: bool = True,
    threads: int | None = None,
) -> TrainResult:
    check_out(out, overwrite, resume)
    # On a busy machine one thread per process is several times faster than threads that wait on each other.
    with torch_threads(threads):
        return _train(config, out, cache_dir=cache_dir, device=device, resume=resume, progress=progress)


def _train(config: TrainConfig, out: Path, *, cache_dir: Path, device: str, resume: bool, progress: bool) -> TrainResult:
    import torch
    from peft import LoraConfig, get_peft_model
    from peft.utils import set_peft_model_state_dict
    from tqdm.auto import tqdm
    from transformers import get_scheduler
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    started = time.perf_counter()
    if config.schedule not in SCHEDULES:
        raise UsageError(f"Unknown schedule {config.schedule!r}: use {', '.join(SCHEDULES)}.")
    data_path = Path(config.data)
    examples = load_examples(data_path)
    source = resolve_model(config.base)
    device = resolve_device(device)
    # float32 on the CPU, where bfloat16 trains no faster; bfloat16 on GPUs that have it.
    dtype = "bfloat16" if device.startswith("cuda") and torch.cuda.is_bf16_supported() else "float32"
    model, tokenizer = load_pretrained(source, cache_dir, device, dtype)
    torch.manual_seed(config.seed)

    tokenized, too_long = tokenize_all(tokenizer, examples, config.max_length)
    if too_long:
        shown = ", ".join(map(str, too_long[:10])) + (" ..." if len(too_long) > 10 else "")
        log.warning("skipped %d of %d examples longer than --max-length %d tokens (lines %s)", len(too_long), len(examples), config.max_length, shown)
    if not tokenized:
        raise UsageError(f"All {len(examples)} examples are longer than --max-length {config.max_length} tokens: raise it.")
    eval_too_long: list[int] = []
    if config.eval_data:
        eval_set, eval_too_long = tokenize_all(tokenizer, load_examples(Path(config.eval_data)), config.max_length)
        train_set = tokenized
    else:
        train_set, eval_set = split_eval(tokenized, config.eval_fraction, config.seed)

    try:
        with warnings.catch_warnings():  # peft asks transformers about a renamed attribute
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing", category=FutureWarning)
            if config.init_adapter:
                model, config = _start_from_adapter(model, config, source, Path(config.init_adapter))
            else:
                model = get_peft_model(model, LoraConfig(
                    r=config.rank,
                    lora_alpha=config.alpha,
                    lora_dropout=config.dropout,
                    target_modules=config.target_modules if config.target_modules == "all-linear" else config.target_modules.split(","),
                    task_type="CAUSAL_LM",
                ))
    except ValueError as error:
        raise UsageError(f"Cannot apply LoRA to {source.spec}: {error}") from None
    # Adapters record the base by the name the engine matches them with (the hub id for the embedded model).
    model.peft_config["default"].base_model_name_or_path = source.base_id
    model.train()
    logits_mask_ok = "logits_to_keep" in inspect.signature(model.get_base_model().forward).parameters

    lengths = [len(x.input_ids) for x in train_set]
    batches_per_epoch = math.ceil(len(train_set) / config.batch_size)
    total_steps = config.max_steps or max(1, math.ceil(config.epochs * batches_per_epoch / config.grad_accum))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.learning_rate, weight_decay=0.0)
    scheduler = get_scheduler(
        SCHEDULES[config.schedule], optimizer, num_warmup_steps=int(config.warmup_ratio * total_steps), num_training_steps=total_steps
    )
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    state, best = TrainState(data_sha256=sha256_file(data_path)), None
    if resume:
        data_sha256 = state.data_sha256
        state, best = load_checkpoint(out, model, optimizer, scheduler)
        if state.data_sha256 != data_sha256:
            raise UsageError(f"{data_path} changed since the checkpoint was saved: start a new run with --overwrite instead of --resume.")
        log.info("resuming at step %d of %d", state.step, total_steps)
    elif eval_set:
        # The untrained adapter (a no-op) is the first best: if training only hurts, that is what is written.
        state.best_eval = eval_loss(model, eval_set, config.batch_size, pad_id, device, logits_mask_ok)
        state.evals.append((0, state.best_eval))
        best = _trainable(model)

    log.info(
        "training %s on %d examples (%d held out), %d steps, device %s", source.spec, len(train_set), len(eval_set), total_steps, device
    )
    bar = tqdm(total=total_steps, initial=state.step, unit="step", disable=not progress, dynamic_ncols=True, mininterval=2, miniters=1)
    stream = micro_batches(lengths, config, state.epoch, state.batch_index)
    run_started, run_tokens = time.perf_counter(), 0
    try:
        while state.step < total_steps and not state.stopped_early:
            step_rng = torch.get_rng_state()
            step_started = time.perf_counter()
            group = [next(stream) for _ in range(config.grad_accum)]
            batches = [collate([train_set[i] for i in indices], pad_id, device) for _, _, indices in group]
            # Each token counts the same, however the tokens fall into micro-batches.
            step_targets = sum(int((b[1][:, 1:] != IGNORE).sum()) for b in batches)
            step_loss = 0.0
            for batch in batches:
                loss, _ = loss_sum(model, batch, logits_mask_ok)
                (loss / step_targets).backward()
                step_loss += loss.item() / step_targets
            torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            last_epoch, last_index, _ = group[-1]
            state.epoch, state.batch_index = last_epoch, last_index + 1
            state.step += 1
            state.losses.append(step_loss)
            state.train_seconds += time.perf_counter() - step_started
            step_tokens = sum(int(b[2].sum()) for b in batches)
            state.tokens, run_tokens = state.tokens + step_tokens, run_tokens + step_tokens
            state.examples_seen += sum(len(indices) for _, _, indices in group)
            rate = run_tokens / max(time.perf_counter() - run_started, 1e-9)
            bar.set_postfix(loss=f"{step_loss:.3f}", tok_s=f"{rate:.0f}", refresh=False)
            bar.update(1)
            if eval_set and (state.step % config.eval_every == 0 or state.step == total_steps):
                best = _evaluate(model, eval_set, config, state, best, pad_id, device, logits_mask_ok, bar)
            if state.step % config.save_every == 0 and state.step < total_steps:
                save_checkpoint(out, model, optimizer, scheduler, config, state, best, torch.get_rng_state())
    except KeyboardInterrupt:
        # The step in progress is dropped (its gradients are partial); the resumed run redoes it.
        bar.close()
        optimizer.zero_grad(set_to_none=True)
        save_checkpoint(out, model, optimizer, scheduler, config, state, best, step_rng)
        raise Cancelled(
            f"Training stopped at step {state.step} of {total_steps}; checkpoint saved. "
            f"Continue with: assistant train --resume --out {out}"
        ) from None
    bar.close()

    if best is not None:
        set_peft_model_state_dict(model, best)
    metadata = {
        "base_model": {"spec": source.spec, "base_id": source.base_id, "sha256": model_hash(source, cache_dir)},
        **({"init_adapter": _adapter_identity(Path(config.init_adapter))} if config.init_adapter else {}),
        "data": {
            "file": str(data_path),
            "sha256": state.data_sha256,
            "examples": len(examples),
            "train_examples": len(train_set),
            "eval_examples": len(eval_set),
            "eval_file": config.eval_data,
            "skipped_too_long": len(too_long) + len(eval_too_long),
        },
        "hyperparameters": dataclasses.asdict(config),
        "results": _results(state, total_steps, batches_per_epoch, config, device, dtype, time.perf_counter() - started),
    }
    _write_adapter(model, out, config, metadata)
    return TrainResult(out, state, metadata)


def _start_from_adapter(model, config: TrainConfig, source: ModelSource, path: Path):
    """The base wrapped with the adapter at ``path``, trainable; the config takes that adapter's LoRA shape."""
    from peft import PeftModel

    info = read_adapter(str(path), path.parent)
    check_base(info, source)
    model = PeftModel.from_pretrained(model, str(info.path), adapter_name="default", is_trainable=True)
    lora = model.peft_config["default"]
    modules = lora.target_modules
    shape = dataclasses.replace(
        config,
        rank=lora.r,
        alpha=lora.lora_alpha,
        dropout=lora.lora_dropout,
        target_modules=modules if isinstance(modules, str) else ",".join(sorted(modules)),
    )
    log.info("starting from adapter %s (rank %d)", info.path, lora.r)
    return model, shape


def _adapter_identity(path: Path) -> dict:
    return {"name": path.name, "sha256": weights_sha256(path)}


def _evaluate(model, eval_set, config, state: TrainState, best, pad_id, device, logits_mask_ok, bar):
    loss = eval_loss(model, eval_set, config.batch_size, pad_id, device, logits_mask_ok)
    state.evals.append((state.step, loss))
    if state.best_eval is None or loss < state.best_eval:
        state.best_eval, state.best_step, state.stale_evals = loss, state.step, 0
        best = _trainable(model)
    else:
        state.stale_evals += 1
        if config.patience and state.stale_evals >= config.patience:
            state.stopped_early = True
    recent = state.losses[-config.eval_every :]
    message = f"step {state.step}: train loss {sum(recent) / len(recent):.4f}, eval loss {loss:.4f} (best {state.best_eval:.4f} at step {state.best_step})"
    if state.stopped_early:
        message += f"; stopping early after {config.patience} evaluations without improvement"
    bar.write(message)
    log.info(message)
    return best


def _results(state: TrainState, total_steps: int, batches_per_epoch: int, config: TrainConfig, device: str, dtype: str, wall: float) -> dict:
    tail = state.losses[-max(1, min(config.eval_every, len(state.losses))) :]
    return {
        "steps": state.step,
        "planned_steps": total_steps,
        "epochs": round(state.step * config.grad_accum / batches_per_epoch, 3),
        "examples_seen": state.examples_seen,
        "stopped_early": state.stopped_early,
        "first_train_loss": round(sum(state.losses[:10]) / max(1, len(state.losses[:10])), 4),
        "final_train_loss": round(sum(tail) / len(tail), 4),
        "initial_eval_loss": round(state.evals[0][1], 4) if state.evals else None,
        "best_eval_loss": round(state.best_eval, 4) if state.best_eval is not None else None,
        "best_step": state.best_step if state.best_eval is not None else None,
        "tokens": state.tokens,
        "tokens_per_s": round(state.tokens / state.train_seconds, 1) if state.train_seconds else None,
        "train_seconds": round(state.train_seconds, 1),
        "wall_seconds_this_run": round(wall, 1),
        "device": device,
        "dtype": dtype,
    }


def _write_adapter(model, out: Path, config: TrainConfig, metadata: dict) -> None:
    import torch

    model.to(getattr(torch, config.save_dtype))
    staging = staging_dir(out)
    try:
        model.save_pretrained(str(staging), save_embedding_layers=False)  # as adapter_weights: no Hub lookup
        (staging / card.METADATA_FILE).write_text(json.dumps(metadata, indent=1))
        (staging / "README.md").write_text(card.render(out.name, metadata), encoding="utf-8")
        replace_dir(staging, out)  # the checkpoint goes with the old folder: training is complete
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("adapter written to %s", out)
