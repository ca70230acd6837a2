"""Model backends behind one protocol (``base.ChatModel``). Which backend is built from the settings
is decided in ``assistant.runtime``; each backend module is imported only when chosen."""

from __future__ import annotations

from ..config import Settings
from .base import BASE, ChatModel, GenerationOptions, Message, TokenStream, Usage

__all__ = ["BASE", "ChatModel", "GenerationOptions", "Message", "TokenStream", "Usage", "default_options"]


def default_options(settings: Settings) -> GenerationOptions:
    return GenerationOptions(max_new_tokens=settings.max_new_tokens, temperature=settings.temperature, top_p=settings.top_p)
