"""The bot's options: the ``[telegram]`` table of assistant.toml, overridden by command-line flags."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..errors import ConfigError

DEFAULT_API_URL = "https://api.telegram.org"
TELEGRAM_FILE_LIMIT_MB = 20  # what Telegram's own Bot API serves; a self-hosted server serves more


@dataclass
class BotConfig:
    allowed_users: frozenset[int] = frozenset()
    allowed_chats: frozenset[int] = frozenset()  # everyone in these chats (groups have negative ids)
    admins: frozenset[int] = frozenset()  # may use /index and add documents; always allowed
    allow_all: bool = False
    requests_per_minute: int = 10  # per user
    max_input_chars: int = 4096
    max_file_mb: float = TELEGRAM_FILE_LIMIT_MB
    stream_interval: float = 1.2  # seconds between updates of a streaming answer in a private chat
    # Telegram allows a bot about 20 messages a minute in a group, edits included.
    group_stream_interval: float = 3.0
    api_url: str = ""  # a self-hosted Bot API server, e.g. http://127.0.0.1:8081
    local_mode: bool = False  # that server runs with --local and shares its files with us
    webhook_url: str = ""  # empty: long polling
    listen: str = "127.0.0.1"
    port: int = 8443
    secret_token: str = field(default="", repr=False)
    uploads_dir: Path = Path("uploads")

    @property
    def restricted(self) -> bool:
        """Nobody is allowed in: no allowlist and no --allow-all."""
        return not (self.allow_all or self.allowed_users or self.allowed_chats or self.admins)

    @property
    def base_url(self) -> str:
        return _api_root(self.api_url) + "/bot"

    @property
    def base_file_url(self) -> str:
        return _api_root(self.api_url) + "/file/bot"

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)


def _api_root(url: str) -> str:
    root = (url or DEFAULT_API_URL).rstrip("/")
    return root[: -len("/bot")] if root.endswith("/bot") else root


_ID_LISTS = ("allowed_users", "allowed_chats", "admins")
_SCALARS = {f.name: f.type for f in dataclasses.fields(BotConfig)
            if f.name not in (*_ID_LISTS, "secret_token", "uploads_dir")}


def _ids(key: str, values: Any) -> frozenset[int]:
    if isinstance(values, (int, str)):
        values = [values]
    try:
        return frozenset(int(value) for value in values)
    except (TypeError, ValueError):
        raise ConfigError(f"[telegram] {key} must be a list of numeric Telegram ids, e.g. {key} = [123456789].") from None


def _scalar(key: str, value: Any) -> Any:
    kind = _SCALARS[key]
    try:
        if kind == "bool":
            if isinstance(value, str):
                return value.strip().lower() in ("1", "true", "yes", "on")
            return bool(value)
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"[telegram] {key} = {value!r} is not a valid {kind}.") from None


def load_bot_config(section: Mapping[str, Any], data_dir: Path, *, allow: Iterable[int] = (),
                    admin: Iterable[int] = (), overrides: Mapping[str, Any] | None = None) -> BotConfig:
    """``section`` is the ``[telegram]`` table; ``allow``/``admin`` add ids; ``overrides`` are flags (None: not given)."""
    config = BotConfig(uploads_dir=data_dir / "uploads")
    known = sorted((*_ID_LISTS, *_SCALARS))
    for raw_key, value in section.items():
        key = raw_key.replace("-", "_")
        if key in _ID_LISTS:
            setattr(config, key, _ids(key, value))
        elif key in _SCALARS:
            setattr(config, key, _scalar(key, value))
        else:
            raise ConfigError(f"Unknown key {raw_key!r} under [telegram]. Known keys: {', '.join(known)}.")
    config.allowed_users |= frozenset(allow)
    config.admins |= frozenset(admin)
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key == "secret_token":
            config.secret_token = str(value)
        else:
            setattr(config, key, _scalar(key, value))
    if config.requests_per_minute < 1 or config.max_input_chars < 1 or config.max_file_mb <= 0:
        raise ConfigError("[telegram] requests_per_minute, max_input_chars and max_file_mb must be positive.")
    if config.webhook_url and not config.webhook_url.startswith("https://"):
        raise ConfigError("The webhook URL must start with https:// (Telegram only calls HTTPS webhooks).")
    return config
