"""A fast CPU decode path for Llama-family models: the same maths as transformers, in fewer, cheaper steps.

For a small model, ``generate()`` spends much of each token in Python and tiny ops rather than in
the matmuls. Here the model is re-run in a page of torch, for one sequence at a time:

- decoding multiplies by weight-only int4 copies of the weights (groups of 32, the layout of the
  embedded Q4_1 GGUF, so its weights come back almost exactly), with q/k/v and gate/up fused;
- the output head is int4 too, and its 64 best candidates are then recomputed exactly;
- the prompt (many tokens at once) uses the model's own full-precision weights, faster there;
- a static KV cache, a plain sampling loop, and a measured choice of thread count (`ThreadChoice`);
- LoRA adapters run as a low-rank side path ``x A^T B^T``, so switching adapters per request
  costs nothing and "no adapter" is exactly the base.

The quantized copies are cached on disk, keyed by a fingerprint of the weights.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterator

import torch
import torch.nn.functional as F

from ..torch_threads import torch_threads

log = logging.getLogger(__name__)

ARCHITECTURES = ("llama", "mistral", "qwen2")
# fused projection -> (the block that holds its parts, the parts)
FUSED = {
    "qkv": ("self_attn", ("q_proj", "k_proj", "v_proj")),
    "o": ("self_attn", ("o_proj",)),
    "gate_up": ("mlp", ("gate_proj", "up_proj")),
    "down": ("mlp", ("down_proj",)),
}
GROUP = 32  # int4 quantization group along the input dimension, as in GGUF Q4_0/Q4_1
EXACT_CANDIDATES = 64  # output-head rows recomputed at full precision after the int4 pass
CACHE_VERSION = 1  # bump when the quantized format changes


def unsupported_reason(model, device: str) -> str | None:
    """Why the fast path cannot run this model, or None when it can."""
    config = model.config
    if device != "cpu":
        return f"device {device} (its kernels are CPU-only)"
    if config.model_type not in ARCHITECTURES:
        return f"architecture {config.model_type!r} (it knows {', '.join(ARCHITECTURES)})"
    if getattr(config, "hidden_act", "silu") != "silu" or getattr(config, "mlp_bias", False):
        return "a non-SwiGLU MLP"
    if getattr(config, "use_sliding_window", True) and getattr(config, "sliding_window", None):
        return "sliding-window attention"
    if config.hidden_size % GROUP or config.intermediate_size % GROUP:
        return f"layer sizes that are not multiples of {GROUP}"
    return None


def quantize(weight: torch.Tensor) -> dict[str, torch.Tensor]:
    """Weight-only int4 in groups (asymmetric: scale and zero per group), or int8 per row where int4 cannot."""
    out_features, in_features = weight.shape
    w = weight.float()
    if out_features % 16:  # the int4 kernel packs 16 output rows at a time
        scale = w.abs().amax(1).clamp(min=1e-8) / 127
        return {"int8": (w / scale[:, None]).round().to(torch.int8), "scales": scale.to(weight.dtype)}
    groups = w.reshape(-1, GROUP)
    low, high = groups.amin(1, keepdim=True), groups.amax(1, keepdim=True)
    scale = (high - low).clamp(min=1e-8) / 15
    q = ((groups - low) / scale).round().clamp(0, 15).to(torch.int32).reshape(out_features, in_features)
    zero = low + 8 * scale  # the kernel computes (q - 8) * scale + zero
    scales = torch.stack([scale.view(out_features, -1), zero.view(out_features, -1)], 2).transpose(0, 1)
    return {"int4": torch.ops.aten._convert_weight_to_int4pack_for_cpu(q, 1), "scales": scales.contiguous().to(weight.dtype)}


def quantized_matmul(x: torch.Tensor, q: dict[str, torch.Tensor]) -> torch.Tensor:
    if "int4" in q:
        return torch.ops.aten._weight_int4pack_mm_for_cpu(x, q["int4"], GROUP, q["scales"])
    return torch.ops.aten._weight_int8pack_mm(x, q["int8"], q["scales"])


class Linear:
    """``x W^T + b`` for W = the parts stacked, plus LoRA side paths keyed by adapter name."""

    def __init__(self, parts: list[torch.Tensor], bias: torch.Tensor | None, quantized: dict[str, torch.Tensor]) -> None:
        self.parts, self.bias, self.quantized = parts, bias, quantized  # parts: the model's own tensors, not copies
        self.sizes = [len(p) for p in parts]
        self.lora: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def __call__(self, x: torch.Tensor, adapter: str | None) -> torch.Tensor:
        if len(x) > 1:  # many tokens: compute-bound, where full-precision matmuls beat the int4 kernel
            y = torch.cat([F.linear(x, w) for w in self.parts], -1)
        else:
            y = quantized_matmul(x, self.quantized)
        if self.bias is not None:
            y = y + self.bias
        lora = self.lora.get(adapter) if adapter else None
        if lora is not None:
            a, b = lora
            y = y + F.linear(F.linear(x.to(a.dtype), a), b).to(y.dtype)
        return y


class FastDecoder:
    """The model's forward for one sequence with a static KV cache. Not thread-safe: callers hold a lock."""

    def __init__(self, model, max_len: int, cache_dir: Path | None = None) -> None:
        config, body = model.config, model.model
        self.heads = config.num_attention_heads
        self.kv_heads = getattr(config, "num_key_value_heads", None) or self.heads
        self.head_dim = getattr(config, "head_dim", None) or config.hidden_size // self.heads
        self.eps = config.rms_norm_eps
        self.dtype = model.dtype
        self.max_len = max_len
        self.embed = body.embed_tokens.weight.detach()
        self.head_weight = model.lm_head.weight.detach()
        self.norm = body.norm.weight.detach()
        self.layers = body.layers
        self.scaling = getattr(body.layers[0].self_attn, "scaling", None)
        quantized = load_quantized(model, cache_dir)
        self.head_quantized = quantized["head"]
        self.linears = [
            {
                name: Linear(
                    [getattr(getattr(layer, block), p).weight.detach() for p in parts],
                    _fused_bias([getattr(getattr(layer, block), p) for p in parts]),
                    quantized[f"{index}.{name}"],
                )
                for name, (block, parts) in FUSED.items()
            }
            for index, layer in enumerate(body.layers)
        ]
        positions = torch.arange(max_len)[None]
        cos, sin = body.rotary_emb(torch.zeros(1, dtype=torch.float32), positions)
        half = self.head_dim // 2
        # rotate_half(x) * sin == roll(x, half) * signed_sin: one op instead of four
        self.cos, self.signed_sin = cos[0].to(self.dtype), torch.cat([-sin[0, :, :half], sin[0, :, half:]], -1).to(self.dtype)
        self.cache: torch.Tensor | None = None  # [layers, 2, kv_heads, max_len, head_dim], allocated on first use
        self.adapters: set[str] = set()
        self.threads = ThreadChoice()

    # --- LoRA ------------------------------------------------------------------------------

    def add_adapter(self, name: str, peft_model) -> bool:
        """Take adapter ``name``'s LoRA weights from a peft model; False when they do not fit this path."""
        config = peft_model.peft_config[name]
        if config.modules_to_save or getattr(config, "trainable_token_indices", None) or config.use_dora or getattr(config, "lora_bias", False):
            log.info("adapter %s uses peft features beyond plain LoRA: it runs with generate()", name)
            return False
        found: dict[tuple[int, str], tuple[torch.Tensor, torch.Tensor]] = {}
        for path, module in peft_model.named_modules():
            if name not in getattr(module, "lora_A", {}) and name not in getattr(module, "lora_embedding_A", {}):
                continue
            match = re.search(r"layers\.(\d+)\.(?:self_attn|mlp)\.(\w+_proj)$", path)
            if not match or name not in getattr(module, "lora_A", {}):
                log.info("adapter %s changes %s, outside the fast path's projections: it runs with generate()", name, path)
                return False
            a, b = module.lora_A[name].weight.detach(), module.lora_B[name].weight.detach()
            found[int(match[1]), match[2]] = (a, b * module.scaling[name])
        for index, linears in enumerate(self.linears):
            for fused, (_, parts) in FUSED.items():
                pairs = [found.get((index, p)) for p in parts]
                if any(pairs):
                    linears[fused].lora[name] = _block_lora(pairs, linears[fused].sizes)
        self.adapters.add(name)
        return True

    # --- forward ---------------------------------------------------------------------------

    def forward(self, tokens: torch.Tensor, start: int, adapter: str | None) -> torch.Tensor:
        """Logits for the last of ``tokens``, which sit at positions start, start+1, ..."""
        count, end = len(tokens), start + len(tokens)
        if self.cache is None:
            shape = (len(self.linears), 2, self.kv_heads, self.max_len, self.head_dim)
            self.cache = torch.zeros(shape, dtype=self.dtype)
        cos, sin = self.cos[start:end, None], self.signed_sin[start:end, None]
        heads, kv, dim = self.heads, self.kv_heads, self.head_dim
        x = F.embedding(tokens, self.embed)
        for layer, linears, cache in zip(self.layers, self.linears, self.cache):
            h = F.rms_norm(x, (x.shape[-1],), layer.input_layernorm.weight, self.eps)
            qkv = linears["qkv"](h, adapter)
            qk = qkv[:, : (heads + kv) * dim].view(count, heads + kv, dim)
            qk = qk * cos + qk.roll(dim // 2, -1) * sin
            cache[0, :, start:end] = qk[:, heads:].transpose(0, 1)
            cache[1, :, start:end] = qkv[:, (heads + kv) * dim :].view(count, kv, dim).transpose(0, 1)
            q, keys, values = qk[:, :heads], cache[0, None, :, :end], cache[1, None, :, :end]
            if count == 1:  # each kv head's group of query heads as its query rows: no mask, no repeat
                y = F.scaled_dot_product_attention(q.view(1, kv, heads // kv, dim), keys, values, scale=self.scaling)
            else:  # prefill always starts at 0, where is_causal's top-left aligned mask is right
                y = F.scaled_dot_product_attention(
                    q.transpose(0, 1)[None], keys, values, is_causal=True, scale=self.scaling, enable_gqa=kv != heads
                ).transpose(1, 2)
            x = x + linears["o"](y.reshape(count, heads * dim), adapter)
            h = F.rms_norm(x, (x.shape[-1],), layer.post_attention_layernorm.weight, self.eps)
            gate, up = linears["gate_up"](h, adapter).chunk(2, -1)
            x = x + linears["down"](F.silu(gate) * up, adapter)
        h = F.rms_norm(x[-1:], (x.shape[-1],), self.norm, self.eps)
        logits = quantized_matmul(h, self.head_quantized)[0].float()
        best = logits.topk(min(EXACT_CANDIDATES, len(logits))).indices
        logits[best] = F.linear(h, self.head_weight[best])[0].float()
        return logits

    @torch.inference_mode()
    def generate(
        self,
        prompt: list[int],
        max_new_tokens: int,
        *,
        temperature: float = 0.0,
        top_p: float = 1.0,
        seed: int | None = None,
        adapter: str | None = None,
        eos: set[int] = frozenset(),
        cancel: threading.Event | None = None,
    ) -> Iterator[int]:
        """Yield new token ids (an end-of-sequence token included) until eos, the limit, or cancel."""
        if len(prompt) + max_new_tokens > self.max_len:
            raise ValueError(f"{len(prompt)} + {max_new_tokens} tokens do not fit the cache of {self.max_len}")
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        torch.set_num_threads(self.threads.chosen)
        try:
            logits = self.forward(torch.tensor(prompt), 0, adapter)
            last = len(prompt) + max_new_tokens - 1
            for position in range(len(prompt), last + 1):
                token = sample(logits, temperature, top_p, generator)
                yield token
                if token in eos or position == last or (cancel is not None and cancel.is_set()):
                    return
                threads = self.threads.next(position - len(prompt))
                torch.set_num_threads(threads)
                started = time.perf_counter()
                logits = self.forward(torch.tensor([token]), position, adapter)
                self.threads.timed(time.perf_counter() - started)
        finally:
            torch.set_num_threads(self.threads.most)


class ThreadChoice:
    """How many threads to decode with: all of torch's, or one, whichever was faster when last timed.

    A decoding step is a chain of ~300 small ops, each ending in a barrier. On an idle CPU a second
    thread helps; on a shared CPU, a thread that is not scheduled stalls every barrier (10x slower
    on a busy 2-core machine). So one step of each is timed, again every RETIME_S seconds.
    """

    RETIME_S = 60.0

    def __init__(self) -> None:
        self.most, self.chosen = torch.get_num_threads(), 1  # one is safe until timed
        self.retime_at = 0.0
        self.trial: dict[int, float] = {}
        self.trying: int | None = None

    def next(self, step: int) -> int:
        """Threads for decoding step ``step`` of a request (step 0 warms up after the prompt: not timed)."""
        self.trying = None
        if step > 0 and self.most > 1 and time.monotonic() >= self.retime_at:
            self.trying = 1 if 1 not in self.trial else self.most
        return self.trying or self.chosen

    def timed(self, seconds: float) -> None:
        if self.trying is not None:
            self.trial[self.trying] = seconds
            if len(self.trial) == 2:
                self.chosen = min(self.trial, key=self.trial.__getitem__)
                self.trial, self.retime_at = {}, time.monotonic() + self.RETIME_S
                log.debug("decoding with %d thread(s)", self.chosen)


def sample(logits: torch.Tensor, temperature: float, top_p: float, generator: torch.Generator | None) -> int:
    """Greedy at temperature 0; else sample from the smallest set of tokens holding top_p of the mass."""
    if temperature <= 0:
        return int(logits.argmax())
    probs = torch.softmax(logits / temperature, -1)
    if top_p < 1:
        sorted_probs, order = probs.sort(descending=True)
        keep = sorted_probs.cumsum(0) - sorted_probs < top_p  # the top token is always kept
        probs = torch.zeros_like(probs).index_copy_(0, order[keep], sorted_probs[keep])
    return int(torch.multinomial(probs, 1, generator=generator))


# --- helpers -----------------------------------------------------------------------------


def _fused_bias(modules: list) -> torch.Tensor | None:
    if all(m.bias is None for m in modules):
        return None
    return torch.cat([m.bias.detach() if m.bias is not None else m.weight.new_zeros(m.out_features) for m in modules])


def _block_lora(pairs: list, sizes: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """One (A, B) for a fused projection: A stacked, B block-diagonal (zero rows where a part has no LoRA)."""
    a = torch.cat([pair[0] for pair in pairs if pair is not None])
    b = torch.zeros(sum(sizes), len(a), dtype=a.dtype)
    row, col = 0, 0
    for pair, size in zip(pairs, sizes):
        if pair is not None:
            b[row : row + size, col : col + len(pair[0])] = pair[1].to(a.dtype)
            col += len(pair[0])
        row += size
    return a, b


def _weights_to_quantize(model) -> dict[str, torch.Tensor]:
    weights = {"head": model.lm_head.weight}
    for index, layer in enumerate(model.model.layers):
        for name, (block, parts) in FUSED.items():
            weights[f"{index}.{name}"] = torch.cat([getattr(getattr(layer, block), p).weight for p in parts])
    return weights


def _fingerprint(model) -> str:
    """A cheap content hash: the config and a strided sample of every weight."""
    digest = hashlib.sha256(f"{CACHE_VERSION}|{GROUP}|{model.config.to_json_string()}".encode())
    for name, tensor in model.state_dict().items():
        digest.update(name.encode() + tensor.detach().reshape(-1)[::251].float().numpy().tobytes())
    return digest.hexdigest()[:16]


def load_quantized(model, cache_dir: Path | None) -> dict[str, dict[str, torch.Tensor]]:
    """The quantized weights, from the cache when an earlier start made them for the same weights."""
    from safetensors.torch import load_file, save_file

    path = cache_dir / "fast" / f"{_fingerprint(model)}.safetensors" if cache_dir else None
    flat: dict[str, torch.Tensor] = {}
    if path is not None and path.is_file():
        try:
            flat = load_file(path)
        except Exception as error:  # a damaged cache file is rebuilt, never fatal
            log.warning("ignoring unreadable cache %s: %s", path, error)
    if not flat:
        # Many mid-sized ops: a second thread stalls them all on a busy CPU (8x here).
        with torch_threads(1), torch.inference_mode():
            flat = {f"{name}.{kind}": t for name, w in _weights_to_quantize(model).items() for kind, t in quantize(w).items()}
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, staging = tempfile.mkstemp(dir=path.parent, prefix=".quantize-")
            os.close(fd)
            try:
                save_file(flat, staging)
                os.replace(staging, path)
            finally:
                Path(staging).unlink(missing_ok=True)
    quantized: dict[str, dict[str, torch.Tensor]] = {}
    for key, tensor in flat.items():
        name, kind = key.rsplit(".", 1)
        quantized.setdefault(name, {})[kind] = tensor
    return quantized
