"""The small ops of a decoding pass, fused into loops that numba compiles for this CPU.

A decoding pass (one new token, or a few with prompt lookup) of a small model spends a third of its
time outside the matmuls: some twenty torch ops a layer (norms, rotary embeddings, cache writes,
attention, SiLU), each a dispatch whose code and data the matmul before it has pushed out of the
core's cache (docs/engine.md). Here they are three calls a layer, compiled by numba (LLVM, in
prebuilt wheels for x86 and ARM: no compiler on the user's machine) for the CPU it runs on, and
cached on disk after the first start.

Same maths as the torch path, in float32; only the order of sums differs (``reassoc`` lets LLVM
vectorize them), as it does between torch's own kernels on different CPUs. Single-threaded: the
matmuls keep torch's threads, and a second thread pool would fight them for the cores.
"""

from __future__ import annotations

from functools import partial

import numpy as np
from numba import njit

FASTMATH = {"reassoc", "contract"}  # vectorized sums; no "fast" exp or assumptions about infinities
jit = partial(njit, cache=True, nogil=True, fastmath=FASTMATH)
compiled = jit()

LOG2E, LN2_HIGH, LN2_LOW = np.float32(1.4426950408889634), np.float32(0.693359375), np.float32(-2.12194440e-4)


@jit(inline="always")
def exp(x):
    """e**x in float32 within 1.5 ulp (Cephes' expf: x = k ln 2 + r, a polynomial in r, 2**k from its bits),
    for x clamped to [-87, 88]. Written out because a loop that calls libm's expf is not vectorized:
    this one is, 8x faster, and softmax and SiLU spend most of their time in exp."""
    x = min(max(x, np.float32(-87.0)), np.float32(88.0))
    k = np.floor(x * LOG2E + np.float32(0.5))
    r = x - k * LN2_HIGH - k * LN2_LOW
    p = np.float32(1.9875691500e-4)
    p = p * r + np.float32(1.3981999507e-3)
    p = p * r + np.float32(8.3334519073e-3)
    p = p * r + np.float32(4.1665795894e-2)
    p = p * r + np.float32(1.6666665459e-1)
    p = p * r + np.float32(5.0000001201e-1)
    return (p * r * r + r + np.float32(1.0)) * np.int32((np.int32(k) + np.int32(127)) << 23).view(np.float32)


@compiled
def add_rms_norm(x, delta, weight, eps, out):
    """Per row: ``x += delta`` (the residual stream, in place), then ``out = rms_norm(x) * weight``."""
    rows, size = x.shape
    for r in range(rows):
        total = np.float32(0.0)
        for i in range(size):
            value = x[r, i] + delta[r, i]
            x[r, i] = value
            total += value * value
        scale = np.float32(1.0) / np.sqrt(total / np.float32(size) + np.float32(eps))
        for i in range(size):
            out[r, i] = weight[i] * (x[r, i] * scale)


@compiled
def silu_mul(gate_up, out):
    """Per row: ``out = silu(gate) * up`` for ``gate_up`` = [gate | up]."""
    rows, size = out.shape
    for r in range(rows):
        gate, up, row = gate_up[r, :size], gate_up[r, size:], out[r]
        for i in range(size):  # exp in a loop of its own: LLVM vectorizes this one (2.5x faster)
            row[i] = exp(-gate[i])
        for i in range(size):
            row[i] = gate[i] / (np.float32(1.0) + row[i]) * up[i]


@compiled
def attend(qkv, cache, start, cos, signed_sin, heads, scale, out):
    """Attention for rows at positions start, start+1, ... (each sees the positions up to its own).

    ``qkv``: rows x [q heads | k heads | v heads] of ``dim``; rotary embeddings go on q and k, and k and v
    into ``cache`` (2 x kv heads x positions x dim) at their positions. ``out``: rows x (heads * dim).
    """
    rows = qkv.shape[0]
    kv, dim = cache.shape[1], cache.shape[3]
    half, group = dim // 2, heads // kv
    q = np.empty((rows, heads, dim), np.float32)
    for r in range(rows):
        position = start + r
        for h in range(heads + kv):
            base = h * dim
            for d in range(dim):
                rotated = qkv[r, base + d] * cos[position, d] + qkv[r, base + (d + half) % dim] * signed_sin[position, d]
                if h < heads:
                    q[r, h, d] = rotated * scale
                else:
                    cache[0, h - heads, position, d] = rotated
        for h in range(kv):
            for d in range(dim):
                cache[1, h, position, d] = qkv[r, (heads + kv + h) * dim + d]
    end = start + rows
    # Row r sees positions up to start + r; every kv head's keys and values are read once for all rows.
    weights = np.empty((rows, group, end), np.float32)
    totals = np.empty((rows, group), np.float32)
    sums = np.empty((rows, group, dim), np.float32)
    for g in range(kv):
        keys, values = cache[0, g], cache[1, g]
        for t in range(end):
            for r in range(max(0, t - start), rows):
                for j in range(group):
                    dot = np.float32(0.0)
                    for d in range(dim):
                        dot += q[r, g * group + j, d] * keys[t, d]
                    weights[r, j, t] = dot
        for r in range(rows):
            seen = start + r + 1
            for j in range(group):
                scores = weights[r, j, :seen]
                best = scores.max()
                for t in range(seen):
                    scores[t] = exp(scores[t] - best)
                totals[r, j] = scores.sum()
        sums[:] = 0.0
        for t in range(end):
            for r in range(max(0, t - start), rows):
                for j in range(group):
                    weight = weights[r, j, t]
                    for d in range(dim):
                        sums[r, j, d] += weight * values[t, d]
        for r in range(rows):
            for j in range(group):
                for d in range(dim):
                    out[r, (g * group + j) * dim + d] = sums[r, j, d] / totals[r, j]
