"""A fast CPU decode path for Llama-family models: the same maths as transformers, in fewer, cheaper steps.

For a small model, ``generate()`` spends much of each token in Python and tiny ops rather than in
the matmuls. Here the model is re-run in a page of torch, for one sequence at a time:

- norms, the residual stream, rotary embeddings and attention in float32, as transformers computes
  them in float32; only the matmuls change precision, in the formats the engine plan picked for
  this CPU (`plan.py`, `kernels.py`): one for the prompt, one for each new token;
- q/k/v and gate/up fused; the output head in the decoding format, with its 64 best candidates
  then recomputed exactly;
- in a decoding pass, everything between the matmuls in three compiled loops a layer (`fused.py`);
- a static KV cache whose prefix is kept between requests: a prompt that starts like the previous
  one (the same system prompt, the same conversation) only computes its new tokens;
- a plain sampling loop and a measured choice of thread count (`ThreadChoice`);
- LoRA adapters run as a low-rank side path ``x A^T B^T`` (for new tokens in the fastest per-row
  format this CPU has), so switching adapters per request costs nothing and "no adapter" is
  exactly the base.
"""

from __future__ import annotations

import logging
import math
import re
import statistics
import threading
import time
from collections.abc import Iterator, Set

import numpy as np
import torch
import torch.nn.functional as F

from . import fused
from .kernels import GROUP, Packed, matmul, pack
from .lookup import PromptLookup
from .plan import EnginePlan

log = logging.getLogger(__name__)

ARCHITECTURES = ("llama", "mistral", "qwen2")
# fused projection -> (the block that holds its parts, the parts)
FUSED = {
    "qkv": ("self_attn", ("q_proj", "k_proj", "v_proj")),
    "o": ("self_attn", ("o_proj",)),
    "gate_up": ("mlp", ("gate_proj", "up_proj")),
    "down": ("mlp", ("down_proj",)),
}
EXACT_CANDIDATES = 64  # output-head rows recomputed at full precision after the quantized pass
# Prompt lookup (greedy only): tokens guessed and checked in one pass at most. A pass's cost grows with its
# rows (the int4 kernel's, and attention's), and with the small ops fused, 1 decoded grounded-qa answers,
# base-model answers and summaries fastest of 0-4 (docs/engine.md).
DRAFT_TOKENS = 1


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


def fused_weights(model) -> dict[str, list[torch.Tensor]]:
    """"head" and "LAYER.PROJECTION" -> the model's own weight tensors that the projection stacks."""
    weights = {"head": [model.lm_head.weight.detach()]}
    for index, layer in enumerate(model.model.layers):
        for name, (block, parts) in FUSED.items():
            weights[f"{index}.{name}"] = [getattr(getattr(layer, block), p).weight.detach() for p in parts]
    return weights


def pack_projection(parts: list[torch.Tensor], fmt: str) -> list[Packed]:
    """float32 keeps the model's own tensors, one per part (no copy); other formats pack them stacked."""
    if fmt == "float32" and all(p.dtype == torch.float32 for p in parts):
        return [pack(p, fmt) for p in parts]
    return [pack(torch.cat(parts) if len(parts) > 1 else parts[0], fmt)]


def apply(x: torch.Tensor, packed: list[Packed]) -> torch.Tensor:
    if len(packed) == 1:
        return matmul(x, packed[0])
    return torch.cat([matmul(x, p) for p in packed], -1)


class Linear:
    """``x W^T + b`` for W = the parts stacked, plus LoRA side paths keyed by adapter name; float32 in and out."""

    def __init__(self, parts: list[torch.Tensor], prefill: list[Packed], decode: list[Packed], bias: torch.Tensor | None) -> None:
        self.prefill, self.decode, self.bias = prefill, decode, bias
        self.sizes = [len(p) for p in parts]
        # adapter -> packed (A, B): float32 for the prompt (exact), the side path format for new tokens
        self.lora_prompt: dict[str, tuple[Packed, Packed]] = {}
        self.lora_decode: dict[str, tuple[Packed, Packed]] = {}

    def add_lora(self, name: str, a: torch.Tensor, b: torch.Tensor, decode_format: str) -> None:
        self.lora_prompt[name] = pack(a, "float32"), pack(b, "float32")
        self.lora_decode[name] = pack(a, decode_format), pack(b, decode_format)

    def __call__(self, x: torch.Tensor, adapter: str | None, prompt: bool) -> torch.Tensor:
        y = apply(x, self.prefill if prompt else self.decode)
        if self.bias is not None:
            y = y + self.bias
        lora = (self.lora_prompt if prompt else self.lora_decode).get(adapter) if adapter else None
        if lora is not None:
            a, b = lora
            y = y + matmul(matmul(x, a), b)
        return y


