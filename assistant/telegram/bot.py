"""The Telegram front-end: thin handlers that pass each message to the conversation manager.

What the bot itself decides: whether a message is for it (in groups only commands, mentions and
replies to it), whether the sender may use it, whether they are sending too much, and how the
answer is shown. Everything else - commands, history, skills, the knowledge base - is the manager's.
Answers are generated on worker threads, so one long answer never holds up other chats.
"""

from __future__ import annotations

import asyncio
import logging
import re
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    Document,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
    User,
)
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application, ContextTypes, Defaults, MessageHandler, filters
from telegram.request import BaseRequest

from ..conversation.commands import COMMAND_HELP, parse
from ..conversation.documents import READABLE, read_attachment, readable
from ..conversation.types import APOLOGY, Reply, TextDelta
from ..errors import AssistantError, UsageError
from ..files import staged
from .access import Access, Fairness
from .config import TELEGRAM_FILE_LIMIT_MB, BotConfig
from .formatting import escape
from .retry import RetryingLimiter, with_retries
from .streaming import ONCE, ReplyWriter

log = logging.getLogger(__name__)

ADMIN_HELP = ("\n\nAdmin: /index shows what the knowledge base holds; send me a file "
              "(txt, md, pdf, html, docx, csv, xlsx) to add it.")
ADMIN_COMMANDS = {"index": "Show what the knowledge base holds (admins)."}
TYPING_EVERY_S = 4.5  # Telegram shows "typing" for 5 s


def safe_file_name(name: str | None, fallback: str) -> str:
    """A file name from a user that cannot escape the uploads folder or hide itself."""
    cleaned = re.sub(r"[\x00-\x1f/\\:]+", "_", Path(name or "").name).strip(" .")
    return cleaned[:120] or fallback


