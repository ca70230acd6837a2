"""`assistant index ...`: build, maintain and search the knowledge base."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
import time
from collections.abc import Iterator

import click

from ..errors import UsageError
from ..humanize import human_size

SHOWN = 20  # skipped or failed files listed before "... and N more"


@click.group()
def index() -> None:
    """Add, remove, sync and search documents in the knowledge base.

    The index lives in ./index (or --index DIR, ASSISTANT_INDEX). Formats: .txt .md .rst .html .pdf
    .docx .csv .tsv .xlsx .json .jsonl and source code; other files are skipped with the reason.
    """


@contextlib.contextmanager
def _progress(enabled: bool) -> Iterator:
    """A progress bar on a terminal; the callback the knowledge base calls with (done, total)."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    bar = tqdm(total=0, unit="file", desc="Indexing", file=sys.stderr, leave=False, dynamic_ncols=True)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        yield update
    finally:
        bar.close()


def _report(report, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(report), ensure_ascii=False, indent=2))
    else:
        rows = [("added", report.added), ("updated", report.updated), ("unchanged", report.unchanged)]
        if report.removed:
            rows.append(("removed", report.removed))
        rows += [("skipped", report.skipped), ("failed", report.failed)]
        for label, items in rows:
            click.echo(f"{label:<10} {len(items):>6}")
            if label in ("skipped", "failed", "removed"):
                for item in items[:SHOWN]:
                    path, why = item if isinstance(item, tuple) else (item, "")
                    click.echo(f"           {path}" + (f": {why}" if why else ""))
                if len(items) > SHOWN:
                    click.echo(f"           ... and {len(items) - SHOWN} more (--json lists all)")
        click.echo(f"{report.chunks} chunks embedded in {report.seconds:.1f} s")
    if report.failed:
        sys.exit(1)


@index.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--include", multiple=True, metavar="GLOB", help="Only files matching this gitignore-style pattern (repeatable).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Leave out files or folders matching this pattern (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def add(state, paths, include, exclude, as_json) -> None:
    """Index files and folders (recursively); unchanged files are skipped quickly.

    Hidden files, build and dependency folders and what .gitignore lists are left out.
    Exits with 1 when some file could not be read.
    """
    with _progress(not as_json) as progress:
        report = state.runtime.knowledge.add(paths, include, exclude, progress=progress)
    _report(report, as_json)


@index.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.pass_obj
def remove(state, paths) -> None:
    """Take a document, or every document in a folder, out of the index; sync will not add it back."""
    removed = state.runtime.knowledge.remove(paths)
    if not removed:
        click.echo(f"Nothing indexed at {', '.join(paths)}. See `assistant index list`.", err=True)
        sys.exit(1)
    click.echo(f"Removed {removed} document{'s' if removed != 1 else ''}.")


@index.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def sync(state, as_json) -> None:
    """Re-read every added path: index new and changed files, prune files that are gone."""
    with _progress(not as_json) as progress:
        report = state.runtime.knowledge.sync(progress=progress)
    _report(report, as_json)


@index.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def rebuild(state, as_json) -> None:
    """Index every recorded source again from scratch, with the configured embedder.

    Use it after an error says the index is damaged, or to switch embedders. The old index
    keeps answering searches until the new one is complete.
    """
    with _progress(not as_json) as progress:
        report = state.runtime.knowledge.rebuild(progress=progress)
    _report(report, as_json)


@index.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def list_documents(state, as_json) -> None:
    """List the indexed documents with their chunk counts and sizes."""
    documents = state.runtime.knowledge.documents()
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(d) for d in documents], ensure_ascii=False, indent=2))
        return
    if not documents:
        click.echo("The knowledge base is empty. Add documents with `assistant index add PATH`.")
        return
    click.echo(f"{'CHUNKS':>6}  {'SIZE':>9}  {'INDEXED':<16}  PATH (TITLE)")
    for doc in documents:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(doc.indexed_at))
        click.echo(f"{doc.chunks:>6}  {human_size(doc.size):>9}  {when:<16}  {doc.path} ({doc.title})")


@index.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def stats(state, as_json) -> None:
    """Documents, chunks, size on disk, embedder and index type."""
    info = state.runtime.knowledge.stats()
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False, indent=2))
        return
    updated = time.strftime("%Y-%m-%d %H:%M", time.localtime(info["updated"])) if info.get("updated") else "never"
    rows = [
        ("folder", info["folder"]),
        ("documents", info["documents"]),
        ("chunks", info["chunks"]),
        ("on disk", human_size(info["bytes"])),
        ("embedder", info["embedder"] + (f" (dimension {info['dimension']})" if info["dimension"] else "")),
        ("index", f"{info['index']}; approximate above {info['approximate_above']:,} chunks"),
        ("updated", updated),
    ]
    for label, value in rows:
        click.echo(f"{label:<10} {value}")


def _passage_dict(passage) -> dict:
    return {**dataclasses.asdict(passage), "location": passage.location}


@index.command()
@click.argument("query", required=False)
@click.option("-k", "k", default=5, show_default=True, type=click.IntRange(1, 1000), help="How many passages.")
@click.option("--json", "as_json", is_flag=True, help="Print the passages as JSON.")
@click.option("--queries", type=click.File("r", encoding="utf-8"), help="Run one query per line; print one JSON line per query.")
@click.option("--mode", type=click.Choice(["hybrid", "dense", "lexical"]), default="hybrid", show_default=True,
              help="Rank by both, by meaning only, or by BM25 only.")
@click.pass_obj
def search(state, query, k, as_json, queries, mode) -> None:
    """Find the passages that best match QUERY: score, source, heading and page or lines."""
    knowledge = state.runtime.knowledge
    if queries is not None:
        for line in queries:
            if line.strip():
                found = knowledge.search(line.strip(), k, mode=mode)
                click.echo(json.dumps({"query": line.strip(), "results": [_passage_dict(p) for p in found]}, ensure_ascii=False))
        return
    if not query or not query.strip():
        raise UsageError("Give a query, e.g. assistant index search \"how do I install\", or --queries FILE.")
    found = knowledge.search(query, k, mode=mode)
    if as_json:
        click.echo(json.dumps([_passage_dict(p) for p in found], ensure_ascii=False, indent=2))
        return
    if not found:
        click.echo("No passages found." if knowledge.documents() else "The knowledge base is empty. Add documents with `assistant index add PATH`.")
        return
    for rank, passage in enumerate(found, start=1):
        relevance = f"  relevance {passage.relevance:.2f}" if passage.relevance is not None else ""
        click.echo(click.style(f"{rank}. {passage.location}", bold=True) + f"  score {passage.score:.4f}{relevance}")
        text = " ".join(passage.text.split())
        click.echo("   " + (text if len(text) <= 400 else text[:400] + " ..."))
