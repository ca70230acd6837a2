"""Who may use the bot, and how much: allowlists, admins, a per-user rate limit, one request at a time."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable

from .config import BotConfig


class Access:
    def __init__(self, config: BotConfig) -> None:
        self.config = config

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.config.admins

    def allowed(self, user_id: int, chat_id: int) -> bool:
        c = self.config
        return c.allow_all or user_id in c.allowed_users or user_id in c.admins or chat_id in c.allowed_chats


class Fairness:
    """Per-user rate limit over a sliding minute, and at most one request in flight per user.

    Only touched from the event loop, so it needs no lock.
    """

    def __init__(self, requests_per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.requests_per_minute = requests_per_minute
        self.clock = clock
        self._recent: dict[int, deque[float]] = defaultdict(deque)
        self._busy: set[int] = set()

    def begin(self, user_id: int) -> str | None:
        """Start a request: None if it may go ahead (then call ``end``), else what to tell the user."""
        if user_id in self._busy:
            return "I'm still answering your previous message. Send this again when that answer is done."
        now = self.clock()
        recent = self._recent[user_id]
        while recent and now - recent[0] >= 60:
            recent.popleft()
        if len(recent) >= self.requests_per_minute:
            wait = max(1, round(60 - (now - recent[0])))
            return (f"You've sent {self.requests_per_minute} requests in the last minute, the limit. "
                    f"Please try again in {wait} s.")
        recent.append(now)
        self._busy.add(user_id)
        return None

    def end(self, user_id: int) -> None:
        self._busy.discard(user_id)
