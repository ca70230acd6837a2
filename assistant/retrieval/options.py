"""How the knowledge base is tuned: the ``[knowledge]`` table of assistant.toml."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..config import read_table
from ..errors import ConfigError
from .vectors import VectorOptions

MODES = ("hybrid", "dense", "lexical")  # how search ranks: both fused, by meaning, by BM25


@dataclass
class KnowledgeOptions:
    """Tunable from the ``[knowledge]`` table of assistant.toml."""

    chunk_tokens: int = 200  # all-MiniLM-L6-v2 reads 256 word pieces; the header takes some
    chunk_overlap: int = 40
    approximate_above: int = 200_000  # chunks; past this the vectors go into an IVF index
    nprobe: int = 0  # IVF lists searched per query; 0: a sixteenth of them, at least 32
    fusion: str = "convex"  # or "rrf"
    dense_weight: float = 0.5  # for convex fusion: cosine weight, the BM25 fraction gets the rest
    candidates: int = 100  # taken from each ranking before fusing
    batch_size: int = 64  # texts per forward pass of the embedder
    embed_group: int = 512  # chunks gathered across files per encode call
    checkpoint_seconds: float = 60.0  # a long add commits this often, so an interruption loses little
    # Larger files are skipped: a 50 MB text file is some 50,000 passages, an hour of embedding on
    # a laptop CPU and gigabytes of memory while it is chunked.
    max_file_mb: float = 20.0
    lock_timeout: float = 3.0

    @classmethod
    def from_section(cls, table: dict[str, Any]) -> KnowledgeOptions:
        options = read_table(cls, "knowledge", table)
        if options.fusion not in ("rrf", "convex"):
            raise ConfigError(f"[knowledge] fusion = {options.fusion!r}: use 'rrf' or 'convex'.")
        return options

    @property
    def vector_options(self) -> VectorOptions:
        return VectorOptions(approximate_above=self.approximate_above, nprobe=self.nprobe)
