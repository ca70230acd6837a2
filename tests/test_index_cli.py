"""`assistant index ...` through the real command line, with the real embedded MiniLM."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_cli import run_main

pytestmark = pytest.mark.real_model


def count(out: str, label: str) -> int:
    """The number on a report row such as 'added      2'."""
    return int(re.search(rf"^{label}\s+(\d+)$", out, re.MULTILINE).group(1))


@pytest.fixture
def notes(tmp_path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "boiler.md").write_text("# Boiler\n\n## Reset\n\nHold the red button for ten seconds to reset the boiler after fault F28.\n")
    (folder / "garden.md").write_text("# Garden\n\nWater the tomatoes every morning in summer.\n")
    (folder / "scan.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    return folder


def test_add_list_stats_search_remove_sync_rebuild(monkeypatch, capsys, tmp_path, notes):
    code, out, _ = run_main(monkeypatch, capsys, "index", "add", str(notes))
    assert code == 0, out
    assert (count(out, "added"), count(out, "unchanged"), count(out, "skipped"), count(out, "failed")) == (2, 0, 1, 0)
    assert f"{notes / 'scan.png'}: unsupported file type .png" in out

    code, out, _ = run_main(monkeypatch, capsys, "index", "add", str(notes), "--json")
    report = json.loads(out)
    assert code == 0 and len(report["unchanged"]) == 2 and report["added"] == [] and report["chunks"] == 0

    code, out, _ = run_main(monkeypatch, capsys, "index", "list")
    assert code == 0 and str(notes / "boiler.md") in out and "(Boiler)" in out

    code, out, _ = run_main(monkeypatch, capsys, "index", "stats", "--json")
    stats = json.loads(out)
    assert (stats["documents"], stats["embedder"], stats["dimension"]) == (2, "all-minilm-l6-v2", 384)
    assert stats["folder"] == str(tmp_path / "index") and stats["index"].startswith("exact")
    code, out, _ = run_main(monkeypatch, capsys, "index", "stats")
    assert "exact (flat inner product); approximate above 200,000 chunks" in out

    code, out, _ = run_main(monkeypatch, capsys, "index", "search", "how do I restart the heating", "-k", "1")
    assert code == 0 and out.startswith(f"1. {notes / 'boiler.md'} › Boiler > Reset, line 5") and "F28" in out

    code, out, _ = run_main(monkeypatch, capsys, "index", "search", "F28", "--json", "-k", "2")
    found = json.loads(out)
    assert found[0]["source"] == str(notes / "boiler.md") and 0 < found[0]["relevance"] <= 1 and found[0]["location"]

    queries = tmp_path / "queries.txt"
    queries.write_text("tomatoes\n\nfault F28\n")
    code, out, _ = run_main(monkeypatch, capsys, "index", "search", "--queries", str(queries), "-k", "1")
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(q["query"], Path(q["results"][0]["source"]).name) for q in lines] == [("tomatoes", "garden.md"), ("fault F28", "boiler.md")]

    code, out, _ = run_main(monkeypatch, capsys, "index", "remove", str(notes / "garden.md"))
    assert code == 0 and out.strip() == "Removed 1 document."
    code, _, err = run_main(monkeypatch, capsys, "index", "remove", str(notes / "garden.md"))
    assert code == 1 and "Nothing indexed at" in err

    (notes / "boiler.md").unlink()
    (notes / "pump.md").write_text("# Pump\n\nThe pump runs quietly.\n")
    code, out, _ = run_main(monkeypatch, capsys, "index", "sync", "--json")
    report = json.loads(out)
    assert code == 0 and report["removed"] == [str(notes / "boiler.md")] and report["added"] == [str(notes / "pump.md")]

    code, out, _ = run_main(monkeypatch, capsys, "index", "rebuild")
    assert code == 0 and count(out, "added") == 1


def test_errors_are_one_line_with_the_fix(monkeypatch, capsys, tmp_path, notes):
    code, out, _ = run_main(monkeypatch, capsys, "index", "search", "anything")
    assert code == 0 and "The knowledge base is empty" in out
    code, _, err = run_main(monkeypatch, capsys, "index", "search")
    assert code == 2 and err.startswith("Error: Give a query")

    code, out, _ = run_main(monkeypatch, capsys, "index", "add", str(notes), str(tmp_path / "missing"))
    assert code == 1 and f"{tmp_path / 'missing'}: no such file or folder" in out

    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text())
    (tmp_path / "index" / f"{manifest['store']}.1.faiss").write_bytes(b"\x00" * 64)
    code, _, err = run_main(monkeypatch, capsys, "index", "search", "boiler")
    assert code == 5 and err.count("\n") == 1
    assert err.startswith("Error: The knowledge base in") and "Run `assistant index rebuild`" in err
