"""Model backends behind one protocol. A backend is registered here by name and imported on first use."""

from __future__ import annotations

import importlib
from typing import Callable

from ..config import Settings
from ..errors import ConfigError
from .adapters import adapter_path
from .base import BASE, ChatModel, GenerationOptions, Message, TokenStream, Usage

__all__ = ["BASE", "ChatModel", "GenerationOptions", "Message", "TokenStream", "Usage", "load_chat_model", "choose_adapter"]

# name -> "module:factory"; each factory takes Settings and returns a ChatModel.
BACKENDS: dict[str, str] = {
    "local": "assistant.llm.local_factory:create",
    "openai": "assistant.llm.openai_backend:create",
}


def register_backend(name: str, target: str) -> None:
    BACKENDS[name] = target


def _factory(name: str) -> Callable[[Settings], ChatModel]:
    try:
        module_name, attr = BACKENDS[name].split(":")
    except KeyError:
        raise ConfigError(f"Unknown backend {name!r}. Available: {', '.join(sorted(BACKENDS))}.") from None
    return getattr(importlib.import_module(module_name), attr)


def default_options(settings: Settings) -> GenerationOptions:
    return GenerationOptions(max_new_tokens=settings.max_new_tokens, temperature=settings.temperature, top_p=settings.top_p)


def load_chat_model(settings: Settings) -> ChatModel:
    return _factory(settings.backend)(settings)


def choose_adapter(settings: Settings, skill_default: str | None) -> str | None:
    """The adapter one skill should run with.

    ``--adapter auto`` (the default) lets each skill use its own adapter when it is installed,
    ``none`` runs the base model everywhere, and a name or path forces that adapter everywhere.
    """
    if settings.adapter == "auto":
        if skill_default and (adapter_path(skill_default, settings.adapters_dir) / "adapter_config.json").is_file():
            return skill_default
        return BASE
    return settings.adapter
