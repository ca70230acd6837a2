"""The conversation manager: every front-end hands each message here and shows what comes back.

``stream()`` yields ``TextDelta``s as the reply is generated and ends with one ``Reply`` (text, skill,
sources, timings). Slash commands are routed first; free text goes to grounded QA when the knowledge
base has passages about it, and to plain chat otherwise.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..errors import AssistantError, KnowledgeBaseError, UsageError
from ..llm.base import ChatModel, GenerationOptions, Message
from ..skills.asking import plain_question, questions_in
from ..skills.qa import QASkill
from ..skills.summarize import STYLES, Summarizer, end_at_sentence
from ..skills.translate import Translator, detect_language, find_language, parse_request, quality_note, translate_text
from ..text import without_loop
from .commands import COMMAND_HELP, Request, parse
from .documents import Documents
from .followup import cited_documents, previous_questions, rewrite
from .history import HistoryStore
from .several import answered_each
from .types import APOLOGY, ConversationInfo, Passage, Reply, ReplyEvent, TextDelta, Turn

log = logging.getLogger(__name__)

CHAT_SYSTEM = "You are a helpful, concise assistant."
SAVED_SKILLS = ("qa", "chat", "translate", "summarize")
FILE_NAME = re.compile(r"^\S+\.\w{1,5}$")

HELP = """I answer questions from your documents (with sources), chat, translate and summarize.

/ask <question> — answer from your documents only, with sources
/translate [to] <language> <text> — e.g. /translate French Good morning
/summarize [short|bullets|detailed] <text or document name> — or reply to a message with /summarize
/sources — the sources of the last answer
/reset — forget this conversation
/help — this message

