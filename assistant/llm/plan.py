"""The engine plan: which matmul format the fast decoder uses for the prompt and for each new token, on this CPU.

A format that is fastest on one CPU can be the slowest on another (bfloat16 is native on some,
emulated on others; the int4 kernel is 5x slower without AVX-512). So nothing is assumed: at the
first start the candidates are timed here on one layer's weights, the fastest that agrees with the
float32 reference is kept (`selfcheck.py`), and the plan is cached beside the quantized weights,
keyed by the model's weights and by this CPU (model, torch's capability, torch and oneDNN
settings): a plan made on one CPU is never used on another.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..files import atomic_write_text
from ..torch_threads import torch_threads
from .kernels import FORMATS, time_format

log = logging.getLogger(__name__)

PLAN_VERSION = 7  # bump when the plan or its choice changes (5: decode formats timed cold; 6: ties, fused decoding; 7: prompts)
# Formats this close in speed are all checked, and the one closest to the reference is kept.
DECODE_MARGIN = 1.10  # decode: within 10%
# prompt: bfloat16 rounds every prompt token, so it must be much faster. At 2x (Zen 4's AVX-512 BF16), it cost 2 of 91
# right answers on the company documents' development half (67 -> 65) for 0.1 s of the first token (docs/engine.md);
# CPUs with AMX multiply bfloat16 many times faster, and there it is worth it.
PREFILL_MARGIN = 3.0
PREFILL_TOKENS = 128  # a prompt chunk, enough to make the prompt matmuls compute-bound


@dataclass(frozen=True)
class CPU:
    """What decides which kernels run and how weights are packed."""

    model: str
    capability: str
    torch_version: str
    onednn_isa: str
    mkl_isa: str = ""  # MKL_ENABLE_INSTRUCTIONS: changes which float32 GEMM is fastest

    @property
    def key(self) -> str:
        # An unset MKL limit leaves the key as it was before the field existed, so caches stay valid.
        fields = dataclasses.astuple(self) if self.mkl_isa else dataclasses.astuple(self)[:-1]
        return hashlib.sha256("|".join(fields).encode()).hexdigest()[:12]

    def describe(self) -> str:
        isa = f", oneDNN ISA {self.onednn_isa}" if self.onednn_isa else ""
        isa += f", MKL ISA {self.mkl_isa}" if self.mkl_isa else ""
        return f"{self.model} ({self.capability}{isa}, torch {self.torch_version})"


def this_cpu() -> CPU:
    return CPU(cpu_model(), torch.backends.cpu.get_cpu_capability(), torch.__version__,
               os.environ.get("ONEDNN_MAX_CPU_ISA", ""), os.environ.get("MKL_ENABLE_INSTRUCTIONS", ""))


def cpu_model() -> str:
    """The CPU's name as the OS gives it (x86 "model name", ARM "Hardware" or "cpu model")."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("model name", "Hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


@dataclass
class EnginePlan:
    prefill: str  # the format of the prompt's matmuls: "float32" or "bfloat16"
    decode: str  # the format of each new token's matmuls: one of kernels.FORMATS
    cpu: str
    capability: str
    model: str = ""  # the model's name or folder, for `assistant models`
    # Milliseconds for one layer's matmuls (the fastest of a few timings), "prefill/float32", "decode/int4", ...
    timings_ms: dict[str, float] = field(default_factory=dict)
    agreement: dict[str, float] = field(default_factory=dict)  # the self-check's figures for this plan
    version: int = PLAN_VERSION

    def describe(self) -> str:
        timing = ", ".join(f"{k} {v:.2f} ms" for k, v in sorted(self.timings_ms.items()))
        agreement = ""
        if self.agreement:
            agreement = (f"; agrees with float32: top-1 {self.agreement['top1']:.0%} ({self.agreement.get('tied_top1', 0):.0%} up to ties), "
                         f"largest logit difference {self.agreement['max_logit_diff']:.2f}")
        return f"prompt in {self.prefill}, tokens in {self.decode} on {self.capability} (one layer: {timing}){agreement}"

    def save(self, path: Path) -> None:
        atomic_write_text(path, json.dumps(dataclasses.asdict(self), indent=1))

    @classmethod
    def load(cls, path: Path) -> EnginePlan | None:
        try:
            data = json.loads(path.read_text())
            plan = cls(**data)
        except (OSError, ValueError, TypeError):
            return None
        if plan.version != PLAN_VERSION or plan.prefill not in FORMATS or plan.decode not in FORMATS:
            return None
        return plan


def measure(layer_weights: list[torch.Tensor], threads: int) -> dict[str, float]:
    """Milliseconds per format for one layer's matmuls: each decode format at one thread and at
    ``threads`` (decoding uses whichever is faster) with the weights out of the caches, as a new
    token finds them; the prompt formats at ``threads`` (a prompt reuses each weight for many tokens)."""
    timings: dict[str, float] = {}
    weights = [w.float() for w in layer_weights]
    for fmt in FORMATS:
        seconds = []
        for count in sorted({1, threads}):
            with torch_threads(count):
                seconds.append(time_format(weights, fmt, tokens=1, repeats=9, cold=True))
        timings[f"decode/{fmt}"] = min(seconds) * 1000
    with torch_threads(threads):
        for fmt in ("float32", "bfloat16"):
            timings[f"prefill/{fmt}"] = time_format(weights, fmt, tokens=PREFILL_TOKENS, repeats=3) * 1000
    return timings


def candidates(timings: dict[str, float]) -> list[list[tuple[str, str]]]:
    """Groups of (prefill, decode) plans to try, the fastest group first. A group holds the decode
    formats within DECODE_MARGIN of its fastest: the engine keeps the one that agrees best with the
    reference, since which format is most precise depends on the weights (int4 in groups restores
    a Q4 GGUF's weights exactly; int8 per row does not). bfloat16 prompts come first only when
    PREFILL_MARGIN faster, with float32 prompts as the fallback for the same decode format."""
    remaining = sorted(FORMATS, key=lambda f: timings[f"decode/{f}"])
    bf16_prompt = timings["prefill/bfloat16"] * PREFILL_MARGIN <= timings["prefill/float32"]
    prefills = ["bfloat16", "float32"] if bf16_prompt else ["float32"]
    groups = []
    while remaining:
        fastest = timings[f"decode/{remaining[0]}"]
        close = [f for f in remaining if timings[f"decode/{f}"] <= fastest * DECODE_MARGIN]
        remaining = [f for f in remaining if f not in close]
        groups += [[(prefill, decode) for decode in close] for prefill in prefills]
    return groups
