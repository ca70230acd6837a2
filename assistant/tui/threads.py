"""Handing work from a worker thread back to the UI thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import App


def on_ui_thread(app: App, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a callback on the UI thread from a worker thread and return its result; False once the
    app has closed (a worker that sees it stops)."""
    if not app.is_running:
        return False
    try:
        return app.call_from_thread(callback, *args, **kwargs)
    except RuntimeError:
        return False
