"""Choosing how the local backend decodes: the fast path with a measured plan, or transformers' generate().

``engine``: "auto" uses the fast path when the model is supported and its self-check agrees with
the reference, else generate(); "fast" uses the fast path even when the check disagrees (a
warning is logged); "generate" always uses generate(). The plan and the packed weights are cached
under ``CACHE/fast/``, keyed by the weights and by this CPU (`plan.py`), and every start checks
the plan on a couple of probes (`selfcheck.py`), so a cache that went bad cannot go unnoticed. A plan
timed while other processes took the CPU is timed again at the first start that finds it free (`busy.py`).
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import ConfigError
from ..files import staged
from ..torch_threads import torch_threads
from .busy import BUSY_CORES, OthersLoad, cores_taken_by_others
from .fast import FastDecoder, fused_weights, pack_projection, unsupported_reason
from .kernels import PACKED_VERSION, Packed
from .plan import CPU, EnginePlan, candidates, measure, this_cpu, timed_layers
from .selfcheck import PLAN_PROBES, STARTUP_PROBES, TARGET_TOP1, Agreement, compare, probe_sequences

log = logging.getLogger(__name__)

ENGINES = ("auto", "fast", "generate")


@dataclass(frozen=True)
class EngineChoice:
    decoder: FastDecoder | None  # None: transformers' generate()
    reason: str  # why, in words, for `assistant models` and the log

    @property
    def name(self) -> str:
        return "fast" if self.decoder is not None else "generate"


def check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise ConfigError(f"Unknown engine {engine!r}: use {', '.join(ENGINES)} (ASSISTANT_ENGINE or `engine` in assistant.toml).")


def choose_engine(model, tokenizer_encode, encode_chat, device: str, max_len: int, cache_dir: Path | None, engine: str) -> EngineChoice:
    """The decoder for ``model`` under the ``engine`` setting, with the reason for the choice."""
    check_engine(engine)
    if engine == "generate":
        return EngineChoice(None, "generate(): chosen by the engine setting")
    reason = unsupported_reason(model, device)
    if reason:
        if engine == "fast":
            log.warning("engine = fast, but the fast path does not support %s: using generate()", reason)
        return EngineChoice(None, f"generate(): the fast path does not support {reason}")
    started = time.perf_counter()
    sequences = probe_sequences(encode_chat, tokenizer_encode, PLAN_PROBES)
    planner = Planner(model, max_len, cache_dir, sequences)
    decoder = planner.cached() or planner.make()
    if decoder is None:
        if engine == "fast":
            decoder = planner.build(planner.fallback_plan)
            log.warning("engine = fast although no plan agrees with the float32 reference on this CPU: %s", planner.failures)
            return EngineChoice(decoder, f"fast, forced by the engine setting: {decoder.plan.describe()}")
        log.warning("the fast path disagrees with the reference on this CPU (%s): using generate()", planner.failures)
        return EngineChoice(None, f"generate(): the fast path failed its self-check on this CPU ({planner.failures})")
    log.info("fast path ready in %.1fs: %s", time.perf_counter() - started, decoder.plan.describe())
    return EngineChoice(decoder, f"fast: {decoder.plan.describe()}")


class Planner:
    """Finds, checks and caches the plan for one model on this CPU."""

    def __init__(self, model, max_len: int, cache_dir: Path | None, sequences: list[tuple[list[int], int]]) -> None:
        self.model, self.max_len, self.sequences = model, max_len, sequences
        self.cpu: CPU = this_cpu()
        folder = cache_dir / "fast" if cache_dir else None
        self.stem = folder / f"{_fingerprint(model)}-{self.cpu.key}" if folder else None
        self.weights = fused_weights(model)
        self.failures = ""
        self.fallback_plan: EnginePlan | None = None

    def _packed_path(self, fmt: str) -> Path | None:
        return self.stem.with_name(f"{self.stem.name}-{fmt}.safetensors") if self.stem else None

    def _plan_path(self) -> Path | None:
        return self.stem.with_name(f"{self.stem.name}.plan.json") if self.stem else None

    def cached(self) -> FastDecoder | None:
        """The cached plan, if it still passes the start-up check."""
        path = self._plan_path()
        plan = EnginePlan.load(path) if path and path.is_file() else None
        if plan is None:
            return None
        if plan.timed_while_busy and (now := cores_taken_by_others()) < BUSY_CORES:
            log.info("the engine plan was timed while other processes took %.1f cores of the CPU (%.1f now): timing the "
                     "formats again", plan.timed_busy, now)
            return None
        decoder = self.build(plan)
        agreement = self.check(decoder, self.sequences[:STARTUP_PROBES])
        if agreement.passed:
            return decoder
        log.warning("the cached engine plan (%s) no longer agrees with the reference (%s): planning again", plan.describe(), agreement.describe())
        return None

    def make(self) -> FastDecoder | None:
        """Time every format here, then keep the fastest plan that passes the check."""
        threads = torch.get_num_threads()
        layers: dict[str, list[torch.Tensor]] = {}  # "0" -> the weights of the first layer, in order
        for name, parts in self.weights.items():
            if (index := name.split(".")[0]).isdigit():
                layers.setdefault(index, []).extend(parts)
        with OthersLoad() as others:
            timings = measure(timed_layers(list(layers.values())), threads)
        log.info("timed the matmul formats on %s, other processes taking %.1f cores: %s", self.cpu.describe(), others.cores,
                 ", ".join(f"{k} {v:.2f} ms" for k, v in timings.items()))
        failures, passing = [], []
        for group in candidates(timings):  # the fastest group whose best plan reaches TARGET_TOP1 wins
            for prefill, decode in group:
                plan = EnginePlan(prefill=prefill, decode=decode, cpu=self.cpu.model, capability=self.cpu.capability,
                                  model=str(getattr(self.model.config, "_name_or_path", "")), timings_ms=timings,
                                  timed_busy=round(others.cores, 2))
                decoder = self.build(plan)
                agreement = self.check(decoder, self.sequences)
                log.info("plan: prompt in %s, tokens in %s: %s", prefill, decode, agreement.describe())
                if agreement.passed:
                    passing.append((agreement, decoder))
                else:
                    failures.append(f"{prefill}/{decode}: {agreement.describe()}")
                    self.fallback_plan = self.fallback_plan or plan
            accurate = [pair for pair in passing if pair[0].tied_top1 >= TARGET_TOP1]
            if accurate:
                return self._keep(*max(accurate, key=lambda pair: pair[0].rank()))
        if passing:  # none reached the target: the closest of those that pass
            return self._keep(*max(passing, key=lambda pair: pair[0].rank()))
        self.failures = "; ".join(failures)
        return None

    def _keep(self, agreement: Agreement, decoder: FastDecoder) -> FastDecoder:
        decoder.plan.agreement = agreement.as_dict()
        plan_path = self._plan_path()
        if plan_path is not None:
            decoder.plan.save(plan_path)
            self._remove_stale(decoder.plan.decode)
        return decoder

    def _remove_stale(self, kept_format: str) -> None:
        """Packed weights of the formats not chosen, and the cache files from before plans existed."""
        assert self.stem is not None
        keep = {self._plan_path(), self._packed_path(kept_format)}
        for path in self.stem.parent.glob("*.safetensors"):
            ours = path.name.startswith(self.stem.name)
            legacy = len(path.stem) == 16  # CACHE/fast/FINGERPRINT.safetensors, one format for every CPU
            if (ours or legacy) and path not in keep:
                path.unlink(missing_ok=True)

    def build(self, plan: EnginePlan | None) -> FastDecoder:
        assert plan is not None
        return FastDecoder(self.model, self.max_len, plan, self._decode_weights(plan.decode))

    def check(self, decoder: FastDecoder, sequences: list[tuple[list[int], int]]) -> Agreement:
        try:
            return compare(lambda ids: self.model(torch.tensor([ids])).logits[0], decoder.teacher_forced, sequences)
        finally:
            decoder.forget()

    def _decode_weights(self, fmt: str) -> dict[str, list[Packed]]:
        """Every projection in the decoding format; quantized formats are read from the cache or made once."""
        if fmt in ("float32", "bfloat16"):  # cheap to make, and float32 is the model's own tensors
            return {name: pack_projection(parts, fmt) for name, parts in self.weights.items()}
        from safetensors.torch import load_file, save_file

        path = self._packed_path(fmt)
        flat: dict[str, torch.Tensor] = {}
        if path is not None and path.is_file():
            try:
                flat = load_file(path)
            except Exception as error:  # a damaged cache file is rebuilt, never fatal
                log.warning("ignoring unreadable cache %s: %s", path, error)
        if not flat:
            # Many mid-sized ops: a second thread stalls them all on a busy CPU (8x here).
            with torch_threads(1), torch.inference_mode():
                for name, parts in self.weights.items():
                    for kind, tensor in pack_projection(parts, fmt)[0].items():
                        flat[f"{name}.{kind}"] = tensor
            if path is not None:
                with staged(path) as staging:
                    save_file(flat, staging)
        packed: dict[str, dict[str, torch.Tensor]] = {}
        for key, tensor in flat.items():
            name, kind = key.rsplit(".", 1)
            packed.setdefault(name, {})[kind] = tensor
        return {name: [p] for name, p in packed.items()}


def _fingerprint(model) -> str:
    """A cheap content hash: the config and a strided sample of every weight."""
    digest = hashlib.sha256(f"{PACKED_VERSION}|{model.config.to_json_string()}".encode())
    for name, tensor in model.state_dict().items():
        digest.update(name.encode() + tensor.detach().reshape(-1)[::251].float().numpy().tobytes())
    return digest.hexdigest()[:16]
