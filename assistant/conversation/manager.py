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
from dataclasses import dataclass
from typing import Iterator, Sequence

from ..errors import AssistantError, KnowledgeBaseError, UsageError
from ..llm.base import ChatModel, GenerationOptions, Message
from ..retrieval.base import Passage
from ..retrieval.rerank import LazyReranker, Reranker
from ..skills.prompts import QA_ADAPTER
from ..skills.qa import QA_SETTINGS, QAOptions, QASkill
from ..skills.summarize import STYLES, Summarizer, end_at_sentence
from ..skills.translate import LLMTranslator, Translator, detect_language, parse_request, quality_note, translate_text
from .followup import Standalone, rewrite
from .history import HistoryStore
from .types import ConversationInfo, Reply, ReplyEvent, TextDelta, Turn

log = logging.getLogger(__name__)

CHAT_SYSTEM = "You are a helpful, concise assistant."
APOLOGY = "Sorry, something went wrong while answering. The details are in the operator's log."
COMMAND = re.compile(r"^/(\w+)(?:@\S+)?(?:\s+|$)(.*)$", re.S)
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

COMMAND_HELP = {
    "ask": "Answer a question from your documents, with sources.",
    "translate": "Translate text: /translate [to] <language> <text>.",
    "summarize": "Summarize text, a document, or the message you reply to.",
    "sources": "Show the sources of the last answer.",
    "reset": "Forget this conversation.",
    "help": "What I can do.",
}


@dataclass(frozen=True)
class Limits:
    max_input_chars: int = 20_000
    history_turns: int = 40  # read from the store at most; then trimmed by tokens


def format_sources(sources: Sequence[Passage]) -> str:
    return "\n".join(f"[{i}] {p.location}" for i, p in enumerate(sources, 1))


