"""Shared by the quality benchmarks: where the data is, a fixed-seed sample, the settings, the report.

Each bench is a script (`python bench/qa_xquad.py --help`); this module sits next to them so they
can `import common` without the repository being installed as a package.
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(REPO))

DATA_CANDIDATES = (REPO.parent / "shared" / "data", Path("/work/shared/data"))
SEED = 13
T = TypeVar("T")


class DataMissing(SystemExit):
    """The evaluation data is not where the bench looks: say where it looked, and how to point it elsewhere."""


def data_dir(explicit: str | Path | None = None) -> Path:
    """``--data`` if given, else ``../shared/data`` next to the checkout, else /work/shared/data."""
    candidates = [Path(explicit).expanduser()] if explicit else list(DATA_CANDIDATES)
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    looked = ", ".join(str(c) for c in candidates)
    raise DataMissing(f"Evaluation data not found (looked in {looked}); pass --data DIR.")


def require(path: Path) -> Path:
    if not path.exists():
        raise DataMissing(f"Missing evaluation data: {path} (see SOURCES.md in the data folder).")
    return path


def read_jsonl(path: Path) -> list[dict]:
    with require(path).open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def read_lines(path: Path) -> list[str]:
    return require(path).read_text(encoding="utf-8").splitlines()


def sample(items: Sequence[T], limit: int | None, seed: int = SEED) -> list[T]:
    """A fixed-seed sample in the data's own order, so reruns and other benches see the same items."""
    if limit is None or limit >= len(items):
        return list(items)
    chosen = sorted(random.Random(seed).sample(range(len(items)), limit))
    return [items[i] for i in chosen]


def base_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", help="evaluation data folder (default: ../shared/data, then /work/shared/data)")
    parser.add_argument("--model", default="smollm2-135m", help="model spec, as for `assistant --model` (default: the embedded one)")
    parser.add_argument("--adapter", default="auto",
                        help="auto (each skill's own adapter when installed), none (base model), or an adapter name/path")
    parser.add_argument("--seed", type=int, default=SEED, help="sampling seed (default: %(default)s)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures and per-item results as JSON")
    return parser


def add_qa_settings(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--qa", action="append", default=[], metavar="KEY=VALUE",
                        help="a [qa] setting for this run, e.g. --qa answer_score=0.4 (repeatable)")


def qa_settings(args: argparse.Namespace) -> dict[str, str]:
    """The --qa settings as written; the QA skill reads each as its option's type (config.read_table), as from the file."""
    return {key.strip(): value.strip() for key, value in (item.split("=", 1) for item in args.qa)}


def settings_for(args: argparse.Namespace, work: Path, **overrides: Any):
    """Bench settings: the model and adapter asked for, a throw-away history, nothing from assistant.toml."""
    from assistant.config import Settings

    values = {"model": args.model, "adapter": args.adapter, "data_dir": work / "data", "index": work / "index", **overrides}
    return Settings(**values)


def work_dir() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="assistant-bench-")


class Report:
    """What every bench prints around its figures: the command, the model and adapters, the wall time."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.started = time.perf_counter()
        self.command = " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv])
        self.info: dict[str, Any] = {}
        self.tables: dict[str, list[dict[str, Any]]] = {}

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def table(self, title: str, rows: list[dict[str, Any]]) -> None:
        self.tables[title] = rows
        print(f"\n{title}")
        print(format_table(rows))

    def finish(self, json_path: str | None = None, details: Any = None) -> None:
        print()
        for key, value in {"command": self.command, **self.info, "wall time": f"{self.elapsed():.0f} s"}.items():
            print(f"{key}: {value}")
        if json_path:
            payload = {"bench": self.name, "command": self.command, "date": time.strftime("%Y-%m-%d"),
                       "wall_s": round(self.elapsed(), 1), "info": self.info, "tables": self.tables, "items": details}
            Path(json_path).write_text(json.dumps(payload, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
            print(f"json: {json_path}")


def format_table(rows: list[dict[str, Any]]) -> str:
    """A Markdown table (so figures paste straight into bench/README.md); floats to 3 places."""
    if not rows:
        return "(no rows)"
    headers = list(rows[0])
    cells = [[_cell(row.get(h)) for h in headers] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = lambda values: "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths)) + " |"  # noqa: E731
    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, cells)])


def _cell(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None
