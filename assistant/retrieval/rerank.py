"""Reranking passages with a cross-encoder: it reads the question and a passage together and gives the
probability that the passage answers the question, not only that it is about the same topic.

The shipped reranker (`rerankers/answer-ce/`, built by `scripts/train_answer_reranker.py`) is the
embedded all-MiniLM-L6-v2 trained as a cross-encoder. Its folder holds only the weights training
changed: those it kept frozen (the word embeddings and the lowest layers) are read from the embedded
model, so it is a fraction of the size of a full copy.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..errors import ModelError
from ..torch_threads import TORCH, torch_threads
from .base import Passage
from .embedder import resolve_embedder

log = logging.getLogger(__name__)

DEFAULT_RERANKER = "answer-ce"
MANIFEST = "reranker.json"
WEIGHTS = "model.safetensors"
PRECISIONS = ("auto", "float32", "bfloat16")
# Pairs per forward pass, shortest first: a question's passages run from 20 to 128 tokens, and a batch
# pads only to its own longest. Batches of 4 scored 20 passages in 500-565 ms of one (shared) EPYC core in float32,
# batches of 8 in 675 ms, one batch of 32 (padded to the longest) in 1,050 ms (bench/README.md).
BATCH_PAIRS = 4
WINDOW_OVERLAP = 32  # tokens a passage's windows share, so a sentence cut by one is whole in the next


class Reranker(Protocol):
    name: str

    def score(self, question: str, texts: Sequence[str]) -> list[float]:
        """For each text, the probability in [0, 1] that it answers the question."""
        ...


def passage_text(passage: Passage) -> str:
    """What the cross-encoder reads of a passage: its heading path, then its text (as in training)."""
    return under_heading(passage.title, passage.text)


def under_heading(title: str | None, text: str) -> str:
    """A text (a passage, or a sentence or row of one) as the cross-encoder reads it: under its heading path."""
    return f"{title}\n{text}" if title else text


def rerank(reranker: Reranker, question: str, passages: Sequence[Passage], weight: float = 1.0) -> list[Passage]:
    """The passages best first, each with the reranker's score as `relevance`.

    The order is by `weight` x the reranker's score + (1 - weight) x the retrieval's own score scaled to
    [0, 1] over these passages: 1.0 is the reranker alone; less keeps some of what the search knew
    (BM25's exact terms, the dense similarity), which the reranker, reading 128 tokens, may miss."""
    scores = reranker.score(question, [passage_text(p) for p in passages]) if passages else []
    low, high = min((p.score for p in passages), default=0.0), max((p.score for p in passages), default=0.0)
    retrieval = [(p.score - low) / (high - low) if high > low else 1.0 for p in passages]
    blended = [(weight * s + (1 - weight) * r, dataclasses.replace(p, relevance=float(s)))
               for p, s, r in zip(passages, scores, retrieval)]
    return [p for _, p in sorted(blended, key=lambda pair: -pair[0])]


@dataclass(frozen=True)
class RerankerInfo:
    """What `reranker.json` records: the base model the stored weights complete, and how to read inputs."""

    base: str  # an embedder name, e.g. all-minilm-l6-v2
    max_length: int
    shared: list[str] = dataclasses.field(default_factory=list)  # weights read from the base model (frozen in training)
    description: str = ""
    training: dict[str, Any] = dataclasses.field(default_factory=dict)


def cross_encoder(base: str, max_length: int):
    """A sentence-transformers CrossEncoder with one output, initialised from an embedder's weights."""
    import transformers
    from sentence_transformers import CrossEncoder

    transformers.utils.logging.disable_progress_bar()
    verbosity = transformers.logging.get_verbosity()
    # Expected here, so not shown: "classifier newly initialized" (transformers) and "Converting
    # SentenceTransformer model ... to CrossEncoder" (sentence-transformers, a warning on every load).
    transformers.logging.set_verbosity_error()
    loader_log = logging.getLogger("sentence_transformers.base.model")
    level = loader_log.level
    loader_log.setLevel(logging.ERROR)
    try:
        return CrossEncoder(resolve_embedder(base).location, num_labels=1, max_length=max_length, device="cpu")
    finally:
        transformers.logging.set_verbosity(verbosity)
        loader_log.setLevel(level)


def save_reranker(model, folder: Path, info: RerankerInfo) -> None:
    """The trained weights in float16, without the shared ones (`info.shared`), and `reranker.json`."""
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.detach().to(torch.float16).contiguous() for name, tensor in model.model.state_dict().items()
             if name not in info.shared and tensor.is_floating_point()}
    save_file(state, str(folder / WEIGHTS))
    (folder / MANIFEST).write_text(json.dumps(dataclasses.asdict(info), indent=1) + "\n", encoding="utf-8")


