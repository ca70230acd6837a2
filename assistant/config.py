"""Effective configuration: defaults < TOML file < ASSISTANT_* environment < command-line flags.

Top-level keys are the options every command shares (model, adapter, index, ...). Front-ends keep
their own options in TOML tables (``[telegram]``, ``[tui]``, ...), read with ``Settings.section``.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import platformdirs

from .errors import ConfigError

ENV_PREFIX = "ASSISTANT_"
SECRET_WORDS = ("token", "key", "secret", "password")
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_index_dir() -> Path:
    """The checkout's ``index/`` when running from a clone, else one under the user's data folder."""
    checkout_index = PROJECT_ROOT / "index"
    if (checkout_index / "README.md").is_file():
        return checkout_index
    return Path(platformdirs.user_data_dir("assistant")) / "index"


@dataclass
class Settings:
    model: str = "smollm2-135m"
    # "auto": each skill uses its own default adapter; "none": the base model; NAME or a path: that one.
    adapter: str = "auto"
    index: Path = field(default_factory=default_index_dir)
    data_dir: Path = field(default_factory=lambda: Path(platformdirs.user_data_dir("assistant")))
    cache_dir: Path = field(default_factory=lambda: Path(platformdirs.user_cache_dir("assistant")))
    adapters_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "adapters")
    rerankers_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "rerankers")
    embedder: str = "all-minilm-l6-v2"
    backend: str = "local"
    base_url: str = ""
    # The name of the environment variable that holds the API key, never the key itself.
    api_key_env: str = "OPENAI_API_KEY"
    device: str = "auto"
    dtype: str = "auto"
    # The local decoder: "auto" (the fast path when it passes its self-check), "fast" or "generate".
    engine: str = "auto"
    context_window: int = 2048
    max_new_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 1.0
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Where each value came from, for `assistant config`.
    origins: dict[str, str] = field(default_factory=dict, repr=False)
    config_file: Path | None = None

    def section(self, name: str) -> dict[str, Any]:
        """A front-end's own TOML table, e.g. ``[telegram]``; empty when absent."""
        return dict(self.sections.get(name, {}))

    @property
    def history_db(self) -> Path:
        return self.data_dir / "history.sqlite3"

    def as_display(self) -> dict[str, tuple[Any, str]]:
        """Every effective value with its origin, secrets masked."""
        shown: dict[str, tuple[Any, str]] = {}
        for f in _option_fields():
            shown[f.name] = (getattr(self, f.name), self.origins.get(f.name, "default"))
        for name, table in self.sections.items():
            for key, value in table.items():
                shown[f"{name}.{key}"] = (mask(key, value), "file")
        return shown


def _option_fields() -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(Settings) if f.name not in ("sections", "origins", "config_file")]


def mask(key: str, value: Any) -> Any:
    """Hide a secret's value, keeping enough to recognise which one it is."""
    if value and any(word in key.lower() for word in SECRET_WORDS):
        text = str(value)
        return "****" + text[-4:] if len(text) > 12 else "****"
    return value


def _coerce(name: str, raw: Any) -> Any:
    hint = typing.get_type_hints(Settings)[name]
    try:
        if hint is Path or hint == Path:
            return Path(os.path.expanduser(str(raw)))
        if hint is int:
            return int(raw)
        if hint is float:
            return float(raw)
        return str(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} = {raw!r} is not a valid {hint.__name__}.") from None


def find_config_file(explicit: str | Path | None, env: Mapping[str, str]) -> Path | None:
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"Config file {path} does not exist.")
        return path
    if env.get(ENV_PREFIX + "CONFIG"):
        return find_config_file(env[ENV_PREFIX + "CONFIG"], {})
    for candidate in (Path.cwd() / "assistant.toml", Path(platformdirs.user_config_dir("assistant")) / "assistant.toml"):
        if candidate.is_file():
            return candidate
    return None


def load_settings(
    flags: Mapping[str, Any] | None = None,
    config_file: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Build the effective settings. ``flags`` holds command-line values; None means 'not given'."""
    env = os.environ if env is None else env
    settings = Settings()
    names = {f.name for f in _option_fields()}

    path = find_config_file(config_file, env)
    if path is not None:
        settings.config_file = path
        try:
            table = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise ConfigError(f"Config file {path} is not valid TOML: {error}") from None
        for key, value in table.items():
            key = key.replace("-", "_")
            if isinstance(value, dict):
                settings.sections[key] = value
            elif key in names:
                setattr(settings, key, _coerce(key, value))
                settings.origins[key] = f"file {path}"
            else:
                raise ConfigError(f"Unknown key {key!r} in {path}. Known keys: {', '.join(sorted(names))}.")

    for name in names:
        value = env.get(ENV_PREFIX + name.upper())
        if value not in (None, ""):
            setattr(settings, name, _coerce(name, value))
            settings.origins[name] = f"env {ENV_PREFIX}{name.upper()}"

    for name, value in (flags or {}).items():
        if value is not None and name in names:
            setattr(settings, name, _coerce(name, value))
            settings.origins[name] = "flag"
    return settings
