"""The knowledge base: documents indexed on disk and searched by meaning (FAISS) and by term (BM25).

``open_knowledge_base(settings)`` is what the runtime and the commands use; nothing heavy is
imported or loaded until a search or a write needs it.
"""

from __future__ import annotations

from ..config import Settings
from .base import DocumentInfo, IngestReport, KnowledgeStore, Passage, Retriever
from .knowledge import KnowledgeBase
from .layout import Manifest, Root
from .options import MODES, KnowledgeOptions

__all__ = [
    "DocumentInfo",
    "IngestReport",
    "KnowledgeBase",
    "KnowledgeOptions",
    "KnowledgeStore",
    "MODES",
    "Manifest",
    "Passage",
    "Retriever",
    "Root",
    "open_knowledge_base",
]


def open_knowledge_base(settings: Settings) -> KnowledgeBase:
    """The knowledge base in ``settings.index`` with ``settings.embedder``; options from ``[knowledge]``."""
    options = KnowledgeOptions.from_section(settings.section("knowledge"))
    return KnowledgeBase(settings.index, settings.embedder, device=settings.device, options=options)