def bfloat16_hardware() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AVX512-BF16 or AMX)."""
    import torch

    checks = (getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))
    return any(check() for check in checks if check is not None)


def avx512_kernels() -> bool:
    """Whether torch runs its AVX-512 kernels here (not on a CPU without AVX-512, nor under ATEN_CPU_CAPABILITY=avx2)."""
    import torch

    return torch.backends.cpu.get_cpu_capability().startswith("AVX512")


def native_bfloat16() -> bool:
    """Whether bfloat16 is fast here: the hardware multiplies it and torch runs its AVX-512 kernels. Elsewhere oneDNN
    emulates it, which is no faster than float32."""
    return bfloat16_hardware() and avx512_kernels()


def bfloat16_attention_fails() -> bool:
    """Whether torch's bfloat16 attention fails here: it picks those kernels by the hardware but builds them per
    capability, and held below AVX-512 on a bfloat16 CPU they fail ("pack_vnni2 is only supported when avx512 ...")."""
    return bfloat16_hardware() and not avx512_kernels()


def checked_precision(precision: str) -> str:
    """A `[qa] reranker_precision` setting, lower-cased, or a clear error."""
    if precision.strip().lower() not in PRECISIONS:
        raise ModelError(f"Unknown reranker precision {precision!r}; set [qa] reranker_precision to one of {', '.join(PRECISIONS)}.")
    return precision.strip().lower()


def resolve_precision(precision: str) -> str:
    """float32 or bfloat16 for a `[qa] reranker_precision` setting: "auto" is bfloat16 where the CPU
    computes it natively (half the time, the same ranking: bench/README.md), else float32."""
    precision = checked_precision(precision)
    if precision == "auto":
        return "bfloat16" if native_bfloat16() else "float32"
    if precision == "bfloat16" and bfloat16_attention_fails():
        log.warning("bfloat16 attention fails on this CPU under torch's lower kernels (ATEN_CPU_CAPABILITY); the "
                    "reranker runs in float32")
        return "float32"
    return precision


class CrossEncoderReranker:
    def __init__(self, folder: Path, model, name: str, precision: str = "float32") -> None:
        self.folder = folder
        self.model = model
        self.name = name
        self.precision = precision  # float32 | bfloat16 (the weights stay float32; matrix products run in bfloat16)

    def score(self, question: str, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        return TORCH.run(self._score, question, texts)

    def _score(self, question: str, texts: Sequence[str]) -> list[float]:
        import torch

        tokenizer, network = self.model.tokenizer, self.model.model
        limit = self.model.max_seq_length
        if len(tokenizer(question)["input_ids"]) <= limit // 2:
            # A passage longer than the model reads is read in overlapping windows and scores its best
            # one: a chunk of 200 tokens would otherwise be judged by its first ~110 alone, and an
            # answer in its second half declined.
            encoded = tokenizer([question] * len(texts), list(texts), truncation="only_second", max_length=limit,
                                stride=WINDOW_OVERLAP, return_overflowing_tokens=True)
            owners = encoded.pop("overflow_to_sample_mapping")
        else:  # a question too long to share the window: both cut, as the model was trained
            encoded = tokenizer([question] * len(texts), list(texts), truncation=True, max_length=limit)
            owners = list(range(len(texts)))
        order = sorted(range(len(owners)), key=lambda i: len(encoded["input_ids"][i]))
        scores = [0.0] * len(texts)
        # Two threads at most: one question's passages gain little from more, and a busy machine loses a lot.
        with torch_threads(min(2, torch.get_num_threads())), torch.inference_mode(), \
                torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.precision == "bfloat16"):
            for start in range(0, len(order), BATCH_PAIRS):
                batch = order[start : start + BATCH_PAIRS]
                inputs = tokenizer.pad({key: [values[i] for i in batch] for key, values in encoded.items()}, return_tensors="pt")
                logits = network(**inputs).logits.float().reshape(-1)
                for i, probability in zip(batch, torch.sigmoid(logits).tolist()):
                    scores[owners[i]] = max(scores[owners[i]], probability)
        return scores


def resolve_reranker(spec: str | None, rerankers_dir: Path) -> Path | None:
    """The reranker folder a `[qa] reranker` setting names, or None for none.

    "auto" (the default): the shipped `answer-ce` in `rerankers_dir` when it is there; "none" or "": no
    reranker; a name: that folder in `rerankers_dir`; anything else: a folder path.
    """
    spec = (spec or "").strip()
    if spec.lower() in ("", "none", "off"):
        return None
    if spec.lower() == "auto":
        folder = rerankers_dir / DEFAULT_RERANKER
        return folder if (folder / MANIFEST).is_file() else None
    folder = rerankers_dir / spec if "/" not in spec and (rerankers_dir / spec).is_dir() else Path(spec).expanduser()
    if not (folder / MANIFEST).is_file():
        raise ModelError(f"No reranker at {folder} (it needs {MANIFEST} and {WEIGHTS}); set [qa] reranker to a reranker folder, or to none.")
    return folder.resolve()


_loaded: dict[tuple[Path, str], CrossEncoderReranker] = {}


def load_reranker(folder: Path, precision: str = "auto") -> CrossEncoderReranker:
    """The reranker in this folder, loaded once per process (and precision: see resolve_precision)."""
    precision = resolve_precision(precision)
    return TORCH.run(_load_once, folder, precision)


def _load_once(folder: Path, precision: str) -> CrossEncoderReranker:
    if (folder, precision) not in _loaded:  # no lock: only the torch thread comes here
        _loaded[folder, precision] = _load(folder, precision)
    return _loaded[folder, precision]


def _load(folder: Path, precision: str) -> CrossEncoderReranker:
    from safetensors.torch import load_file

    log.info("loading reranker %s (%s)", folder, precision)
    try:
        info = RerankerInfo(**json.loads((folder / MANIFEST).read_text(encoding="utf-8")))
        model = cross_encoder(info.base, info.max_length)
        state = {name: tensor.float() for name, tensor in load_file(str(folder / WEIGHTS)).items()}
        missing, unexpected = model.model.load_state_dict(state, strict=False)
    except Exception as error:  # a damaged folder: a missing file, a broken safetensors header, a bad manifest
        raise ModelError(f"Cannot load the reranker in {folder}: {error}") from error
    missing = [name for name in missing if name not in info.shared and not name.endswith("position_ids")]
    if missing or unexpected:
        raise ModelError(f"The reranker in {folder} does not fit its base model {info.base}: "
                         f"missing {missing[:3]}, unexpected {unexpected[:3]}.")
    model.model.eval()
    return CrossEncoderReranker(folder, model, folder.name, precision)


class LazyReranker:
    """The reranker in a folder, loaded at its first use (not when the assistant starts)."""

    def __init__(self, folder: Path, precision: str = "auto") -> None:
        self.folder = folder
        self.name = folder.name
        self.precision = checked_precision(precision)  # refused when the settings are read, not at the first question

    @classmethod
    def from_setting(cls, spec: str | None, rerankers_dir: Path, precision: str = "auto") -> LazyReranker | None:
        folder = resolve_reranker(spec, rerankers_dir)
        return cls(folder, precision) if folder else None

    def score(self, question: str, texts: Sequence[str]) -> list[float]:
        return load_reranker(self.folder, self.precision).score(question, texts)
