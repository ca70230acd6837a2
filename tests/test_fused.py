"""The fused kernels of a decoding pass compute what the torch ops they replace compute."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from assistant.llm import fused

GENERATOR = torch.Generator().manual_seed(0)


def randn(*shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=GENERATOR)


@pytest.mark.parametrize("rows", [1, 4])
def test_add_rms_norm_adds_the_residual_in_place_and_normalises(rows):
    x, delta, weight = randn(rows, 96), randn(rows, 96), randn(96)
    out = torch.empty(rows, 96)
    expected_x = x + delta
    fused.add_rms_norm(x.numpy(), delta.numpy(), weight.numpy(), 1e-5, out.numpy())
    torch.testing.assert_close(x, expected_x)
    torch.testing.assert_close(out, F.rms_norm(expected_x, (96,), weight, 1e-5))


def test_silu_mul_gates_the_up_half_by_the_silu_of_the_gate_half():
    gate_up, out = randn(3, 2 * 64) * 4, torch.empty(3, 64)
    fused.silu_mul(gate_up.numpy(), out.numpy())
    gate, up = gate_up.chunk(2, -1)
    torch.testing.assert_close(out, F.silu(gate) * up)


@pytest.mark.parametrize("start, rows", [(0, 1), (7, 1), (7, 4)])
def test_attend_rotates_fills_the_cache_and_attends_causally_with_grouped_heads(start, rows):
    heads, kv, dim, length = 6, 2, 16, 32
    half = dim // 2
    angles = torch.arange(length)[:, None] * (1e-2 ** (torch.arange(half) / half))[None]
    cos, sin = torch.cat([angles.cos()] * 2, -1), torch.cat([angles.sin()] * 2, -1)
    signed_sin = torch.cat([-sin[:, :half], sin[:, half:]], -1)
    cache = torch.zeros(2, kv, length, dim)
    cache[:, :, :start] = randn(2, kv, start, dim)  # what earlier passes left
    before = cache.clone()
    qkv = randn(rows, (heads + 2 * kv) * dim)
    out = torch.empty(rows, heads * dim)

    fused.attend(qkv.numpy(), cache.numpy(), start, cos.numpy(), signed_sin.numpy(), heads, dim**-0.5, out.numpy())

    end = start + rows
    c, s = cos[start:end, None], signed_sin[start:end, None]
    qk = qkv[:, : (heads + kv) * dim].view(rows, heads + kv, dim)
    qk = qk * c + qk.roll(half, -1) * s
    before[0, :, start:end] = qk[:, heads:].transpose(0, 1)
    before[1, :, start:end] = qkv[:, (heads + kv) * dim :].view(rows, kv, dim).transpose(0, 1)
    torch.testing.assert_close(cache, before)
    assert not cache[:, :, end:].any()  # nothing written past the pass
    mask = torch.arange(end)[None] <= torch.arange(start, end)[:, None]
    expected = F.scaled_dot_product_attention(
        qk[:, :heads].transpose(0, 1)[None], before[0, None, :, :end], before[1, None, :, :end],
        attn_mask=mask, enable_gqa=True,
    ).transpose(1, 2).reshape(rows, heads * dim)
    torch.testing.assert_close(out, expected)
    assert np.isfinite(out.numpy()).all()
