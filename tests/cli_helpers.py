"""Running the real `assistant` entry point in-process, as a person would from the shell."""

from __future__ import annotations

import sys

import pytest

from assistant.cli import main


def run_main(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `assistant ARGS...`."""
    monkeypatch.setattr(sys, "argv", ["assistant", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err
