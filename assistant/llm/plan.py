"""The engine plan: which matmul format the fast decoder uses for the prompt and for each new token, on this CPU.

A format that is fastest on one CPU can be the slowest on another (bfloat16 is native on some,
emulated on others; the int4 kernel is 5x slower without AVX-512). So nothing is assumed: at the
first start the candidates are timed here on a few layers' weights, the fastest that agrees with the
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
from .busy import BUSY_CORES
from .kernels import FORMATS, time_format

log = logging.getLogger(__name__)

# Bump when the plan or its choice changes (5: decode formats timed cold; 6: ties, fused decoding; 7: prompts; 8: timed on
# several layers, and a plan timed while other processes took the CPU is timed again at a start that finds it free).
PLAN_VERSION = 8
# Formats this close in speed are all checked, and the one closest to the reference is kept.
DECODE_MARGIN = 1.10  # decode: within 10%
# prompt: bfloat16 rounds every prompt token, so it must be much faster. At 2x (Zen 4's AVX-512 BF16), it cost 2 of 91
# right answers on the company documents' development half (67 -> 65) for 0.1 s of the first token (docs/engine.md);
# CPUs with AMX multiply bfloat16 many times faster, and there it is worth it.
PREFILL_MARGIN = 3.0
PREFILL_TOKENS = 128  # a prompt chunk, enough to make the prompt matmuls compute-bound
TIMED_LAYERS = 4  # the formats are timed on this many layers' weights (timed_layers) ...
TIMED_BYTES = 64 * 2**20  # ... as far as this many bytes of float32 weights: one layer of a large model is plenty


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
    # The cores' worth of CPU other processes took while the formats were timed (busy.OthersLoad): at BUSY_CORES or
    # more the timings are suspect, and the formats are timed again at the first start that finds the CPU free.
    timed_busy: float = 0.0
    version: int = PLAN_VERSION

    @property
    def timed_while_busy(self) -> bool:
        return self.timed_busy >= BUSY_CORES

    def describe(self) -> str:
        timing = ", ".join(f"{k} {v:.2f} ms" for k, v in sorted(self.timings_ms.items()))
        agreement = ""
        if self.agreement:
            agreement = (f"; agrees with float32: top-1 {self.agreement['top1']:.0%} ({self.agreement.get('tied_top1', 0):.0%} up to ties), "
                         f"largest logit difference {self.agreement['max_logit_diff']:.2f}")
        busy = f"; timed while other processes took {self.timed_busy:.1f} cores" if self.timed_while_busy else ""
        return f"prompt in {self.prefill}, tokens in {self.decode} on {self.capability} (one layer: {timing}){agreement}{busy}"

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


def timed_layers(layers: list[list[torch.Tensor]]) -> list[list[torch.Tensor]]:
    """The first layers, as many as TIMED_BYTES of float32 weights hold (one at least, TIMED_LAYERS at most): one
    layer's few megabytes time by where they landed in memory. On a 2-core AMD EPYC (AVX2), one layer's bfloat16 came
    within 10% of int4's, so the plan kept bfloat16, in 1 start of 8; four layers' in none of 8 (1.19-1.73x int4's);
    through the model bfloat16 decodes 1.3-1.45x slower there (docs/engine.md)."""
    kept: list[list[torch.Tensor]] = []
    total = 0
    for layer in layers[:TIMED_LAYERS]:
        total += sum(w.numel() * 4 for w in layer)
        if kept and total > TIMED_BYTES:
            break
        kept.append(layer)
    return kept


def measure(layers: list[list[torch.Tensor]], threads: int) -> dict[str, float]:
    """Milliseconds per format for one layer's matmuls, the mean of these ``layers``' weights: each decode format at
    one thread and at ``threads`` (decoding uses whichever is faster) with the weights out of the caches, as a new
    token finds them; the prompt formats at ``threads`` (a prompt reuses each weight for many tokens)."""
    timings: dict[str, float] = {}
    weights = [w.float() for layer in layers for w in layer]
    for fmt in FORMATS:
        seconds = []
        for count in sorted({1, threads}):
            with torch_threads(count):
                seconds.append(time_format(weights, fmt, tokens=1, repeats=9, cold=True))
        timings[f"decode/{fmt}"] = min(seconds) * 1000 / len(layers)
    with torch_threads(threads):
        for fmt in ("float32", "bfloat16"):
            timings[f"prefill/{fmt}"] = time_format(weights, fmt, tokens=PREFILL_TOKENS, repeats=3) * 1000 / len(layers)
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
