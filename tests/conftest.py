from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

# Nothing in the tests may reach a model hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

REPO = Path(__file__).resolve().parent.parent
SHARED_CACHE = Path(os.environ.get("ASSISTANT_TEST_CACHE", Path.home() / ".cache" / "assistant"))


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temp data dir per test; no user config file or stray ASSISTANT_* variables leak in."""
    for name in list(os.environ):
        if name.startswith("ASSISTANT_") or name in ("TELEGRAM_BOT_TOKEN", "OPENAI_API_KEY"):
            monkeypatch.delenv(name, raising=False)
    data = tmp_path / "data"
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(data))
    monkeypatch.setenv("ASSISTANT_INDEX", str(tmp_path / "index"))
    # Behaviour under test must not depend on which adapters the checkout happens to ship.
    monkeypatch.setenv("ASSISTANT_ADAPTERS_DIR", str(tmp_path / "adapters"))
    monkeypatch.setenv("ASSISTANT_RERANKERS_DIR", str(tmp_path / "rerankers"))
    # Converted model weights are shared between tests: converting is what the cache is for.
    monkeypatch.setenv("ASSISTANT_CACHE_DIR", str(SHARED_CACHE))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def wait_until(condition: Callable[[], bool], timeout: float = 10.0, interval: float = 0.02) -> None:
    """Poll until condition() is true; fail the test after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


_real_model_lock = threading.Lock()
_real_model = None


@pytest.fixture
def real_model():
    """The embedded SmolLM2 through the local backend, loaded once per test session."""
    global _real_model
    from assistant.config import Settings
    from assistant.llm.local_factory import create

    with _real_model_lock:
        if _real_model is None:
            _real_model = create(Settings(cache_dir=SHARED_CACHE, adapter="none", max_new_tokens=64))
    return _real_model
