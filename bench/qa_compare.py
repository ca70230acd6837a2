"""Compare runs of qa_company.py from their --json files: counts by verdict for each run, and with --diff the questions
whose verdict or reply changed between two runs. Nothing is asked again.

A run is one file or a quoted glob of several (the four training companies of scripts/qa_docs, each run apart):

    python bench/qa_compare.py '/tmp/qa/before-*.json' '/tmp/qa/after-*.json' --diff

Verdicts: right / wrong / declined for an answerable question (right: the fact, with its file cited), quoted right /
quoted wrong when the passage was quoted, and for a question whose fact is in no document (unanswerable, or a
follow-up without answers) declined / quoted / answered; follow-ups are counted apart ("f-").
"""

from __future__ import annotations

import argparse
import glob
import json
from collections import Counter
from pathlib import Path

import common
from qa_xquad import SHOWN

ANSWERABLE = ("right", "wrong", "declined", "quoted right", "quoted wrong")
UNANSWERABLE = ("declined", "quoted", "answered")


def verdict(item: dict) -> str:
    """What happened to one question of a qa_company.py run, as the columns of ``counts`` name it."""
    shown, right = item["why"] in SHOWN, item["has_fact"] and item["cites_source"]
    if item["kind"] == "unanswerable" or not item["answers"]:
        return "u-" + ({"answered": "answered", "quoted": "quoted"}.get(item["why"], "declined"))
    prefix = "f-" if item["kind"] == "followup" else ""
    if not shown:
        return prefix + "declined"
    return prefix + ("quoted " if item["why"] == "quoted" else "") + ("right" if right else "wrong")


def load(run: str) -> dict[str, dict]:
    """The items of a run (a file or a glob of files) by question id."""
    files = sorted(glob.glob(run)) or [run]
    items: dict[str, dict] = {}
    for name in files:
        path = Path(name)
        if not path.is_file():
            raise SystemExit(f"{run}: no such file; give a qa_company.py --json output, or a quoted glob of several")
        for item in json.loads(path.read_text(encoding="utf-8"))["items"]:
            if item["id"] in items:
                raise SystemExit(f"{run}: question {item['id']} is in two of its files; give each set once")
            items[item["id"]] = item
    return items


def counts(run: str, items: dict[str, dict]) -> dict:
    found = Counter(verdict(item) for item in items.values())
    return {"run": run, "questions": len(items),
            **{name: found[name] for name in ANSWERABLE},
            **{f"no fact: {name}": found[f"u-{name}"] for name in UNANSWERABLE},
            **{f"follow-up {name}": found[f"f-{name}"] for name in ANSWERABLE}}


def changes(before: dict[str, dict], after: dict[str, dict]) -> list[str]:
    """One entry per question asked in both runs whose verdict or reply differs: the question, then each reply."""
    lines = []
    for id in sorted(before.keys() & after.keys()):
        old, new = before[id], after[id]
        if verdict(old) == verdict(new) and old["reply"] == new["reply"]:
            continue
        lines.append(f"{id} [{old['kind']}] {old['question']!r}  expected {old['answers']}\n"
                     f"   {verdict(old):14} {old['reply'][:110]!r}\n   {verdict(new):14} {new['reply'][:110]!r}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="a qa_company.py --json file, or a quoted glob of several, per run")
    parser.add_argument("--diff", action="store_true", help="list the questions whose verdict or reply changed (two runs)")
    args = parser.parse_args()
    if args.diff and len(args.runs) != 2:
        parser.error("--diff compares two runs")
    runs = {run: load(run) for run in args.runs}
    print(common.format_table([counts(run, items) for run, items in runs.items()]))
    if args.diff:
        before, after = runs.values()
        if only := sorted(before.keys() ^ after.keys()):
            print(f"\nasked in one run only: {', '.join(only)}")
        print("", *changes(before, after), sep="\n")


if __name__ == "__main__":
    main()
