"""Builds the local backend from settings (kept apart so that importing the registry stays cheap)."""

from __future__ import annotations

from ..config import Settings
from .base import BASE
from .local import LocalChatModel
from .models import resolve_model


def create(settings: Settings) -> LocalChatModel:
    from . import default_options

    forced = settings.adapter if settings.adapter not in ("auto", BASE) else None
    return LocalChatModel(
        resolve_model(settings.model),
        cache_dir=settings.cache_dir,
        adapters_dir=settings.adapters_dir,
        device=settings.device,
        dtype=settings.dtype,
        context_window=settings.context_window,
        default_options=default_options(settings),
        default_adapter=forced,
    )
