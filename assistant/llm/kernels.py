"""The matmul formats the fast decoder can multiply a weight in, and how fast each is on this CPU.

Every format takes and returns float32 activations, so the rest of the model (norms, the residual
stream, rotary embeddings, attention) stays in float32 whatever the weights are stored in:

- ``float32``: the model's own weights (no copy), the reference;
- ``bfloat16``: a bfloat16 copy; fast where the CPU has native bfloat16, emulated (slow) elsewhere;
- ``int8``: weight-only int8 per output row;
- ``int4``: weight-only int4 in groups of 32 along the input (scale and zero per group), the layout
  of GGUF Q4_0/Q4_1, so the embedded model's weights come back almost exactly. A matrix whose row
  count the int4 kernel cannot pack falls back to int8, and one whose rows are not a multiple of 16
  long (INT8_COLUMNS) stays in float32.

The packed int4 layout depends on torch's CPU capability (AVX-512, AVX2 and the plain kernels each
pack differently), so packed weights must never move between machines or capabilities: the plan
cache is keyed by both (`plan.py`). The quantized kernels take bfloat16 activations: their float32
paths are not vectorised (50x slower here).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

FORMATS = ("int4", "int8", "bfloat16", "float32")
PACKED_VERSION = 4  # bump when a packed layout changes: cached packed weights are then made again
GROUP = 32  # int4 quantization group along the input dimension, as in GGUF Q4_0/Q4_1
INT4_ROWS = 16  # the int4 kernel packs this many output rows at a time
# torch's int8 kernel misreads rows of other lengths (garbage, or a crash, on AVX-512 for 4, 12, 20 or 24 columns,
# and 8 with several rows), as a LoRA side path of rank 4 or 24 has; multiples of 16 are read right on every capability.
INT8_COLUMNS = 16
EVICT_BYTES = 256 * 2**20  # written between cold timings: more than any CPU's last-level cache for one core

Packed = dict[str, torch.Tensor]


def pack(weight: torch.Tensor, fmt: str) -> Packed:
    """``weight`` (out x in) in format ``fmt``; "float32" keeps a reference to the tensor itself."""
    if fmt == "float32":
        return {"float32": weight if weight.dtype == torch.float32 else weight.float()}
    if fmt == "bfloat16":
        return {"bfloat16": weight.to(torch.bfloat16)}
    w = weight.float()
    out_features, in_features = w.shape
    if in_features % INT8_COLUMNS:  # small (a side path's second matrix): exact, and no kernel misreads it
        return {"float32": w}
    if fmt == "int8" or out_features % INT4_ROWS or in_features % GROUP:
        scale = w.abs().amax(1).clamp(min=1e-8) / 127
        return {"int8": (w / scale[:, None]).round().to(torch.int8), "scales": scale.to(torch.bfloat16)}
    groups = w.reshape(-1, GROUP)
    low, high = groups.amin(1, keepdim=True), groups.amax(1, keepdim=True)
    scale = (high - low).clamp(min=1e-8) / 15
    q = ((groups - low) / scale).round().clamp(0, 15).to(torch.int32).reshape(out_features, in_features)
    zero = low + 8 * scale  # the kernel computes (q - 8) * scale + zero
    scales = torch.stack([scale.view(out_features, -1), zero.view(out_features, -1)], 2).transpose(0, 1)
    return {"int4": torch.ops.aten._convert_weight_to_int4pack_for_cpu(q, 1), "scales": scales.contiguous().to(torch.bfloat16)}


def matmul(x: torch.Tensor, packed: Packed) -> torch.Tensor:
    """``x W^T`` in float32 for float32 ``x`` (tokens x in), whatever format W is packed in."""
    if "float32" in packed:
        return F.linear(x, packed["float32"])
    if "bfloat16" in packed:
        return F.linear(x.to(torch.bfloat16), packed["bfloat16"]).float()
    if "int4" in packed:
        return torch.ops.aten._weight_int4pack_mm_for_cpu(x.to(torch.bfloat16), packed["int4"], GROUP, packed["scales"]).float()
    return torch.ops.aten._weight_int8pack_mm(x.to(torch.bfloat16), packed["int8"], packed["scales"]).float()


def time_format(weights: list[torch.Tensor], fmt: str, tokens: int, repeats: int = 5, cold: bool = False) -> float:
    """Seconds to multiply ``tokens`` activations by every weight, packed in ``fmt``: the fastest of ``repeats``
    timings, since load on the machine only ever adds time and the plan made from these is kept (`plan.py`): a
    moment another process held the core must not decide it (on a busy 2-core machine the same matmuls timed 0.06 ms
    in one start and 50-80 ms in another).

    ``cold``: with the weights out of the CPU's caches, as each new token meets them (it reads the
    whole model, far more than the caches hold). One layer timed hot misleads: on a Zen 4 core int8
    took 0.22 ms a layer hot, like int4, but 0.58 ms a layer through the whole model, against int4's
    0.25 (it reads twice the bytes); timed cold, 0.68 against 0.37, the order the model shows.
    """
    packed = [pack(w, fmt) for w in weights]
    inputs = {w.shape[1]: torch.randn(tokens, w.shape[1], generator=torch.Generator().manual_seed(0)) for w in weights}
    evict = torch.zeros(EVICT_BYTES // 4) if cold else None
    return min(timed_seconds(lambda: [matmul(inputs[w.shape[1]], p) for w, p in zip(weights, packed)], repeats,
                             before=(lambda: evict.add_(1.0)) if evict is not None else None))


def timed_seconds(work: Callable[[], object], repeats: int, before: Callable[[], object] | None = None) -> list[float]:
    """Seconds of each of ``repeats`` calls of ``work`` after a warm-up; ``before`` runs ahead of each timed call,
    untimed."""
    with torch.inference_mode():
        work()  # warm-up: first calls allocate and pick kernels
        times = []
        for _ in range(repeats):
            if before is not None:
                before()
            started = time.perf_counter()
            work()
            times.append(time.perf_counter() - started)
    return times