Anything else: I answer from your documents when they cover it, and chat otherwise."""


@dataclass(frozen=True)
class Asked:
    """One request being answered, as every handler receives it."""

    conversation_id: str
    request: Request
    attachment: str | None  # the text of the message replied to, for /summarize
    cancel: threading.Event


Handler = Callable[[Asked], Iterator[ReplyEvent]]


@dataclass(frozen=True)
class Limits:
    """The ``[limits]`` table."""

    max_input_chars: int = 20_000  # in any front-end; longer texts are added as documents
    history_turns: int = 40  # read from the store at most; then trimmed by tokens


def format_sources(sources: Sequence[Passage]) -> str:
    return "\n".join(f"[{i}] {p.location}" for i, p in enumerate(sources, 1))


class ConversationManager:
    """Routes each message to a handler (``routes``: command name -> handler, "" for free text) and
    keeps the conversation. Its parts are built by ``assistant.runtime``; tests hand in their own."""

    def __init__(
        self,
        model: ChatModel,
        history: HistoryStore,
        *,
        qa: QASkill,
        translator: Translator,
        summarizer: Summarizer | None = None,
        documents: Documents | None = None,
        chat_adapter: str | None = None,
        limits: Limits = Limits(),
        answer_tokens: int = 512,
    ) -> None:
        self.model = model
        self.history = history
        self.qa = qa
        self.translator = translator
        self.summarizer = summarizer
        self.documents = documents
        self.chat_adapter = chat_adapter
        self.limits = limits
        self.answer_tokens = answer_tokens
        self.routes: dict[str, Handler] = {
            "": self._free_text,
            "help": self._help,
            "start": self._help,  # what Telegram sends when a chat with the bot begins
            "reset": self._reset,
            "sources": self._sources,
            "ask": self._ask,
            "chat": self._chat_command,
            "translate": self._translate,
            "summarize": self._summarize,
        }

    # --- the entry points -----------------------------------------------------------------

    def handle(self, conversation_id: str, message: str | Request, user: str = "", *, attachment: str | None = None,
               cancel: threading.Event | None = None, remember: bool = True) -> Reply:
        reply = None
        for event in self.stream(conversation_id, message, user, attachment=attachment, cancel=cancel, remember=remember):
            if isinstance(event, Reply):
                reply = event
        assert reply is not None
        return reply

    def stream(self, conversation_id: str, message: str | Request, user: str = "", *,
               attachment: str | None = None, cancel: threading.Event | None = None,
               remember: bool = True) -> Iterator[ReplyEvent]:
        """Answer one message, typed (a string) or already parsed (a ``Request``). ``attachment`` is the
        text of a message replied to (for /summarize); ``remember=False`` answers without storing the
        exchange (one-shot commands)."""
        started = time.perf_counter()
        cancel = cancel or threading.Event()
        request = parse(message) if isinstance(message, str) else message
        text = message if isinstance(message, str) else request.message
        reply: Reply | None = None
        try:
            self._check(request)
            for event in self.routes.get(request.command, self._unknown)(
                    Asked(conversation_id, request, attachment, cancel)):
                if isinstance(event, Reply):
                    reply = event
                else:
                    yield event
        except AssistantError as error:
            log.info("could not answer in %s: %s", conversation_id, error)
            reply = Reply(str(error), "error", error=True)
        except Exception:
            log.exception("failed to answer in conversation %s", conversation_id)
            reply = Reply(APOLOGY, "error", error=True)
        assert reply is not None
        reply = replace(reply, conversation_id=conversation_id,
                        timings={**reply.timings, "total_s": time.perf_counter() - started})
        if cancel.is_set() and not reply.error:
            reply = replace(reply, notice="Cancelled.")
        elif remember and reply.skill in SAVED_SKILLS and not reply.error:
            self.history.append_exchange(conversation_id, text, reply.text, skill=reply.skill, sources=reply.sources,
                                         user=user, declined=reply.declined, quoted=reply.quoted)
        log.info("conversation %s: %s reply in %.2fs", conversation_id, reply.skill, reply.timings["total_s"])
        yield reply

    def _check(self, request: Request) -> None:
        """The one check of a message's size, whichever front-end it came from."""
        if not request.text and not request.command:
            raise UsageError("The message is empty: type a question, or /help to see what I can do.")
        size = len(request.text)
        if size > self.limits.max_input_chars:
            raise UsageError(
                f"The message is too long ({size:,} characters; the limit is {self.limits.max_input_chars:,}). "
                f"Add long texts as documents, then ask about them or /summarize them."
            )

    # --- conversations, for front-ends ---------------------------------------------------

    @staticmethod
    def new_conversation_id() -> str:
        return uuid.uuid4().hex[:12]

    def conversations(self) -> list[ConversationInfo]:
        return self.history.conversations()

    def turns(self, conversation_id: str) -> list[Turn]:
        return self.history.turns(conversation_id)

    def rename(self, conversation_id: str, title: str) -> None:
        self.history.rename(conversation_id, title)

    def delete(self, conversation_id: str) -> None:
        self.history.delete(conversation_id)

    def reset(self, conversation_id: str) -> None:
        self.history.clear(conversation_id)

    def last_sources(self, conversation_id: str) -> list[Passage]:
        return list(self.history.last_sources(conversation_id))

    def status(self) -> dict[str, Any]:
        """What a status bar shows: the model, each skill's adapter, and the knowledge base size."""
        translator_adapter = getattr(self.translator, "adapter", None)
        # An AutoSummarizer runs its abstractive part with the adapter; the extractive part uses no model.
        summarizer_adapter = getattr(getattr(self.summarizer, "abstractive", self.summarizer), "adapter", None)
        info: dict[str, Any] = {
            "model": self.model.name,
            "adapters": {"qa": self.qa.adapter, "chat": self.chat_adapter, "translate": translator_adapter,
                         "summarize": summarizer_adapter},
            "documents": 0,
            "chunks": 0,
        }
        if self.documents is not None:
            try:
                stats = self.documents.stats()
                info["documents"], info["chunks"] = stats.get("documents", 0), stats.get("chunks", 0)
            except Exception:
                log.warning("cannot read knowledge base stats", exc_info=True)
        return info

    # --- the handlers, one per route ----------------------------------------------------------

    def _help(self, asked: Asked) -> Iterator[ReplyEvent]:
        yield Reply(HELP, "help")

    def _unknown(self, asked: Asked) -> Iterator[ReplyEvent]:
        known = ", ".join(f"/{c}" for c in COMMAND_HELP)
        yield Reply(f"I don't know /{asked.request.command}. Commands: {known}. /help explains them.", "help")

    def _reset(self, asked: Asked) -> Iterator[ReplyEvent]:
        self.reset(asked.conversation_id)
        yield Reply("Done: this conversation is forgotten.", "reset")

    def _sources(self, asked: Asked) -> Iterator[ReplyEvent]:
        sources = self.last_sources(asked.conversation_id)
        yield Reply(format_sources(sources) if sources else "The last answer had no sources.", "sources",
                    sources=sources)

    def _chat_command(self, asked: Asked) -> Iterator[ReplyEvent]:
        if not asked.request.text:
            raise UsageError("Usage: /chat <message>")
        yield from self._chat(asked.conversation_id, asked.request.text, asked.cancel)

    def _has_documents(self) -> bool:
        if self.documents is None:
            return False
        try:
            return self.documents.chunk_count() > 0
        except KnowledgeBaseError:
            raise
        except Exception:
            log.warning("cannot count the knowledge base's passages", exc_info=True)
            return False

    def _free_text(self, asked: Asked) -> Iterator[ReplyEvent]:
        conversation_id, text, cancel = asked.conversation_id, asked.request.text, asked.cancel
        if not self._has_documents():
            yield from self._chat(conversation_id, text, cancel, notice="")
            return
        yield from self._answer_from_documents(asked, otherwise=lambda: self._chat(
            conversation_id, text, cancel, notice="Nothing in your documents matched, so this is a general answer."))

    def _ask(self, asked: Asked) -> Iterator[ReplyEvent]:
        if not asked.request.text:
            raise UsageError("Usage: /ask <question>, e.g. /ask How do I add my documents?")
        if not self._has_documents():
            yield Reply("Your knowledge base is empty. Add documents first (assistant index add PATH), then ask again.",
                        "qa", declined=True)
            return
        yield from self._answer_from_documents(asked)

    def _answer_from_documents(self, asked: Asked,
                               otherwise: Callable[[], Iterator[ReplyEvent]] | None = None) -> Iterator[ReplyEvent]:
        """QA on each question the message asks, made to stand alone (a follow-up rewritten with the conversation)."""
        history = self.history.turns(asked.conversation_id, limit=4)
        questions = questions_in(plain_question(asked.request.text))  # "Hi! Could you tell me ...? Thanks!" asks what it asks alone
        if len(questions) == 1:
            yield from self._answer_question(questions[0], history, asked.cancel, otherwise)
        else:
            yield from answered_each(questions, lambda question, before: self._answer_question(question, before, asked.cancel),
                                     history, asked.cancel, otherwise)

    def _answer_question(self, question: str, history: Sequence[Turn], cancel: threading.Event,
                         otherwise: Callable[[], Iterator[ReplyEvent]] | None = None) -> Iterator[ReplyEvent]:
        standalone = rewrite(self.model, question, history)
        # Not taken for a follow-up: the last two questions (the previous one may be a follow-up itself) are
        # searched with it only if it finds no answer alone.
        earlier = " ".join(previous_questions(history)) if standalone.query == question else None
        yield from self.qa.reply(standalone.question, query=standalone.query, earlier=earlier,
                                 cited_documents=cited_documents(history), swap=standalone.swap, cancel=cancel,
                                 otherwise=otherwise)

    def _chat_messages(self, conversation_id: str, text: str) -> list[Message]:
        """System prompt and the new message first, then as many recent turns as the context allows."""
        system: Message = {"role": "system", "content": CHAT_SYSTEM}
        current: Message = {"role": "user", "content": text}
        budget = self.model.context_window - self.answer_tokens
        kept: list[Message] = []
        for turn in reversed(self.history.turns(conversation_id, limit=self.limits.history_turns)):
            candidate: list[Message] = [{"role": turn.role, "content": turn.content}, *kept]
            if self.model.count_tokens([system, *candidate, current]) > budget:
                break
            kept = candidate
        # A transcript must start with the user's turn: drop an orphan answer left at the front.
        while kept and kept[0]["role"] != "user":
            kept.pop(0)
        return [system, *kept, current]

    def _chat(self, conversation_id: str, text: str, cancel: threading.Event, notice: str = "") -> Iterator[ReplyEvent]:
        messages = self._chat_messages(conversation_id, text)
        budget = max(16, min(self.answer_tokens, self.model.context_window - self.model.count_tokens(messages)))
        stream = self.model.stream(messages, GenerationOptions(max_new_tokens=budget), adapter=self.chat_adapter, cancel=cancel)
        text = ""
        for piece in stream:
            text += piece
            yield TextDelta(piece)
            if (cut := without_loop(text)) is not None:
                text = cut  # breaking out stops the generation
                break
        yield Reply(text.strip(), "chat", notice=notice, usage=stream.usage)

    def _translate(self, asked: Asked) -> Iterator[ReplyEvent]:
        request, cancel = asked.request, asked.cancel
        if request.target:
            if not request.text:
                raise UsageError("Nothing to translate: give the text as well as the language.")
            target, text = find_language(request.target), request.text
        else:
            target, text = parse_request(request.text)
        source = detect_language(text)
        piece_tokens = max(64, (self.model.context_window - 128) // 3)
        pieces: list[str] = []
        for piece in translate_text(self.translator, text, source, target, self.model.count_tokens, piece_tokens, cancel):
            pieces.append(piece)
            yield TextDelta(piece)
        notice = " ".join(filter(None, [f"Translated into {target.name}.", quality_note(self.translator, source, target)]))
        yield Reply("".join(pieces).strip(), "translate", notice=notice)

    def _summarize(self, asked: Asked) -> Iterator[ReplyEvent]:
        if self.summarizer is None:
            raise UsageError("Summaries are not available in this setup.")
        style, args = asked.request.style, asked.request.text
        words = args.split(None, 1)
        if not style and words and words[0].lower() in STYLES:
            style, args = words[0].lower(), (words[1] if len(words) > 1 else "")
        text, source = self._summary_input(args.strip(), asked.attachment,
                                           asked.request.attachment_name or "the message replied to")
        style = style or "short"
        summarizer = self.summarizer.choose(text, style)  # once: choosing may count the text's tokens
        pieces: list[str] = []
        for piece in summarizer.summarize(text, style, asked.cancel):
            pieces.append(piece)
            yield TextDelta(piece)
        summary = end_at_sentence("".join(pieces))
        if summarizer.extracts(text, style):
            notice = f"The key sentences of {source or 'the text'}, as written."
        else:
            notice = f"Summary of {source}." if source else ""
        yield Reply(summary, "summarize", notice=notice)

    def _summary_input(self, args: str, attachment: str | None, attachment_name: str) -> tuple[str, str]:
        """(text to summarise, what it is): the attachment, an indexed document, or the text itself."""
        if not args:
            if attachment and attachment.strip():
                return attachment, attachment_name
            raise UsageError("Usage: /summarize [short|bullets|detailed] <text or document name>, or reply to a message with /summarize.")
        if "\n" not in args and len(args) <= 200 and self.documents is not None and self._has_documents():
            try:
                path, text = self.documents.text(args)
                return text, path
            except KnowledgeBaseError:
                if FILE_NAME.match(args):
                    raise
        elif FILE_NAME.match(args):
            raise UsageError(f"No indexed document named {args!r}: add it with `assistant index add` first.")
        return args, ""
