"""One OpenAI-compatible server as the `openai` backend sees it: the client, every call's errors
turned into one-line `ModelError`s, and which model name a request with an adapter goes to."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import openai

from ..errors import AdapterError, ModelError, first_line
from .adapters import list_adapters
from .base import BASE

log = logging.getLogger(__name__)

T = TypeVar("T")
# Servers that need no key (llama.cpp, vLLM without --api-key, Ollama) still get one: the client insists.
NO_KEY = "no-key"


@dataclass(frozen=True)
class ServedModel:
    id: str
    parent: str | None = None  # vLLM names the base model a LoRA adapter belongs to
    max_model_len: int | None = None


class Server:
    def __init__(self, base_url: str, *, api_key: str | None, timeout: float, connect_timeout: float, retries: int,
                 model: str | None, adapter_models: dict[str, str], adapters_dir: Path | None,
                 default_adapter: str | None, fall_back_to_base: bool) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self.retries = retries
        self.client = openai.OpenAI(
            base_url=base_url,
            api_key=api_key or NO_KEY,
            timeout=openai.Timeout(timeout, connect=connect_timeout),
            max_retries=retries,
        )
        self.adapter_models = adapter_models
        self.adapters_dir = adapters_dir
        self.default_adapter = default_adapter
        self.fall_back_to_base = fall_back_to_base
        self._configured_model = model
        self._served: list[ServedModel] | None = None
        self._served_lock = threading.Lock()
        self._warned: set[str] = set()

    # --- calls ----------------------------------------------------------------------------

    def call(self, request: Callable[[], T], action: str, model: str | None = None) -> T:
        """Run one client call, turning the client's errors into one-line `ModelError`s."""
        try:
            return request()
        except openai.APITimeoutError:
            raise ModelError(
                f"The server at {self.base_url} did not answer within {self.timeout:g}s (to {action}). "
                f"Check that it is running, or raise `timeout` in the [openai] table."
            ) from None
        except openai.APIConnectionError as error:
            reason = first_line(error.__cause__ or error)
            raise ModelError(
                f"Cannot reach the model server at {self.base_url} ({reason}). Start it (see docs/deploy.md) "
                f"or fix --base-url."
            ) from error
        except openai.NotFoundError as error:
            if model is None:
                raise ModelError(
                    f"{self.base_url} has no {action} endpoint (404): is it an OpenAI-compatible URL ending in /v1?"
                ) from error
            raise self.unknown_model(model) from error
        except (openai.AuthenticationError, openai.PermissionDeniedError) as error:
            raise ModelError(
                f"The server at {self.base_url} refused the API key ({error.status_code}): set the environment "
                f"variable named by api_key_env to a valid key."
            ) from error
        except openai.RateLimitError as error:
            raise ModelError(
                f"The server at {self.base_url} is still busy (429) after {self.retries} retries. Try again shortly, "
                f"or serve fewer chats at once."
            ) from error
        except openai.APIStatusError as error:
            message = error.body.get("message") if isinstance(error.body, dict) else None
            after = f" after {self.retries} retries" if error.status_code >= 500 else ""
            raise ModelError(
                f"The server at {self.base_url} could not {action} ({error.status_code}{after}): "
                f"{first_line(message or error.message)}"
            ) from error

    def lost(self, error: Exception, yielded: bool) -> ModelError:
        """The error for a stream that broke off, before the reply began or in the middle of it."""
        when = "in the middle of the reply" if yielded else "before the reply began"
        if isinstance(error, openai.APITimeoutError):
            return ModelError(
                f"The server at {self.base_url} sent nothing for {self.timeout:g}s {when}. "
                f"Raise `timeout` in the [openai] table, or check the server."
            )
        return ModelError(f"The connection to {self.base_url} was lost {when}. Check that the server is still running.")

    # --- what it serves -------------------------------------------------------------------

    def served_models(self, refresh: bool = False) -> list[ServedModel]:
        """The server's /v1/models, fetched once (and again when a name turns out to be unknown)."""
        with self._served_lock:
            if self._served is None or refresh:
                page: Any = self.call(lambda: self.client.models.list(), "list the served models")
                self._served = [
                    ServedModel(
                        id=m.id,
                        parent=getattr(m, "parent", None),
                        max_model_len=getattr(m, "max_model_len", None),
                    )
                    for m in page.data
                ]
            return list(self._served)

    @property
    def name(self) -> str:
        """The served name of the base model: configured, or the one base model the server serves."""
        if self._configured_model:
            return self._configured_model
        bases = [m.id for m in self.served_models() if not m.parent]
        if len(bases) != 1:
            raise ModelError(
                f"The server at {self.base_url} serves {len(bases)} base models ({', '.join(bases) or 'none'}): "
                f"name one with --model NAME or `model = \"NAME\"` in the [openai] table."
            )
        self._configured_model = bases[0]
        return bases[0]

    def unknown_model(self, model: str) -> ModelError:
        served = ", ".join(m.id for m in self.served_models(refresh=True)) or "nothing"
        return ModelError(
            f"The server at {self.base_url} does not serve a model named {model!r}. It serves: {served}. "
            f"Set `model` (or the adapter's entry in `adapters`) in the [openai] table to one of these."
        )

    def served_name(self, adapter: str | None) -> str:
        """The model name a request with this adapter goes to, checked against what the server serves."""
        wanted = self.default_adapter if adapter is None else adapter
        base = self.name
        served = {m.id for m in self.served_models()}
        if base not in served:
            raise self.unknown_model(base)
        if wanted in (None, BASE):
            return base
        key = Path(wanted).name if "/" in wanted else wanted
        target = self.adapter_models.get(key, key)
        # vLLM can load adapters while it runs: look again before deciding one is missing (once, when falling back).
        if target in served or (key not in self._warned and target in {m.id for m in self.served_models(refresh=True)}):
            return target
        hint = (
            f"Serve it (vLLM: --enable-lora --lora-modules {target}=adapters/{key}), map it in the [openai] "
            f"table's `adapters`, or use --adapter none."
        )
        if self.fall_back_to_base:
            if key not in self._warned:
                self._warned.add(key)
                log.warning("The server at %s does not serve adapter %r; using the base model. %s", self.base_url, key, hint)
            return base
        raise AdapterError(f"The server at {self.base_url} does not serve adapter {key!r} (as model {target!r}). {hint}")

    def adapters(self) -> list[str]:
        """Adapters the server offers: the configured and locally installed ones it serves, and its LoRA models."""
        served = self.served_models()
        ids = {m.id for m in served}
        known = dict.fromkeys(self.adapter_models)
        if self.adapters_dir is not None:
            known.update(dict.fromkeys(info.name for info in list_adapters(self.adapters_dir)))
        offered = [name for name in known if self.adapter_models.get(name, name) in ids]
        mapped = {self.adapter_models.get(name, name) for name in offered}
        offered += [m.id for m in served if m.parent and m.id not in mapped]
        return offered
