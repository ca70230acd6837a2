"""The bot's options: the ``[telegram]`` table of assistant.toml, overridden by command-line flags."""

from __future__ import annotations

import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import NOT_IN_FILE, coerce, read_table
from ..errors import ConfigError

DEFAULT_API_URL = "https://api.telegram.org"
TELEGRAM_FILE_LIMIT_MB = 20  # what Telegram's own Bot API serves; a self-hosted server serves more
IDS = {"expects": "a list of numeric Telegram ids, e.g. [123456789]"}


@dataclass
class BotConfig:
    allowed_users: frozenset[int] = field(default=frozenset(), metadata=IDS)
    allowed_chats: frozenset[int] = field(default=frozenset(), metadata=IDS)  # everyone in these chats (groups: < 0)
    admins: frozenset[int] = field(default=frozenset(), metadata=IDS)  # may use /index and add documents; always allowed
    allow_all: bool = False
    requests_per_minute: int = 10  # per user
    max_file_mb: float = TELEGRAM_FILE_LIMIT_MB
    stream_interval: float = 1.2  # seconds between updates of a streaming answer in a private chat
    # Telegram allows a bot about 20 messages a minute in a group, edits included.
    group_stream_interval: float = 3.0
    api_url: str = ""  # a self-hosted Bot API server, e.g. http://127.0.0.1:8081
    local_mode: bool = False  # that server runs with --local and shares its files with us
    webhook_url: str = ""  # empty: long polling
    listen: str = "127.0.0.1"
    port: int = 8443
    # The webhook secret comes from the environment or a flag, never the file; uploads go under --data-dir.
    secret_token: str = field(default="", repr=False, metadata=NOT_IN_FILE)
    uploads_dir: Path = field(default=Path("uploads"), metadata=NOT_IN_FILE)

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


def load_bot_config(section: Mapping[str, Any], data_dir: Path, *, allow: Iterable[int] = (),
                    admin: Iterable[int] = (), overrides: Mapping[str, Any] | None = None) -> BotConfig:
    """``section`` is the ``[telegram]`` table; ``allow``/``admin`` add ids; ``overrides`` are flags (None: not given)."""
    config = read_table(BotConfig, "telegram", section, uploads_dir=data_dir / "uploads")
    config.allowed_users |= frozenset(allow)
    config.admins |= frozenset(admin)
    hints = typing.get_type_hints(BotConfig)
    for key, value in (overrides or {}).items():
        if value is not None:
            setattr(config, key, coerce(hints[key], value, key))
    if config.requests_per_minute < 1 or config.max_file_mb <= 0:
        raise ConfigError("[telegram] requests_per_minute and max_file_mb must be positive.")
    if config.webhook_url and not config.webhook_url.startswith("https://"):
        raise ConfigError("The webhook URL must start with https:// (Telegram only calls HTTPS webhooks).")
    return config
