"""What the training-data builders share: where the shared data lies, reading JSON lines (gzipped or
not), and writing examples atomically (a builder killed half-way leaves the last good file)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from assistant.files import atomic_write_text

_BESIDE_REPO = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DEFAULT_SHARED = _BESIDE_REPO if _BESIDE_REPO.is_dir() else Path("/work/shared/data")
DATA_CACHE = Path.home() / ".cache" / "assistant" / "data"


def read_jsonl(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def write_jsonl(path: Path, records: list[dict]) -> None:
    atomic_write_text(path, "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records))
