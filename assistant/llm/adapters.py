"""LoRA adapters on disk: finding them by name or path, and checking they fit the base model."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import AdapterError
from ..files import sha256_file
from .models import ModelSource

CONFIG_FILE = "adapter_config.json"
WEIGHT_FILES = ("adapter_model.safetensors", "adapter_model.bin")


def weights_sha256(path: Path) -> str | None:
    """sha256 of the adapter folder's weights file (None when it has none): which weights, whatever the folder's name."""
    weights = next((path / name for name in WEIGHT_FILES if (path / name).is_file()), None)
    return sha256_file(weights) if weights else None


@dataclass(frozen=True)
class AdapterInfo:
    name: str
    path: Path
    base_model: str
    rank: int | None
    target_modules: list[str]

    @property
    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.iterdir() if p.is_file())


def adapter_path(name_or_path: str, adapters_dir: Path) -> Path:
    candidate = Path(name_or_path).expanduser()
    if "/" in name_or_path or candidate.is_absolute() or name_or_path.startswith("."):
        return candidate
    return adapters_dir / name_or_path


def read_adapter(name_or_path: str, adapters_dir: Path) -> AdapterInfo:
    """Read an adapter's config, or explain what is missing or broken."""
    path = adapter_path(name_or_path, adapters_dir)
    if not path.is_dir():
        known = ", ".join(a.name for a in list_adapters(adapters_dir)) or "none"
        raise AdapterError(f"Adapter {name_or_path!r} not found at {path}. Known adapters: {known}.")
    try:
        config = json.loads((path / CONFIG_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AdapterError(f"Adapter {path} is incomplete: it has no {CONFIG_FILE}. Retrain it or remove the folder.") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise AdapterError(f"Adapter {path} is corrupt: {CONFIG_FILE} is not valid JSON ({error}).") from None
    if not isinstance(config, dict) or config.get("peft_type", "LORA") != "LORA":
        raise AdapterError(f"Adapter {path} is not a LoRA adapter.")
    if not any((path / w).is_file() for w in WEIGHT_FILES):
        raise AdapterError(f"Adapter {path} is incomplete: it has no weights ({WEIGHT_FILES[0]}).")
    modules = config.get("target_modules") or []
    return AdapterInfo(
        name=path.name,
        path=path,
        base_model=str(config.get("base_model_name_or_path") or ""),
        rank=config.get("r"),
        target_modules=sorted(modules) if isinstance(modules, list) else [str(modules)],
    )


def check_base(info: AdapterInfo, source: ModelSource) -> None:
    if info.base_model and not source.matches(info.base_model):
        raise AdapterError(
            f"Adapter {info.name!r} was trained for {info.base_model}, not for {source.spec} ({source.base_id}). "
            f"Use it with --model {info.base_model}, or train one for this model with `assistant train`."
        )


def list_adapters(adapters_dir: Path) -> list[AdapterInfo]:
    if not adapters_dir.is_dir():
        return []
    found = []
    for folder in sorted(p for p in adapters_dir.iterdir() if (p / CONFIG_FILE).is_file()):
        try:
            found.append(read_adapter(str(folder), adapters_dir))
        except AdapterError:
            continue
    return found
