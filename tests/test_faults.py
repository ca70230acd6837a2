"""Kill -9 during index and history writes: the quick subset of scripts/fault_injection.py (the full sweep is the script)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import REPO

pytestmark = pytest.mark.real_model


def test_a_writer_killed_at_a_commit_leaves_a_consistent_index_that_sync_settles(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "fault_injection.py"), "--quick", "--json",
                           "--work", str(tmp_path / "work")], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode in (0, 1), done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["failures"] == []
    # add, remove and sync each killed just after their commit, add and remove also mid-manifest;
    # the history writer killed five times at random moments
    assert set(result["by_scenario"]) == {"add (one commit)", "remove (one commit)", "sync (one commit)", "history"}
    assert result["tried"] >= 10 and result["by_scenario"]["history"] == 5
