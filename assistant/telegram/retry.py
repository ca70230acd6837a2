"""Retries for calls to the Bot API: flood control (429) and network errors or 5xx, with backoff.

Every request the bot makes passes through ``RetryingLimiter`` (python-telegram-bot's rate-limiter
hook), so handlers just call ``bot.send_message``. A call that is only worth making now, such as
one update of a streaming answer, passes ``rate_limit_args={"attempts": 1}`` and handles the error.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import warnings
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

from ..backoff import backoff_delay

log = logging.getLogger(__name__)
T = TypeVar("T")


def retry_seconds(error: RetryAfter) -> float:
    """How long Telegram asked us to wait, whether the library reports it as int or timedelta."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, datetime.timedelta) else float(value)


def transient(error: BaseException) -> bool:
    """Worth trying again: a network failure or a 5xx, not a request Telegram refused."""
    return isinstance(error, NetworkError) and not isinstance(error, BadRequest)


async def with_retries(call: Callable[[], Awaitable[T]], what: str, *, attempts: int = 4,
                       backoff: float = 0.5, max_wait: float = 60.0) -> T:
    """Await ``call()``, waiting as Telegram asks after a 429 and backing off after network errors."""
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except RetryAfter as error:
            delay = retry_seconds(error)
            if attempt == attempts or delay > max_wait:
                raise
            log.warning("Telegram flood control on %s: retrying in %.1fs", what, delay)
        except Exception as error:
            if attempt == attempts or not transient(error):
                raise
            delay = backoff_delay(attempt, backoff, max_wait)
            log.warning("%s failed (%s); retry %d of %d in %.1fs", what, error, attempt, attempts - 1, delay)
        await asyncio.sleep(delay)
    raise AssertionError("unreachable")


class RetryingLimiter(BaseRateLimiter[dict]):
    """Retries each Bot API request as ``with_retries`` does; ``rate_limit_args`` may set ``attempts``."""

    def __init__(self, attempts: int = 4, backoff: float = 0.5, max_wait: float = 60.0) -> None:
        self.attempts = attempts
        self.backoff = backoff
        self.max_wait = max_wait

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def process_request(self, callback: Callable[..., Awaitable[Any]], args: Any, kwargs: dict[str, Any],
                              endpoint: str, data: dict[str, Any], rate_limit_args: dict | None) -> Any:
        attempts = (rate_limit_args or {}).get("attempts", self.attempts)
        return await with_retries(lambda: callback(*args, **kwargs), endpoint, attempts=attempts,
                                  backoff=self.backoff, max_wait=self.max_wait)
