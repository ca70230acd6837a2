"""What a training run is: everything that decides its result, where it has got to, and what it made."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class TrainConfig:
    """Everything that decides the result; stored in the checkpoint and the model card."""

    data: str
    base: str = "smollm2-135m"
    init_adapter: str | None = None  # an adapter folder whose weights training starts from (its LoRA shape is kept)
    eval_data: str | None = None
    eval_fraction: float = 0.05
    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: str = "all-linear"  # every linear layer of the blocks, whatever the architecture
    learning_rate: float = 2e-4
    schedule: str = "cosine"
    warmup_ratio: float = 0.05
    epochs: float = 1.0
    max_steps: int | None = None
    batch_size: int = 4
    grad_accum: int = 1
    max_length: int = 1024
    eval_every: int = 50
    patience: int | None = None  # evaluations without improvement before stopping early
    save_every: int = 100
    seed: int = 0
    description: str = ""
    save_dtype: str = "float32"  # of the adapter weights written; float16 halves the file


@dataclass
class TrainState:
    """Where training is; saved with each checkpoint."""

    step: int = 0
    epoch: int = 0
    batch_index: int = 0  # next micro-batch within the epoch
    tokens: int = 0
    examples_seen: int = 0
    train_seconds: float = 0.0
    losses: list[float] = field(default_factory=list)  # one per optimizer step
    evals: list[tuple[int, float]] = field(default_factory=list)
    best_eval: float | None = None
    best_step: int = 0
    stale_evals: int = 0
    stopped_early: bool = False
    data_sha256: str = ""


@dataclass
class TrainResult:
    out: Path
    state: TrainState
    metadata: dict