class ConversationManager:
    def __init__(
        self,
        model: ChatModel,
        history: HistoryStore,
        knowledge=None,
        *,
        translator: Translator | None = None,
        summarizer: Summarizer | None = None,
        qa_adapter: str | None = None,
        chat_adapter: str | None = None,
        qa_options: QAOptions = QAOptions(),
        reranker: Reranker | None = None,
        limits: Limits = Limits(),
        answer_tokens: int = 512,
    ) -> None:
        self.model = model
        self.history = history
        self.knowledge = knowledge  # a KnowledgeBase: search, add, documents, stats, document_text
        self.qa = QASkill(model, knowledge, adapter=qa_adapter, options=qa_options, reranker=reranker)
        self.translator = translator or LLMTranslator(model)
        self.summarizer = summarizer
        self.chat_adapter = chat_adapter
        self.limits = limits
        self.answer_tokens = answer_tokens

    @classmethod
    def from_runtime(cls, runtime) -> ConversationManager:
        from ..llm import choose_adapter
        from ..skills.summarize import AbstractiveSummarizer, AutoSummarizer, ExtractiveSummarizer
        from ..skills.translate import Seq2SeqTranslator

        settings = runtime.settings
        model = runtime.chat_model
        translate_section = settings.section("translate")
        if translate_section.get("model"):
            translator: Translator = Seq2SeqTranslator(translate_section["model"], codes=translate_section.get("codes"))
        else:
            translator = LLMTranslator(model, adapter=choose_adapter(settings, "translate"))
        summarizer = AutoSummarizer(
            AbstractiveSummarizer(model, adapter=choose_adapter(settings, "summarize")),
            ExtractiveSummarizer(lambda texts: runtime.knowledge.embed(texts)),
        )
        qa = settings.section("qa")
        limits = settings.section("limits")
        return cls(
            model,
            runtime.history,
            runtime.knowledge,
            translator=translator,
            summarizer=summarizer,
            qa_adapter=choose_adapter(settings, QA_ADAPTER),
            chat_adapter=choose_adapter(settings, None),
            qa_options=QAOptions(**{k: qa[k] for k in QA_SETTINGS if k in qa}),
            reranker=LazyReranker.from_setting(qa.get("reranker", "auto"), settings.rerankers_dir),
            limits=Limits(**{k: limits[k] for k in ("max_input_chars", "history_turns") if k in limits}),
            answer_tokens=settings.max_new_tokens,
        )

    # --- the entry points -----------------------------------------------------------------

    def handle(self, conversation_id: str, text: str, user: str = "", *, attachment: str | None = None,
               cancel: threading.Event | None = None, remember: bool = True) -> Reply:
        reply = None
        for event in self.stream(conversation_id, text, user, attachment=attachment, cancel=cancel, remember=remember):
            if isinstance(event, Reply):
                reply = event
        assert reply is not None
        return reply

    def stream(self, conversation_id: str, text: str, user: str = "", *, attachment: str | None = None,
               cancel: threading.Event | None = None, remember: bool = True) -> Iterator[ReplyEvent]:
        """Answer one message. ``attachment`` is the text of a message replied to (for /summarize);
        ``remember=False`` answers without storing the exchange (one-shot commands)."""
        started = time.perf_counter()
        cancel = cancel or threading.Event()
        reply: Reply | None = None
        try:
            for event in self._route(conversation_id, text, attachment, cancel):
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
        reply.conversation_id = conversation_id
        reply.timings["total_s"] = time.perf_counter() - started
        if cancel.is_set() and not reply.error:
            reply.notice = "Cancelled."
        elif remember and reply.skill in SAVED_SKILLS and not reply.error:
            self.history.append_exchange(conversation_id, text, reply.text, skill=reply.skill, sources=reply.sources, user=user)
        log.info("conversation %s: %s reply in %.2fs", conversation_id, reply.skill, reply.timings["total_s"])
        yield reply

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

    def status(self) -> dict:
        """What a status bar shows: the model, each skill's adapter, and the knowledge base size."""
        translator_adapter = getattr(self.translator, "adapter", None)
        # An AutoSummarizer runs its abstractive part with the adapter; the extractive part uses no model.
        summarizer_adapter = getattr(getattr(self.summarizer, "abstractive", self.summarizer), "adapter", None)
        info = {
            "model": self.model.name,
            "adapters": {"qa": self.qa.adapter, "chat": self.chat_adapter, "translate": translator_adapter,
                         "summarize": summarizer_adapter},
            "documents": 0,
            "chunks": 0,
        }
        if self.knowledge is not None:
            try:
                stats = self.knowledge.stats()
                info["documents"], info["chunks"] = stats.get("documents", 0), stats.get("chunks", 0)
            except Exception:
                log.warning("cannot read knowledge base stats", exc_info=True)
        return info

    # --- routing --------------------------------------------------------------------------

    def _route(self, conversation_id: str, text: str, attachment: str | None, cancel) -> Iterator[ReplyEvent]:
        text = text.strip()
        if not text:
            raise UsageError("The message is empty: type a question, or /help to see what I can do.")
        if len(text) > self.limits.max_input_chars:
            raise UsageError(
                f"The message is too long ({len(text):,} characters; the limit is {self.limits.max_input_chars:,}). "
                f"Add long texts as documents, then ask about them or /summarize them."
            )
        match = COMMAND.match(text)
        if not match:
            yield from self._free_text(conversation_id, text, cancel)
            return
        command, args = match.group(1).lower(), match.group(2).strip()
        if command in ("help", "start"):
            yield Reply(HELP, "help")
        elif command == "reset":
            self.reset(conversation_id)
            yield Reply("Done: this conversation is forgotten.", "reset")
        elif command == "sources":
            sources = self.last_sources(conversation_id)
            text = format_sources(sources) if sources else "The last answer had no sources."
            yield Reply(text, "sources", sources=sources)
        elif command == "ask":
            if not args:
                raise UsageError("Usage: /ask <question>, e.g. /ask How do I add my documents?")
            yield from self._ask(conversation_id, args, cancel)
        elif command == "translate":
            yield from self._translate(args, cancel)
        elif command == "summarize":
            yield from self._summarize(args, attachment, cancel)
        elif command == "chat":
            if not args:
                raise UsageError("Usage: /chat <message>")
            yield from self._chat(conversation_id, args, cancel)
        else:
            known = ", ".join(f"/{c}" for c in COMMAND_HELP)
            yield Reply(f"I don't know /{command}. Commands: {known}. /help explains them.", "help")

    def _has_documents(self) -> bool:
        if self.knowledge is None:
            return False
        try:
            return self.knowledge.chunk_count() > 0
        except KnowledgeBaseError:
            raise
        except Exception:
            log.warning("cannot count the knowledge base's passages", exc_info=True)
            return False

    def _standalone(self, conversation_id: str, question: str) -> Standalone:
        return rewrite(self.model, question, self.history.turns(conversation_id, limit=4))

    def _free_text(self, conversation_id: str, text: str, cancel) -> Iterator[ReplyEvent]:
        if not self._has_documents():
            yield from self._chat(conversation_id, text, cancel, notice="")
            return
        started = time.perf_counter()
        standalone = self._standalone(conversation_id, text)
        relevant, found = self.qa.retrieve(standalone.query)
        retrieve_s = time.perf_counter() - started
        if relevant:
            for event in self.qa.answer(standalone.question, relevant, found, cancel):
                if isinstance(event, Reply):
                    event.timings["retrieve_s"] = retrieve_s
                yield event
        else:
            yield from self._chat(conversation_id, text, cancel,
                                  notice="Nothing in your documents matched, so this is a general answer.")

    def _ask(self, conversation_id: str, question: str, cancel) -> Iterator[ReplyEvent]:
        if not self._has_documents():
            yield Reply("Your knowledge base is empty. Add documents first (assistant index add PATH), then ask again.",
                        "qa", declined=True)
            return
        standalone = self._standalone(conversation_id, question)
        relevant, found = self.qa.retrieve(standalone.query)
        yield from self.qa.answer(standalone.question, relevant, found, cancel)

    def _chat_messages(self, conversation_id: str, text: str) -> list[Message]:
        """System prompt and the new message first, then as many recent turns as the context allows."""
        system: Message = {"role": "system", "content": CHAT_SYSTEM}
        current: Message = {"role": "user", "content": text}
        budget = self.model.context_window - self.answer_tokens
        kept: list[Message] = []
        for turn in reversed(self.history.turns(conversation_id, limit=self.limits.history_turns)):
            candidate = [{"role": turn.role, "content": turn.content}, *kept]
            if self.model.count_tokens([system, *candidate, current]) > budget:
                break
            kept = candidate
        # A transcript must start with the user's turn: drop an orphan answer left at the front.
        while kept and kept[0]["role"] != "user":
            kept.pop(0)
        return [system, *kept, current]

    def _chat(self, conversation_id: str, text: str, cancel, notice: str = "") -> Iterator[ReplyEvent]:
        messages = self._chat_messages(conversation_id, text)
        budget = max(16, min(self.answer_tokens, self.model.context_window - self.model.count_tokens(messages)))
        stream = self.model.stream(messages, GenerationOptions(max_new_tokens=budget), adapter=self.chat_adapter, cancel=cancel)
        pieces: list[str] = []
        for piece in stream:
            pieces.append(piece)
            yield TextDelta(piece)
        yield Reply("".join(pieces).strip(), "chat", notice=notice, usage=stream.usage)

    def _translate(self, args: str, cancel) -> Iterator[ReplyEvent]:
        target, text = parse_request(args)
        source = detect_language(text)
        piece_tokens = max(64, (self.model.context_window - 128) // 3)
        pieces: list[str] = []
        for piece in translate_text(self.translator, text, source, target, self.model.count_tokens, piece_tokens, cancel):
            pieces.append(piece)
            yield TextDelta(piece)
        notice = " ".join(filter(None, [f"Translated into {target.name}.", quality_note(self.translator, source, target)]))
        yield Reply("".join(pieces).strip(), "translate", notice=notice)

    def _summarize(self, args: str, attachment: str | None, cancel) -> Iterator[ReplyEvent]:
        if self.summarizer is None:
            raise UsageError("Summaries are not available in this setup.")
        words = args.split(None, 1)
        style = "short"
        if words and words[0].lower() in STYLES:
            style, args = words[0].lower(), (words[1] if len(words) > 1 else "")
        text, source = self._summary_input(args.strip(), attachment)
        pieces: list[str] = []
        for piece in self.summarizer.summarize(text, style, cancel):
            pieces.append(piece)
            yield TextDelta(piece)
        summary = end_at_sentence("".join(pieces))
        yield Reply(summary, "summarize", notice=f"Summary of {source}." if source else "")

    def _summary_input(self, args: str, attachment: str | None) -> tuple[str, str]:
        """(text to summarise, what it is): the replied-to message, an indexed document, or the text itself."""
        if not args:
            if attachment and attachment.strip():
                return attachment, "the message replied to"
            raise UsageError("Usage: /summarize [short|bullets|detailed] <text or document name>, or reply to a message with /summarize.")
        if "\n" not in args and len(args) <= 200 and self._has_documents():
            try:
                path, text = self.knowledge.document_text(args)
                return text, path
            except KnowledgeBaseError:
                if FILE_NAME.match(args):
                    raise
        elif FILE_NAME.match(args):
            raise UsageError(f"No indexed document named {args!r}: add it with `assistant index add` first.")
        return args, ""
