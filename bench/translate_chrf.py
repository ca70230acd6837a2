"""Translation quality: chrF (sacrebleu) on Tatoeba and WMT22 pairs, both directions for en-fr, en-de, en-zh.

Each source sentence goes through the ConversationManager as `/translate <language> <text>`, the path
a user takes (language detection, splitting, the translate adapter when one is installed).

    python bench/translate_chrf.py --limit 25 [--adapter none|auto|NAME] [--pairs fr,de,zh] [--datasets tatoeba,wmt22]

Tatoeba (LASER test set) holds short everyday sentences; WMT22 general test holds news, e-commerce and
social-media segments (references A and B where WMT22 has both). WMT22 has no en-fr pair, so those
cells are n/a. chrF is sacrebleu's default (character 6-grams, beta 2) on the detokenised text.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import common

LANGUAGES = {"en": "English", "fr": "French", "de": "German", "zh": "Chinese"}
TATOEBA_CODES = {"fr": "fra", "de": "deu", "zh": "cmn"}
DATASETS = ("tatoeba", "wmt22")


@dataclass(frozen=True)
class Direction:
    dataset: str
    source: str  # language code
    target: str
    sources: tuple[str, ...]
    references: tuple[tuple[str, ...], ...]  # one tuple per reference set, aligned with sources

    @property
    def name(self) -> str:
        return f"{self.source}-{self.target}"


def tatoeba(data: Path, other: str) -> list[Direction]:
    folder, code = data / "tatoeba_laser", TATOEBA_CODES[other]
    english = common.read_lines(folder / f"tatoeba.{code}-eng.eng")
    foreign = common.read_lines(folder / f"tatoeba.{code}-eng.{code}")
    pairs = [(e.strip(), f.strip()) for e, f in zip(english, foreign) if e.strip() and f.strip()]
    return [
        Direction("tatoeba", "en", other, tuple(e for e, _ in pairs), (tuple(f for _, f in pairs),)),
        Direction("tatoeba", other, "en", tuple(f for _, f in pairs), (tuple(e for e, _ in pairs),)),
    ]


def wmt22(data: Path, source: str, target: str) -> Direction | None:
    folder = data / "wmt22_generaltest"
    stem = folder / f"generaltest2022.{source}-{target}"
    if not Path(f"{stem}.src.{source}").is_file():
        return None
    sources = common.read_lines(Path(f"{stem}.src.{source}"))
    references = [common.read_lines(Path(f"{stem}.ref.{r}.{target}")) for r in "AB" if Path(f"{stem}.ref.{r}.{target}").is_file()]
    keep = [i for i, s in enumerate(sources) if s.strip()]
    return Direction("wmt22", source, target, tuple(sources[i] for i in keep), tuple(tuple(r[i] for i in keep) for r in references))


def directions(data: Path, others: Sequence[str], datasets: Sequence[str] = DATASETS) -> list[Direction | tuple[str, str, str]]:
    """Every (dataset, direction); a direction the dataset lacks is (dataset, source, target) for an n/a row."""
    found: list[Direction | tuple[str, str, str]] = []
    for other in others:
        if "tatoeba" in datasets:
            found.extend(tatoeba(data, other))
        if "wmt22" in datasets:
            for source, target in (("en", other), (other, "en")):
                found.append(wmt22(data, source, target) or ("wmt22", source, target))
    return found


def sampled(direction: Direction, limit: int | None, seed: int) -> Direction:
    indices = common.sample(range(len(direction.sources)), limit, seed)
    return Direction(direction.dataset, direction.source, direction.target, tuple(direction.sources[i] for i in indices),
                     tuple(tuple(r[i] for i in indices) for r in direction.references))


@dataclass
class Translation:
    dataset: str
    direction: str
    source: str
    references: list[str]
    output: str
    error: bool
    seconds: float


def translate(manager, direction: Direction, progress: bool = False) -> list[Translation]:
    results = []
    for i, text in enumerate(direction.sources):
        started = time.perf_counter()
        reply = manager.handle("bench-translate", f"/translate {LANGUAGES[direction.target]} {text}", remember=False)
        seconds = time.perf_counter() - started
        output = "" if reply.error else reply.text
        results.append(Translation(direction.dataset, direction.name, text, [r[i] for r in direction.references],
                                   output, reply.error, seconds))
        if progress:
            print(f"  {direction.dataset} {direction.name} {i + 1}/{len(direction.sources)} {seconds:5.1f}s "
                  f"{text[:50]!r} -> {output[:50]!r}", flush=True)
    return results


def chrf(results: Sequence[Translation]) -> float:
    from sacrebleu.metrics import CHRF

    references = [list(r) for r in zip(*(t.references for t in results))]
    return CHRF().corpus_score([t.output for t in results], references).score


def row(dataset: str, direction: str, results: Sequence[Translation] | None) -> dict:
    if not results:
        return {"dataset": dataset, "direction": direction, "pairs": 0, "chrF": None, "errors": None, "s/pair": None}
    return {"dataset": dataset, "direction": direction, "pairs": len(results), "chrF": chrf(results),
            "errors": sum(t.error for t in results), "s/pair": common.mean([t.seconds for t in results])}


def main() -> None:
    parser = common.base_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=25, help="sentence pairs per dataset and direction (default: %(default)s)")
    parser.add_argument("--pairs", default="fr,de,zh", help="languages paired with English (default: %(default)s)")
    parser.add_argument("--datasets", default=",".join(DATASETS), help="default: %(default)s")
    parser.add_argument("--quiet", action="store_true", help="no line per sentence")
    args = parser.parse_args()

    from assistant.runtime import Runtime

    data = common.data_dir(args.data)
    others = [code.strip() for code in args.pairs.split(",") if code.strip()]
    unknown = [code for code in others if code not in TATOEBA_CODES]
    if unknown:
        parser.error(f"--pairs: unknown {', '.join(unknown)} (known: {', '.join(TATOEBA_CODES)})")
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    if unknown := [d for d in datasets if d not in DATASETS]:
        parser.error(f"--datasets: unknown {', '.join(unknown)} (known: {', '.join(DATASETS)})")
    plan = directions(data, others, datasets)
    report = common.Report("translate_chrf")
    rows, details = [], []
    with common.work_dir() as tmp:
        manager = Runtime(common.settings_for(args, Path(tmp))).manager
        status = manager.status()
        print(f"model: {status['model']}, translate adapter: {status['adapters']['translate']}", flush=True)
        for item in plan:
            if isinstance(item, Direction):
                results = translate(manager, sampled(item, args.limit, args.seed), progress=not args.quiet)
                rows.append(row(item.dataset, item.name, results))
                details.extend(asdict(t) for t in results)
            else:
                rows.append(row(item[0], f"{item[1]}-{item[2]}", None))
    report.info.update({"data": f"{data}/tatoeba_laser, {data}/wmt22_generaltest", "model": status["model"],
                        "translate adapter": status["adapters"]["translate"], "seed": args.seed})
    rows.sort(key=lambda r: r["dataset"])  # stable: directions keep their order within a dataset
    report.table("chrF by dataset and direction", rows)
    report.finish(args.json, details)


if __name__ == "__main__":
    main()
