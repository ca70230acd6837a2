"""Effective configuration: defaults < TOML file < ASSISTANT_* environment < command-line flags.

Top-level keys are the options every command shares (model, adapter, index, ...). Parts keep their
own options in TOML tables (``[telegram]``, ``[qa]``, ...): each table is a dataclass, read from
``Settings.section`` with ``read_table``, so every table refuses unknown keys and bad values alike.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import platformdirs

from .errors import ConfigError

ENV_PREFIX = "ASSISTANT_"
SECRET_WORDS = ("token", "key", "secret", "password")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Field metadata of a table option that the file may not set (a secret, a path derived from --data-dir).
NOT_IN_FILE = {"in_file": False}

T = TypeVar("T")


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


def coerce(hint: Any, value: Any, where: str, expects: str = "") -> Any:
    """``value`` as the type ``hint`` names (bool, int, float, str, Path, frozenset[int], dict[str, str],
    ``X | None``); a ConfigError that names ``where`` and says what was expected when it is not one."""
    def refuse() -> ConfigError:
        wanted = expects or f"a valid {getattr(hint, '__name__', None) or str(hint)}"
        return ConfigError(f"{where} = {value!r} is not {wanted}.")

    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        return coerce(next(a for a in arguments if a is not type(None)), value, where, expects)
    try:
        if hint is Any:
            return value
        if hint is bool:
            if isinstance(value, str):
                return value.strip().lower() in ("1", "true", "yes", "on")
            return bool(value)
        if hint is Path:
            return Path(os.path.expanduser(str(value)))
        if hint in (int, float, str):
            return hint(value)
        if origin is frozenset:
            items = [value] if isinstance(value, (int, str)) else value
            return frozenset(coerce(arguments[0], item, where, expects) for item in items)
        if origin is dict:
            if not isinstance(value, dict):
                raise refuse()
            key_type, value_type = arguments
            return {coerce(key_type, k, where, expects): coerce(value_type, v, where, expects) for k, v in value.items()}
    except (TypeError, ValueError):
        raise refuse() from None
    raise TypeError(f"{where}: no reading for options of type {hint!r}")


def read_table(kind: type[T], name: str, table: Mapping[str, Any], **given: Any) -> T:
    """The dataclass ``kind`` from the TOML table ``[name]``: ``some-key`` and ``some_key`` alike, each value
    read as its field's type, an unknown key refused with its name. ``given`` are values not from the file."""
    hints = typing.get_type_hints(kind)
    fields = [f for f in dataclasses.fields(kind) if f.init and f.metadata.get("in_file", True)]  # type: ignore[arg-type]
    known = {f.name: f for f in fields}
    values = dict(given)
    for raw_key, value in table.items():
        key = raw_key.replace("-", "_")
        if key not in known:
            raise ConfigError(f"Unknown key {raw_key!r} under [{name}]. Known keys: {', '.join(known)}.")
        values[key] = coerce(hints[key], value, f"[{name}] {raw_key}", known[key].metadata.get("expects", ""))
    return kind(**values)


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
                setattr(settings, key, coerce(typing.get_type_hints(Settings)[key], value, key))
                settings.origins[key] = f"file {path}"
            else:
                raise ConfigError(f"Unknown key {key!r} in {path}. Known keys: {', '.join(sorted(names))}.")

    for name in names:
        value = env.get(ENV_PREFIX + name.upper())
        if value not in (None, ""):
            setattr(settings, name, coerce(typing.get_type_hints(Settings)[name], value, name))
            settings.origins[name] = f"env {ENV_PREFIX}{name.upper()}"

    for name, value in (flags or {}).items():
        if value is not None and name in names:
            setattr(settings, name, coerce(typing.get_type_hints(Settings)[name], value, name))
            settings.origins[name] = "flag"
    return settings
