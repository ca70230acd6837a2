"""Builds the local backend from settings (kept apart so that importing the registry stays cheap)."""

from __future__ import annotations

from ..config import Settings
from .adapters import check_base, read_adapter
from .base import BASE
from .local import LocalChatModel
from .models import resolve_model


def create(settings: Settings) -> LocalChatModel:
    from . import default_options

    source = resolve_model(settings.model)
    forced = settings.adapter if settings.adapter not in ("auto", BASE) else None
    if forced:
        # Checked before the model loads, so a typo costs a second, not a model load.
        check_base(read_adapter(forced, settings.adapters_dir), source)
    return LocalChatModel(
        source,
        cache_dir=settings.cache_dir,
        adapters_dir=settings.adapters_dir,
        device=settings.device,
        dtype=settings.dtype,
        context_window=settings.context_window,
        default_options=default_options(settings),
        default_adapter=forced,
        engine=settings.engine,
    )
