"""The composition root: the one place that builds the parts - the model, the knowledge base, the
history, the skills and the conversation manager - from ``Settings``, each on first use (a model
takes seconds to load, a knowledge base nothing until it is searched).

Front-ends and commands take what they need from a ``Runtime``; tests and benchmarks hand in
ready-made parts (``Runtime(settings, chat_model=fake, knowledge=None)``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from .config import Settings, read_table
from .errors import ConfigError

if TYPE_CHECKING:
    from .conversation.documents import Documents
    from .conversation.history import HistoryStore
    from .conversation.manager import ConversationManager
    from .llm.base import ChatModel
    from .retrieval import KnowledgeBase

T = TypeVar("T")
# A part not handed in: built on first use.
_UNSET: Any = object()


def _local(settings: Settings) -> ChatModel:
    from .llm.local_factory import create

    return create(settings)


def _openai(settings: Settings) -> ChatModel:
    from .llm.openai_backend import create

    return create(settings)


# The model backends by name (`backend` in the settings); each is imported when chosen.
BACKENDS: dict[str, Callable[[Settings], ChatModel]] = {"local": _local, "openai": _openai}


def load_chat_model(settings: Settings) -> ChatModel:
    try:
        build = BACKENDS[settings.backend]
    except KeyError:
        raise ConfigError(f"Unknown backend {settings.backend!r}. Available: {', '.join(sorted(BACKENDS))}.") from None
    return build(settings)


def choose_adapter(settings: Settings, skill_default: str | None) -> str | None:
    """The adapter one skill should run with.

    ``--adapter auto`` (the default) lets each skill use its own adapter when it is installed,
    ``none`` runs the base model everywhere, and a name or path forces that adapter everywhere.
    """
    from .llm.adapters import adapter_path
    from .llm.base import BASE

    if settings.adapter == "auto":
        if skill_default and (adapter_path(skill_default, settings.adapters_dir) / "adapter_config.json").is_file():
            return skill_default
        return BASE
    return settings.adapter


@dataclass(frozen=True)
class TranslateOptions:
    """The ``[translate]`` table: a dedicated translation model instead of the chat model."""

    model: str = ""  # e.g. Helsinki-NLP/opus-mt-en-fr or facebook/nllb-200-distilled-600M
    codes: dict[str, str] = field(default_factory=dict)  # NLLB codes for languages the defaults miss


class Runtime:
    def __init__(self, settings: Settings, *, chat_model: ChatModel = _UNSET, knowledge: KnowledgeBase | None = _UNSET,
                 history: HistoryStore = _UNSET) -> None:
        self.settings = settings
        given = {"chat_model": chat_model, "knowledge": knowledge, "history": history}
        self._parts: dict[str, Any] = {name: part for name, part in given.items() if part is not _UNSET}
        # One lock per part: the knowledge base opens while the model loads. Parts need only parts
        # below them (the manager needs the model; the model needs nothing), so no two wait on each other.
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    def _get(self, name: str, build: Callable[[], T]) -> T:
        with self._locks_lock:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            if name not in self._parts:
                self._parts[name] = build()
            return self._parts[name]

    def loaded(self, name: str) -> bool:
        return name in self._parts

    @property
    def chat_model(self) -> ChatModel:
        return self._get("chat_model", lambda: load_chat_model(self.settings))

    @property
    def knowledge(self) -> KnowledgeBase | None:
        from .retrieval import open_knowledge_base

        return self._get("knowledge", lambda: open_knowledge_base(self.settings))

    @property
    def documents(self) -> Documents | None:
        """The knowledge base's documents, for front-ends; ready without the model."""
        from .conversation.documents import Documents

        def build() -> Documents | None:
            knowledge = self.knowledge
            return None if knowledge is None else Documents(knowledge)

        return self._get("documents", build)

    @property
    def history(self) -> HistoryStore:
        from .conversation.history import HistoryStore

        return self._get("history", lambda: HistoryStore(self.settings.history_db))

    @property
    def manager(self) -> ConversationManager:
        return self._get("manager", self._build_manager)

    def _build_manager(self) -> ConversationManager:
        from .conversation.manager import ConversationManager, Limits
        from .llm.adapters import adapter_path
        from .llm.base import BASE
        from .retrieval.rerank import LazyReranker
        from .skills.prompts import QA_ADAPTER
        from .skills.qa import QASkill
        from .skills.qa_options import QAOptions
        from .skills.summarize import AbstractiveSummarizer, AutoSummarizer, ExtractiveSummarizer
        from .skills.translate import LLMTranslator, Seq2SeqTranslator, Translator

        settings = self.settings
        model, knowledge = self.chat_model, self.knowledge
        translate = read_table(TranslateOptions, "translate", settings.section("translate"))
        translator: Translator
        if translate.model:
            translator = Seq2SeqTranslator(translate.model, codes=translate.codes or None)
        else:
            adapter = choose_adapter(settings, "translate")
            adapter_dir = adapter_path(adapter, settings.adapters_dir) if adapter and adapter != BASE else None
            translator = LLMTranslator(model, adapter=adapter, adapter_dir=adapter_dir)
        summarizer = AutoSummarizer(
            AbstractiveSummarizer(model, adapter=choose_adapter(settings, "summarize")),
            ExtractiveSummarizer(lambda texts: self._embed(texts)),
        )
        qa_options = read_table(QAOptions, "qa", settings.section("qa"))
        qa = QASkill(model, knowledge, adapter=choose_adapter(settings, QA_ADAPTER), options=qa_options,
                     reranker=LazyReranker.from_setting(qa_options.reranker, settings.rerankers_dir,
                                                       qa_options.reranker_precision))
        return ConversationManager(
            model,
            self.history,
            qa=qa,
            translator=translator,
            summarizer=summarizer,
            documents=self.documents,
            chat_adapter=choose_adapter(settings, None),
            limits=read_table(Limits, "limits", settings.section("limits")),
            answer_tokens=settings.max_new_tokens,
        )

    def _embed(self, texts: Any) -> Any:
        knowledge = self.knowledge
        if knowledge is None:
            raise ConfigError("Extractive summaries need the knowledge base's embedder, and this setup has none.")
        return knowledge.embed(texts)
