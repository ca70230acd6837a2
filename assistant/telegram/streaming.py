"""One answer shown in a chat while it is generated, and left there, complete, when it is done.

In private chats the growing answer is a draft (``sendMessageDraft``), which Telegram animates and
does not count as messages; elsewhere, or where the Bot API server lacks drafts, the answer is a
message edited in place, at most once per ``interval`` and later when Telegram asks us to slow down.
An answer longer than one message continues in new messages. The final text replaces whatever was
previewed (the conversation manager may withdraw a streamed answer), and surplus messages are deleted.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from telegram import ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, RetryAfter, TelegramError

from ..conversation.types import Reply
from .formatting import html_to_text, markdown_to_html, reply_html, split_html
from .retry import retry_seconds, transient

log = logging.getLogger(__name__)

EMPTY_ANSWER = "(The model returned an empty answer. Try rephrasing the question.)"
ONCE = {"attempts": 1}  # a preview is worth sending now or not at all


def unparsable(error: BadRequest) -> bool:
    return "parse entities" in error.message.lower()


def unchanged(error: BadRequest) -> bool:
    return "message is not modified" in error.message.lower()


@dataclass
class _Sent:
    message_id: int
    markup: str


class ReplyWriter:
    def __init__(self, bot, chat_id: int, *, thread_id: int | None = None, reply_to: int | None = None,
                 use_draft: bool = False, on_drafts_unavailable: Callable[[], None] = lambda: None,
                 interval: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.thread_id = thread_id
        self.reply_to = reply_to
        self.use_draft = use_draft
        self.on_drafts_unavailable = on_drafts_unavailable
        self.interval = interval
        self.clock = clock
        self.sent: list[_Sent] = []
        self.previewing = True
        self.next_preview = 0.0
        self.flood_until = 0.0  # Telegram asked us not to send to this chat before then
        self.draft_base = random.randrange(1, 2**30)

    async def preview(self, text: str) -> None:
        """Show the answer so far, unless the last update was too recent or Telegram asked us to wait."""
        now = self.clock()
        if not self.previewing or now < self.next_preview or not text.strip():
            return
        self.next_preview = now + self.interval
        pieces = split_html(markdown_to_html(text))
        try:
            if self.use_draft and await self._draft(pieces):
                return
            for index, piece in enumerate(pieces):
                await self._put(index, piece, ONCE)
        except RetryAfter as error:
            wait = retry_seconds(error)
            self.next_preview = self.flood_until = self.clock() + wait
            log.info("flood control in chat %s: next preview in %.0fs", self.chat_id, wait)
        except TelegramError as error:
            # The final message is still sent (with retries); only the live preview stops.
            log.warning("stopped previewing an answer in chat %s: %s", self.chat_id, error)
            self.previewing = False

    async def finish(self, reply: Reply) -> None:
        """Leave the final reply in the chat: edit what was previewed, send the rest, delete the surplus."""
        if self.flood_until > self.clock():
            await asyncio.sleep(self.flood_until - self.clock())
        text = reply.text if reply.text.strip() else EMPTY_ANSWER
        # A declined answer's sources are only the closest passages, and /sources lists them in its text.
        sources = [] if reply.declined or reply.skill == "sources" else reply.sources
        pieces = split_html(reply_html(text, sources, reply.notice))
        for index, piece in enumerate(pieces):
            await self._put(index, piece, None)
        for extra in self.sent[len(pieces):]:
            try:
                await self.bot.delete_message(self.chat_id, extra.message_id, rate_limit_args=ONCE)
            except TelegramError as error:
                log.warning("could not delete a superseded message in chat %s: %s", self.chat_id, error)
        del self.sent[len(pieces):]

    async def _draft(self, pieces: list[str]) -> bool:
        """Completed pieces as messages, the growing one as a draft; False when drafts are unavailable."""
        for index, piece in enumerate(pieces[:-1]):
            await self._put(index, piece, ONCE)
        index, markup = len(pieces) - 1, pieces[-1]
        draft_id = self.draft_base + index  # a new draft for each message, so Telegram animates only growth
        try:
            try:
                await self.bot.send_message_draft(self.chat_id, draft_id, markup, message_thread_id=self.thread_id,
                                                  parse_mode=ParseMode.HTML, rate_limit_args=ONCE)
            except BadRequest as error:
                if not unparsable(error):
                    raise
                await self.bot.send_message_draft(self.chat_id, draft_id, html_to_text(markup),
                                                  message_thread_id=self.thread_id, rate_limit_args=ONCE)
            return True
        except RetryAfter:
            raise
        except TelegramError as error:
            if transient(error):
                raise
            log.info("message drafts are unavailable (%s); editing messages instead", error)
            self.use_draft = False
            self.on_drafts_unavailable()
            return False

    async def _put(self, index: int, markup: str, rate_limit_args: dict | None) -> None:
        """Make message ``index`` show ``markup``: HTML, or its plain text if Telegram rejects the HTML."""
        if index < len(self.sent) and self.sent[index].markup == markup:
            return
        try:
            await self._send_or_edit(index, markup, ParseMode.HTML, rate_limit_args)
        except BadRequest as error:
            if not unparsable(error):
                raise
            log.warning("Telegram rejected the HTML of a reply in chat %s (%s); sending plain text", self.chat_id, error)
            await self._send_or_edit(index, html_to_text(markup), None, rate_limit_args)
        self.sent[index].markup = markup

    async def _send_or_edit(self, index: int, text: str, parse_mode: str | None, rate_limit_args: dict | None) -> None:
        if index < len(self.sent):
            try:
                await self.bot.edit_message_text(text, self.chat_id, self.sent[index].message_id,
                                                 parse_mode=parse_mode, rate_limit_args=rate_limit_args)
                return
            except BadRequest as error:
                if unchanged(error):
                    return
                if "message to edit not found" not in error.message.lower():
                    raise
                log.info("a message being edited in chat %s was deleted; sending a new one", self.chat_id)
        reply_parameters = None
        if index == 0 and self.reply_to is not None:
            reply_parameters = ReplyParameters(self.reply_to, allow_sending_without_reply=True)
        message = await self.bot.send_message(self.chat_id, text, parse_mode=parse_mode, message_thread_id=self.thread_id,
                                              reply_parameters=reply_parameters, rate_limit_args=rate_limit_args)
        if index < len(self.sent):
            self.sent[index] = _Sent(message.message_id, "")
        else:
            self.sent.append(_Sent(message.message_id, ""))