class TelegramBot:
    def __init__(self, manager, config: BotConfig, token: str, *, request: BaseRequest | None = None,
                 limiter: RetryingLimiter | None = None) -> None:
        self.manager = manager
        self.config = config
        self.access = Access(config)
        self.fairness = Fairness(config.requests_per_minute)
        self.refused: set[int] = set()
        self.drafts_available = True
        self.executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="telegram-answer")
        self.cancels: set[threading.Event] = set()
        self._ready: Callable[[str], None] = lambda username: None
        builder = (
            Application.builder()
            .token(token)
            .base_url(config.base_url)
            .base_file_url(config.base_file_url)
            .local_mode(config.local_mode)
            .rate_limiter(limiter or RetryingLimiter())
            .concurrent_updates(True)
            .defaults(Defaults(link_preview_options=LinkPreviewOptions(is_disabled=True)))
            .post_init(self._post_init)
            .post_shutdown(self._post_shutdown)
        )
        if request is not None:
            builder = builder.request(request).get_updates_request(request)
        self.application = builder.build()
        self.application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT, self.on_text))
        self.application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.Document.ALL, self.on_document))
        self.application.add_error_handler(self.on_error)

    @property
    def bot(self):
        return self.application.bot

    # --- running ------------------------------------------------------------------------

    def run(self, *, handle_signals: bool = True, ready: Callable[[str], None] = lambda username: None) -> None:
        """Long polling, or a webhook when one is configured; returns when stopped (Ctrl-C).
        ``ready`` is called with the bot's username once it is connected. Start-up requests are
        retried by the RetryingLimiter, so the library's own bootstrap retries stay off."""
        self._ready = ready
        # Signal handlers can only be installed on the main thread (tests run the bot on another).
        kwargs: dict[str, Any] = {} if handle_signals else {"stop_signals": None}
        # A fresh loop, which the application closes when it stops: an earlier run's loop is closed.
        asyncio.set_event_loop(asyncio.new_event_loop())
        if self.config.webhook_url:
            self.application.run_webhook(
                listen=self.config.listen, port=self.config.port, url_path=urlparse(self.config.webhook_url).path.lstrip("/"),
                webhook_url=self.config.webhook_url, secret_token=self.config.secret_token,
                allowed_updates=[Update.MESSAGE], **kwargs,
            )
        else:
            self.application.run_polling(allowed_updates=[Update.MESSAGE], **kwargs)

    async def _post_init(self, application: Application) -> None:
        commands = [BotCommand(name, text) for name, text in COMMAND_HELP.items()]
        await self.bot.set_my_commands(commands)
        admin_commands = commands + [BotCommand(name, text) for name, text in ADMIN_COMMANDS.items()]
        for admin in sorted(self.config.admins):
            try:
                await self.bot.set_my_commands(admin_commands, scope=BotCommandScopeChat(admin))
            except TelegramError as error:  # the admin has not opened a chat with the bot yet
                log.info("could not set the admin command menu for %s: %s", admin, error)
        log.info("Telegram bot @%s is running", self.bot.username)
        self._ready(self.bot.username)

    async def _post_shutdown(self, application: Application) -> None:
        for cancel in list(self.cancels):
            cancel.set()
        self.executor.shutdown(wait=False, cancel_futures=True)

    # --- handlers -----------------------------------------------------------------------

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        if message is None:
            return
        text = self._addressed(message, message.text or "")
        if text is None or not await self._admit(message):
            return
        command = parse(text).command
        if command == "index":
            await self._guarded(message, self._index(message))
        else:
            await self._guarded(message, self._answer_text(message, text, command))

    async def on_document(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        if message is None:
            return
        text = self._addressed(message, message.caption or "")
        if text is None or not await self._admit(message):
            return
        if parse(text).command == "summarize":
            await self._guarded(message, self._summarize_document(message, text))
        elif self.access.is_admin(sender(message).id):
            await self._guarded(message, self._add_document(message))
        else:
            await self._say(message, "Only the bot's admins can add documents to the knowledge base. "
                                     "For a summary of this file, reply to it with /summarize.")

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        user = update.effective_user if isinstance(update, Update) else None
        log.error("failed to handle a message in chat %s from user %s", chat and chat.id, user and user.id,
                  exc_info=context.error)
        if chat is None or isinstance(context.error, Forbidden):
            return
        try:
            await self.bot.send_message(chat.id, APOLOGY, rate_limit_args=ONCE)
        except TelegramError as error:
            log.warning("could not send an apology to chat %s: %s", chat.id, error)

    # --- who and what -------------------------------------------------------------------

    def _addressed(self, message: Message, text: str) -> str | None:
        """The text meant for the bot, without @mentions of it; None when the message is not for it."""
        if message.from_user is None or message.from_user.is_bot:
            return None
        username = (self.bot.username or "").lower()
        request = parse(text)
        if request.command:
            if request.bot and request.bot.lower() != username:
                return None  # /command@another_bot
            return request.message
        if message.chat.type == ChatType.PRIVATE:
            return text
        mentions = [mention for entity, mention in message.parse_entities([MessageEntity.MENTION]).items()
                    if mention.lower() == f"@{username}"] if message.text else []
        if not mentions and message.caption:
            mentions = [mention for entity, mention in message.parse_caption_entities([MessageEntity.MENTION]).items()
                        if mention.lower() == f"@{username}"]
        replied = message.reply_to_message
        if mentions or (replied is not None and replied.from_user is not None and replied.from_user.id == self.bot.id):
            return re.sub(rf"@{re.escape(username)}\b", "", text, flags=re.I).strip()
        return None

    async def _admit(self, message: Message) -> bool:
        user, chat = sender(message), message.chat
        if self.access.allowed(user.id, chat.id):
            return True
        log.warning("refused user %s (@%s, %s) in chat %s (%s)", user.id, user.username, user.full_name, chat.id, chat.type)
        if user.id not in self.refused:
            self.refused.add(user.id)
            await self._say(message, f"Sorry, this is a private assistant. Ask its operator to allow your "
                                     f"Telegram user id {user.id}.")
        return False

    async def _guarded(self, message: Message, work) -> None:
        """Run one request within the user's limits; a problem with the request is told to them."""
        refusal = self.fairness.begin(sender(message).id)
        if refusal:
            work.close()
            await self._say(message, refusal)
            return
        try:
            await work
        except AssistantError as error:
            log.info("request from %s in chat %s refused: %s", sender(message).id, message.chat.id, error)
            await self._say(message, str(error))
        finally:
            self.fairness.end(sender(message).id)

    async def _say(self, message: Message, text: str) -> None:
        await self.bot.send_message(message.chat_id, escape(text), parse_mode=ParseMode.HTML,
                                    message_thread_id=_thread(message), reply_parameters=_quote(message))

    # --- answers ------------------------------------------------------------------------

    async def _answer_text(self, message: Message, text: str, command: str) -> None:
        attachment = None
        if command == "summarize" and message.reply_to_message is not None:
            attachment = await self._replied_text(message.reply_to_message)
        extra = ADMIN_HELP if command in ("start", "help") and self.access.is_admin(sender(message).id) else ""
        await self._answer(message, text, attachment, extra)

    async def _answer(self, message: Message, text: str, attachment: str | None = None, extra: str = "") -> None:
        chat = message.chat
        private = chat.type == ChatType.PRIVATE
        writer = ReplyWriter(
            self.bot, chat.id, thread_id=_thread(message), reply_to=None if private else message.message_id,
            use_draft=private and self.drafts_available, on_drafts_unavailable=self._drafts_unavailable,
            interval=self.config.stream_interval if private else self.config.group_stream_interval,
        )
        cancel = threading.Event()
        done = asyncio.Event()
        typing = asyncio.create_task(self._keep_typing(chat.id, _thread(message), done))
        reply: Reply | None = None
        streamed = ""
        try:
            conversation = conversation_of(message)
            user = f"tg:{sender(message).id}"
            events = self._in_thread(lambda: self.manager.stream(conversation, text, user, attachment=attachment,
                                                                 cancel=cancel), cancel)
            async for event in events:
                if isinstance(event, TextDelta):
                    streamed += event.text
                    await writer.preview(streamed)
                else:
                    reply = event
        finally:
            done.set()
            await typing
        if reply is None:
            raise RuntimeError("the conversation manager ended without a reply")
        if extra and reply.skill == "help":
            reply = replace(reply, text=reply.text + extra)
        await writer.finish(reply)

    def _drafts_unavailable(self) -> None:
        self.drafts_available = False

    async def _in_thread(self, produce: Callable[[], Iterator], cancel: threading.Event) -> AsyncIterator:
        """Iterate ``produce()`` on a worker thread, handing its items to the event loop as they come."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        end = object()

        def put(item) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop closed during shutdown; nobody is listening any more
                cancel.set()

        def run() -> None:
            try:
                for item in produce():
                    put(item)
            except BaseException as error:  # re-raised on the event loop
                put(error)
            finally:
                put(end)

        self.cancels.add(cancel)
        loop.run_in_executor(self.executor, run)
        try:
            while (item := await queue.get()) is not end:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            cancel.set()  # a no-op once finished; stops generation if we stopped listening early
            self.cancels.discard(cancel)

    async def _keep_typing(self, chat_id: int, thread_id: int | None, done: asyncio.Event) -> None:
        while not done.is_set():
            try:
                await self.bot.send_chat_action(chat_id, ChatAction.TYPING, message_thread_id=thread_id,
                                                rate_limit_args=ONCE)
            except TelegramError as error:
                log.debug("no typing action in chat %s: %s", chat_id, error)
            try:
                await asyncio.wait_for(done.wait(), TYPING_EVERY_S)
            except TimeoutError:
                pass

    # --- documents ----------------------------------------------------------------------

    async def _replied_text(self, replied: Message) -> str | None:
        if replied.document is not None:
            return await self._document_text(replied)
        return replied.text or replied.caption

    async def _summarize_document(self, message: Message, text: str) -> None:
        await self._answer(message, text, await self._document_text(message))

    async def _document_text(self, message: Message) -> str:
        """The text of a document in a message, read without adding it to the knowledge base."""
        name = self._check_document(message)
        with tempfile.TemporaryDirectory(prefix="assistant-telegram-") as folder:
            path = await self._download(message, Path(folder) / name)
            return await asyncio.to_thread(read_attachment, path, name)

    def _check_document(self, message: Message) -> str:
        document = attached(message)
        name = safe_file_name(document.file_name, fallback=f"{document.file_unique_id}.txt")
        if not readable(name):
            suffix = Path(name).suffix or "(no extension)"
            raise UsageError(f"I can't read {suffix} files. I read {READABLE}.")
        if document.file_size and document.file_size > self.config.max_file_bytes:
            raise UsageError(self._too_large(name, document.file_size))
        return name

    def _too_large(self, name: str, size: int) -> str:
        text = f"{name} is too large ({size / 2**20:.1f} MB; the limit is {self.config.max_file_mb:g} MB)."
        if self.config.max_file_mb > TELEGRAM_FILE_LIMIT_MB and not self.config.api_url:
            text += f" Telegram's Bot API serves files up to {TELEGRAM_FILE_LIMIT_MB} MB."
        return text

    async def _download(self, message: Message, destination: Path) -> Path:
        """Fetch the message's document to ``destination``, written aside and then moved in place."""
        try:
            remote = await self.bot.get_file(attached(message).file_id)
            if remote.file_size and remote.file_size > self.config.max_file_bytes:
                raise UsageError(self._too_large(destination.name, remote.file_size))
            with staged(destination) as partial:
                await with_retries(lambda: remote.download_to_drive(partial), "file download")
        except TelegramError as error:
            # Telegram answers a lost or expired file with 404, which the library reports as
            # InvalidToken: the person can fix it by sending the file again, the operator needs one line.
            log.warning("could not fetch %s from chat %s: %s", destination.name, message.chat_id, error)
            raise UsageError(f"I couldn't fetch {destination.name} from Telegram. Please send it again.") from None
        return destination

    async def _add_document(self, message: Message) -> None:
        documents = self.manager.documents
        if documents is None:
            raise UsageError("This assistant has no knowledge base to add documents to.")
        name = self._check_document(message)
        path = await self._download(message, self.config.uploads_dir / name)
        log.info("user %s uploaded %s (%d bytes) to %s", sender(message).id, name, path.stat().st_size, path)
        report = await asyncio.to_thread(documents.add, [path])
        await self._say(message, _describe_ingest(report, name))

    async def _index(self, message: Message) -> None:
        if not self.access.is_admin(sender(message).id):
            raise UsageError("Only the bot's admins can use /index.")
        known = self.manager.documents
        if known is None:
            raise UsageError("This assistant has no knowledge base.")
        stats = await asyncio.to_thread(known.stats)
        documents = await asyncio.to_thread(known.documents)
        lines = [
            f"Knowledge base: {stats.get('documents', 0)} documents, {stats.get('chunks', 0)} passages, "
            f"{stats.get('bytes', 0) / 2**20:.1f} MB on disk.",
            f"Embedder: {stats.get('embedder')}; index: {stats.get('index')}.",
        ]
        if documents:
            shown = documents[:20]
            lines.append("Documents:\n" + "\n".join(f"• {Path(d.path).name} ({d.chunks} passages)" for d in shown))
            if len(documents) > len(shown):
                lines.append(f"… and {len(documents) - len(shown)} more (`assistant index list` shows all).")
        else:
            lines.append("Send me a file, or run `assistant index add PATH` on the server, to add documents.")
        await self._say(message, "\n".join(lines))


def _describe_ingest(report, name: str) -> str:
    if report.added:
        return f"Added {name} to the knowledge base ({report.chunks} passages). Ask me about it."
    if report.updated:
        return f"Updated {name} in the knowledge base ({report.chunks} passages)."
    if report.unchanged:
        return f"{name} is already in the knowledge base, unchanged."
    if report.skipped:
        return f"I didn't add {name}: {report.skipped[0][1]}."
    if report.failed:
        return f"I couldn't read {name}: {report.failed[0][1]}."
    return f"Nothing was added from {name}."


def sender(message: Message) -> User:
    """Who sent a message the bot answers (``_addressed`` lets through only messages from a person)."""
    if message.from_user is None:
        raise ValueError("a message without a sender reached a handler")
    return message.from_user


def attached(message: Message) -> Document:
    """The document in a message that the document handler received."""
    if message.document is None:
        raise ValueError("a message without a document reached the document handler")
    return message.document


def _thread(message: Message) -> int | None:
    return message.message_thread_id if message.is_topic_message else None


def conversation_of(message: Message) -> str:
    """The conversation a message belongs to: its chat's, or in a forum group its topic's, each topic being a
    discussion of its own ("And on Sundays?" in one topic is not about a question asked in another)."""
    topic = _thread(message)
    return f"tg:{message.chat.id}" + (f":{topic}" if topic is not None else "")


def _quote(message: Message):
    """In groups, answer as a reply so it is clear whom the bot answers."""
    if message.chat.type == ChatType.PRIVATE:
        return None
    return ReplyParameters(message.message_id, allow_sending_without_reply=True)