def side_path_format(plan: EnginePlan) -> str:
    """The format of the LoRA side paths for new tokens: the fastest per-row format on this CPU, as
    the plan timed them. Read in float32, a rank-64 adapter's side paths move more bytes a token than
    the model's int4 weights (decoding ran at 0.46x the base model's speed); int4's groups of 32
    would blur a small update, so it is not a candidate."""
    timings = plan.timings_ms
    return min(("float32", "bfloat16", "int8"), key=lambda fmt: timings.get(f"decode/{fmt}", math.inf))


class FastDecoder:
    """The model's forward for one sequence with a static KV cache. Not thread-safe: callers hold a lock.

    ``decode``: "NAME" -> packed weights in ``plan.decode``'s format (made by `engine.py`, which caches them).
    """

    def __init__(self, model, max_len: int, plan: EnginePlan, decode: dict[str, list[Packed]]) -> None:
        config, body = model.config, model.model
        self.plan = plan
        self.heads = config.num_attention_heads
        self.kv_heads = getattr(config, "num_key_value_heads", None) or self.heads
        self.head_dim = getattr(config, "head_dim", None) or config.hidden_size // self.heads
        self.eps = config.rms_norm_eps
        self.intermediate = config.intermediate_size
        self.max_len = max_len
        self.embed = body.embed_tokens.weight.detach()
        self.head_weight = model.lm_head.weight.detach()
        self.head = decode["head"]
        self.norm = body.norm.weight.detach().float()
        self.layer_norms = [
            (layer.input_layernorm.weight.detach().float(), layer.post_attention_layernorm.weight.detach().float())
            for layer in body.layers
        ]
        self.scaling = getattr(body.layers[0].self_attn, "scaling", None)
        # numpy views (shared memory) of what the fused kernels of a decoding pass read
        self.fused_norms = [(a.numpy(), b.numpy()) for a, b in self.layer_norms]
        self.fused_cache: list[np.ndarray] = []
        weights = fused_weights(model)
        self.linears = [
            {
                name: Linear(
                    weights[f"{index}.{name}"],
                    pack_projection(weights[f"{index}.{name}"], plan.prefill),
                    decode[f"{index}.{name}"],
                    _fused_bias([getattr(getattr(layer, block), p) for p in parts]),
                )
                for name, (block, parts) in FUSED.items()
            }
            for index, layer in enumerate(body.layers)
        ]
        positions = torch.arange(max_len)[None]
        cos, sin = body.rotary_emb(torch.zeros(1, dtype=torch.float32), positions)
        half = self.head_dim // 2
        # rotate_half(x) * sin == roll(x, half) * signed_sin: one op instead of four
        self.cos, self.signed_sin = cos[0].float().contiguous(), torch.cat([-sin[0, :, :half], sin[0, :, half:]], -1).float()
        self.cache: torch.Tensor | None = None  # see kv_cache()
        # The prompt tokens whose keys and values the cache holds, from position 0. Generated tokens are
        # not kept: their keys and values came from the decoding format, and a later prompt that holds
        # them must get the logits a fresh prompt pass would give.
        self.cached: list[int] = []
        self.cached_adapter: str | None = None  # ... computed with this adapter
        self.adapters: set[str] = set()
        self.threads = ThreadChoice()
        self.draft_tokens = DRAFT_TOKENS  # 0: one token a step, no prompt lookup (benchmarks compare)

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
            a, b = module.lora_A[name].weight.detach().float(), module.lora_B[name].weight.detach().float()
            found[int(match[1]), match[2]] = (a, b * module.scaling[name])
        decode_format = side_path_format(self.plan)
        for index, linears in enumerate(self.linears):
            for projection, (_, parts) in FUSED.items():
                pairs = [found.get((index, p)) for p in parts]
                if any(pairs):
                    linears[projection].add_lora(name, *_block_lora(pairs, linears[projection].sizes), decode_format)
        self.adapters.add(name)
        if self.cached_adapter == name:
            self.forget()
        return True

    # --- forward ---------------------------------------------------------------------------

    def forget(self) -> None:
        """Drop the kept prompt prefix (the cache's contents no longer match ``cached``)."""
        self.cached, self.cached_adapter = [], None

    def kv_cache(self) -> torch.Tensor:
        """The KV cache, allocated on first use: [layers, 2, kv_heads, max_len, head_dim]."""
        if self.cache is None:
            shape = (len(self.linears), 2, self.kv_heads, self.max_len, self.head_dim)
            self.cache = torch.zeros(shape, dtype=torch.float32)
            self.fused_cache = [layer.numpy() for layer in self.cache]  # the same memory, for fused.py
        return self.cache

    def fused_kv_cache(self) -> list[np.ndarray]:
        """The KV cache's layers as numpy arrays sharing its memory, for fused.py's kernels."""
        self.kv_cache()  # allocates the cache and these views on first use
        return self.fused_cache

    def forward(self, tokens: torch.Tensor, start: int, adapter: str | None, prompt: bool | None = None,
                every: bool = False) -> torch.Tensor:
        """Float32 logits for the last of ``tokens``, which sit at positions start, start+1, ...; with
        ``every``, for each of them (a row per token).

        The cache must hold the keys and values of positions 0..start-1 (for this adapter). ``prompt``:
        a prompt pass (the prompt's matmul format, torch ops) rather than a decoding pass (the decoding
        format, fused kernels); default: when there is more than one token. A prompt whose only new
        token follows a kept prefix is still a prompt, so that it gets the same logits.
        """
        prompt = len(tokens) > 1 if prompt is None else prompt
        h = self._prompt_pass(tokens, start, adapter) if prompt else self._decoding_pass(tokens, start, adapter)
        h = h if every else h[-1:]
        logits = apply(h, self.head)
        if "float32" not in self.head[0]:
            for row, best in enumerate(logits.topk(min(EXACT_CANDIDATES, logits.shape[-1])).indices):
                logits[row, best] = F.linear(h[row : row + 1], self.head_weight[best].float())[0]
        return logits if every else logits[0]

    def _prompt_pass(self, tokens: torch.Tensor, start: int, adapter: str | None) -> torch.Tensor:
        """The final norm's output for each token of a prompt: torch ops, whose attention and large
        matmuls are what many tokens need."""
        count, end = len(tokens), start + len(tokens)
        cos, sin = self.cos[start:end, None], self.signed_sin[start:end, None]
        heads, kv, dim = self.heads, self.kv_heads, self.head_dim
        mask = None
        if count > 1 and start > 0:  # a prompt after a kept prefix: each token sees the prefix and its past
            mask = torch.arange(end)[None] <= torch.arange(start, end)[:, None]
        x = F.embedding(tokens, self.embed).float()
        for (norm1, norm2), linears, cache in zip(self.layer_norms, self.linears, self.kv_cache()):
            h = F.rms_norm(x, (x.shape[-1],), norm1, self.eps)
            qkv = linears["qkv"](h, adapter, True)
            qk = qkv[:, : (heads + kv) * dim].view(count, heads + kv, dim)
            qk = qk * cos + qk.roll(dim // 2, -1) * sin
            cache[0, :, start:end] = qk[:, heads:].transpose(0, 1)
            cache[1, :, start:end] = qkv[:, (heads + kv) * dim :].view(count, kv, dim).transpose(0, 1)
            q, keys, values = qk[:, :heads], cache[0, None, :, :end], cache[1, None, :, :end]
            if count == 1:  # each kv head's group of query heads as its query rows: no mask, no repeat
                y = F.scaled_dot_product_attention(q.view(1, kv, heads // kv, dim), keys, values, scale=self.scaling)
            else:
                y = F.scaled_dot_product_attention(
                    q.transpose(0, 1)[None], keys, values, attn_mask=mask, is_causal=mask is None,
                    scale=self.scaling, enable_gqa=kv != heads,
                ).transpose(1, 2)
            x = x + linears["o"](y.reshape(count, heads * dim), adapter, True)
            h = F.rms_norm(x, (x.shape[-1],), norm2, self.eps)
            gate, up = linears["gate_up"](h, adapter, True).chunk(2, -1)
            x = x + linears["down"](F.silu(gate) * up, adapter, True)
        return F.rms_norm(x, (x.shape[-1],), self.norm, self.eps)

    def _decoding_pass(self, tokens: torch.Tensor, start: int, adapter: str | None) -> torch.Tensor:
        """The final norm's output for each token of a decoding pass (a new token, or a few checked at
        once): the matmuls in torch, everything between them in three fused kernels a layer (`fused.py`)."""
        count, dim = len(tokens), self.head_dim
        x = F.embedding(tokens, self.embed).float()
        h, y, gated = torch.empty_like(x), torch.empty(count, self.heads * dim), torch.empty(count, self.intermediate)
        xs, hs, ys, gs = x.numpy(), h.numpy(), y.numpy(), gated.numpy()
        delta = np.zeros_like(xs)
        cos, sin = self.cos.numpy(), self.signed_sin.numpy()
        scale = self.scaling if self.scaling is not None else dim**-0.5
        for (norm1, norm2), linears, cache in zip(self.fused_norms, self.linears, self.fused_kv_cache()):
            fused.add_rms_norm(xs, delta, norm1, self.eps, hs)
            fused.attend(linears["qkv"](h, adapter, False).numpy(), cache, start, cos, sin, self.heads, scale, ys)
            fused.add_rms_norm(xs, linears["o"](y, adapter, False).numpy(), norm2, self.eps, hs)
            fused.silu_mul(linears["gate_up"](h, adapter, False).numpy(), gs)
            delta = linears["down"](gated, adapter, False).numpy()
        fused.add_rms_norm(xs, delta, self.norm.numpy(), self.eps, hs)
        return h

    def teacher_forced(self, ids: list[int], start: int, every: bool) -> torch.Tensor:
        """``selfcheck.compare``'s fast path, no adapter: a prompt's logits after its last token (the prompt's
        format), or a decoding pass's logits after each of its tokens (the decoding format)."""
        return self.forward(torch.tensor(ids), start, None, prompt=not every, every=every)

    def prefill(self, prompt: list[int], adapter: str | None) -> torch.Tensor:
        """Logits after ``prompt``, computing only what follows the prefix the cache already holds.

        The last token always gets a pass of its own, as it does after a kept prefix: a pass over
        many tokens rounds differently from a pass over one (another matmul kernel), and decoding
        amplifies that, so without it the same seeded request gave another reply the second time."""
        kept = 0
        if adapter == self.cached_adapter:
            limit = min(len(self.cached), len(prompt) - 1)
            while kept < limit and self.cached[kept] == prompt[kept]:
                kept += 1
        self.cached = self.cached[:kept]
        last = len(prompt) - 1
        if kept < last:
            self._prompt_pass(torch.tensor(prompt[kept:last]), kept, adapter)
        logits = self.forward(torch.tensor(prompt[last:]), last, adapter, prompt=True)
        self.cached, self.cached_adapter = list(prompt), adapter
        if kept:
            log.debug("kept %d of %d prompt tokens from the previous request", kept, len(prompt))
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
        eos: Set[int] = frozenset(),
        cancel: threading.Event | None = None,
    ) -> Iterator[int]:
        """Yield new token ids (an end-of-sequence token included) until eos, the limit, or cancel."""
        if len(prompt) + max_new_tokens > self.max_len:
            raise ValueError(f"{len(prompt)} + {max_new_tokens} tokens do not fit the cache of {self.max_len}")
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        drafting = temperature <= 0 and self.draft_tokens > 0  # drafts are checked greedily
        lookup = PromptLookup(prompt if drafting else ())  # sampling never drafts: no prompt to index
        last = len(prompt) + max_new_tokens - 1

        def ends(token: int, position: int) -> bool:
            return token in eos or position == last or (cancel is not None and cancel.is_set())

        try:
            logits = self.prefill(prompt, adapter)
            position = len(prompt)
            while True:
                token = sample(logits, temperature, top_p, generator)
                yield token
                if ends(token, position):
                    return
                threads = self.threads.next(position - len(prompt))
                torch.set_num_threads(threads)
                lookup.append(token)
                # A step timed for the thread choice must be one token.
                draft = lookup.draft(min(self.draft_tokens, last - position)) if drafting and self.threads.trying is None else []
                started = time.perf_counter()
                if not draft:
                    logits = self.forward(torch.tensor([token]), position, adapter)
                    self.threads.timed(time.perf_counter() - started)
                    position += 1
                    continue
                # One pass checks the draft: row i predicts what follows draft[:i]; it holds while the model agrees.
                rows = self.forward(torch.tensor([token, *draft]), position, adapter, prompt=False, every=True)
                position += 1
                for guess, predicted in zip(draft, rows[:-1]):
                    if int(predicted.argmax()) != guess:
                        logits = predicted
                        break
                    yield guess
                    if ends(guess, position):
                        return
                    lookup.append(guess)
                    position += 1
                else:
                    logits = rows[-1]
        except BaseException:
            self.forget()  # a forward cut short may have left the cache half written
            raise
        finally:
            torch.set_num_threads(self.threads.most)


class ThreadChoice:
    """How many threads to decode with: all of torch's, or one, whichever was faster when last timed.

    A decoding step is a chain of ~300 small ops, each ending in a barrier. On an idle CPU a second
    thread helps (88 against 65 tokens/s on a quiet 2-core EPYC, bench/decode_threads.py); on a
    shared CPU, a thread that is not scheduled stalls every barrier (10x slower on a busy 2-core
    machine). So a few steps of each are timed, again every RETIME_S seconds. The first step after a
    switch is not counted: it pays for waking (or parking) the other threads, and counting it made
    one thread look faster on an idle machine.
    """

    RETIME_S = 60.0
    STEPS = 4  # per thread count in a trial: one to settle, the median of the rest counts

    def __init__(self) -> None:
        self.most, self.chosen = torch.get_num_threads(), 1  # one is safe until timed
        self.retime_at = 0.0
        self.pending: list[int] = []  # the thread counts of the trial's steps still to run
        self.trial: dict[int, list[float]] = {}
        self.trying: int | None = None

    def next(self, step: int) -> int:
        """Threads for decoding step ``step`` of a request (step 0 warms up after the prompt: not timed)."""
        self.trying = None
        if step > 0 and self.most > 1:
            if not self.pending and time.monotonic() >= self.retime_at:
                self.pending = [1] * self.STEPS + [self.most] * self.STEPS
                self.trial = {1: [], self.most: []}
            if self.pending:
                self.trying = self.pending.pop(0)
        return self.trying or self.chosen

    def fix(self, threads: int) -> None:
        """Decode with ``threads`` from now on, never timed again (benchmarks compare thread counts)."""
        self.chosen, self.retime_at, self.pending = threads, float("inf"), []

    def timed(self, seconds: float) -> None:
        if self.trying is None:
            return
        self.trial[self.trying].append(seconds)
        if not self.pending:
            medians = {threads: statistics.median(times[1:]) for threads, times in self.trial.items()}
            self.chosen = min(medians, key=medians.__getitem__)
            self.retime_at = time.monotonic() + self.RETIME_S
            log.debug("decoding with %d thread(s): median step %s", self.chosen, {n: f"{t * 1000:.1f} ms" for n, t in medians.items()})


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
    return torch.cat([m.bias.detach() if m.bias is not None else m.weight.new_zeros(m.out_features) for m in modules]).float()


def _block_lora(pairs: list, sizes: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """One (A, B) for a fused projection: A stacked, B block-diagonal (zero rows where a part has no LoRA)."""
    a = torch.cat([pair[0] for pair in pairs if pair is not None])
    b = torch.zeros(sum(sizes), len(a), dtype=a.dtype)
    row, col = 0, 0
    for pair, size in zip(pairs, sizes):
        if pair is not None:
            b[row : row + size, col : col + len(pair[0])] = pair[1]
            col += len(pair[0])
        row += size
    return a, b
