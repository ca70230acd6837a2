"""Logging for the operator: a rotating file under the data folder, and stderr for warnings.

Secrets (the bot token, API keys) are masked in every record, whoever logs them: HTTP client
libraries put the Telegram token in request URLs.
"""

from __future__ import annotations

import functools
import logging
import logging.handlers
import os
import re
from pathlib import Path

SECRET_ENV_VARS = ("TELEGRAM_BOT_TOKEN", "OPENAI_API_KEY", "ASSISTANT_API_KEY", "TELEGRAM_WEBHOOK_SECRET")
_extra_secrets: set[str] = set()
FILE_ONLY_LOGGERS = ("py.warnings", "pypdf")


def add_secret(value: str) -> None:
    """Mask this value in every log record from now on."""
    if value and len(value) >= 6:
        _extra_secrets.add(value)


def _secrets() -> tuple[str, ...]:
    found = {os.environ.get(name, "") for name in SECRET_ENV_VARS} | _extra_secrets
    return tuple(sorted((s for s in found if len(s) >= 6), key=len, reverse=True))


def _spellings(char: str) -> str:
    """A pattern for one character of a secret as it may appear: itself, or percent-encoded in either
    case (URLs carry the bot token with its colon as %3A, and a library may encode any character)."""
    escaped = "".join(f"%{byte:02x}" for byte in char.encode("utf-8"))
    return f"(?:{re.escape(char)}|(?i:{re.escape(escaped)}))"


@functools.lru_cache(maxsize=8)
def _pattern(secrets: tuple[str, ...]) -> re.Pattern[str] | None:
    """One pattern matching every secret in every spelling, longest first."""
    if not secrets:
        return None
    return re.compile("|".join("".join(map(_spellings, secret)) for secret in secrets))


def redact(text: str) -> str:
    """The text with every secret, plain or URL-encoded, replaced by ****."""
    pattern = _pattern(_secrets())
    return pattern.sub("****", text) if pattern is not None and text else text


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _pattern(_secrets()) is None:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = redact(message), None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class ConsoleFormatter(logging.Formatter):
    """One line per record on the console: tracebacks belong in the log file."""

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text
        record.exc_info, record.exc_text = None, None
        try:
            return super().format(record)
        finally:
            record.exc_info, record.exc_text = saved


class NotFileOnly(logging.Filter):
    """Drops records already told to the person another way (``extra={"file_only": True}``) and library warnings."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Library deprecation warnings, and pypdf's notes on every quirk of a damaged PDF (the
        # person is told "not a readable PDF" once), are for the operator's log, not the terminal.
        library = any(record.name == name or record.name.startswith(name + ".") for name in FILE_ONLY_LOGGERS)
        return not getattr(record, "file_only", False) and not library


def log_file(data_dir: Path) -> Path:
    return data_dir / "logs" / "assistant.log"


def setup_logging(data_dir: Path, verbosity: int = 0, debug: bool = False) -> Path:
    """Send everything to the log file, and warnings (more with -v, all with --debug) to stderr."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    path = log_file(data_dir)
    logging.captureWarnings(True)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_assistant", False):
            root.removeHandler(handler)
            handler.close()  # a second set-up (tests, a command run twice) must not leave the log file open
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    redact = RedactSecrets()
    handlers: list[logging.Handler] = []
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
        file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handlers.append(file_handler)
    except OSError:
        pass  # a read-only data folder must not stop the assistant; stderr still gets warnings
    console = logging.StreamHandler()
    console.setLevel(logging.DEBUG if debug else logging.INFO if verbosity else logging.WARNING)
    console.setFormatter(ConsoleFormatter("%(levelname)s %(name)s: %(message)s"))
    if not debug:
        console.addFilter(NotFileOnly())
    handlers.append(console)
    for handler in handlers:
        handler.addFilter(redact)
        handler._assistant = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    # Libraries that log every HTTP request (with the bot token in the URL) stay quiet unless debugging.
    for noisy in ("httpx", "httpx2", "httpcore", "openai", "telegram.ext.Updater", "urllib3", "filelock"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if debug else logging.WARNING)
    return path


def mask_env() -> dict[str, str]:
    """The secret environment variables that are set, masked, for `assistant config`."""
    from .config import mask

    return {name: str(mask(name, os.environ[name])) for name in SECRET_ENV_VARS if os.environ.get(name)}
