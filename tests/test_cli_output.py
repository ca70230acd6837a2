"""How the terminal shows a streamed reply that the final reply changed."""

from __future__ import annotations

import io
import os
import re
import sys
import threading

import pytest

from assistant.cli.output import print_stream
from assistant.reply import Reply, TextDelta

ERASE_LINE = "\r\033[K"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def terminal(monkeypatch):
    """Show a reply on stdout as an 80-column terminal; what was written to it."""
    monkeypatch.setattr("shutil.get_terminal_size", lambda fallback=(80, 24): os.terminal_size((80, 24)))

    def show(streamed: list[str], reply: Reply) -> str:
        screen, captured = Terminal(), sys.stdout
        # Set here, not in the fixture: pytest puts its own stdout back before the test runs.
        sys.stdout = screen
        try:
            shown(streamed, reply)
        finally:
            sys.stdout = captured
        return re.sub(r"\033\[[0-9;]*m", "", screen.getvalue())  # without colours

    return show


def shown(streamed: list[str], reply: Reply) -> None:
    print_stream(iter([*map(TextDelta, streamed), reply]), threading.Event())


def test_a_one_line_answer_is_rewritten_in_place(terminal):
    out = terminal(["90 days", " [2]"], Reply("90 days [1]", "qa", notice="Answered from your documents."))
    assert out.startswith("90 days [2]" + ERASE_LINE + "90 days [1]\n")
    assert "(replaced" not in out
    assert "Answered from your documents." in out  # the notice still says where the answer comes from


def test_an_answer_over_several_lines_is_shown_again_below(terminal):
    out = terminal(["first line\nsecond"], Reply("other", "qa", notice="The answer was checked."))
    assert ERASE_LINE not in out
    assert "(replaced: The answer was checked.)\nother\n" in out


def test_an_answer_wider_than_the_terminal_is_shown_again_below(terminal):
    out = terminal(["x" * 80], Reply("y", "qa", notice="Changed."))
    assert ERASE_LINE not in out
    assert "(replaced: Changed.)" in out


def test_wide_characters_count_twice(terminal):
    assert ERASE_LINE not in terminal(["答" * 40], Reply("y", "qa", notice="Changed."))  # 80 columns on screen
    assert ERASE_LINE in terminal(["答" * 39], Reply("y", "qa", notice="Changed."))


def test_an_error_keeps_what_was_streamed(terminal):
    out = terminal(["partial answer"], Reply("The model stopped.", "error", error=True))
    assert out == "partial answer\n"  # the error itself goes to stderr


def test_no_terminal_no_control_characters(capsys):
    shown(["90 days [2]"], Reply("90 days [1]", "qa", notice="Answered from your documents."))
    out = capsys.readouterr().out
    assert "\033" not in out
    assert out.startswith("90 days [2]\n(replaced: Answered from your documents.)\n90 days [1]\n")


def test_nothing_streamed_shows_the_reply_and_its_notice(terminal):
    out = terminal([], Reply("€4.20 [1]", "qa", notice="Answered from a row of a table in your documents."))
    assert out == "€4.20 [1]\nAnswered from a row of a table in your documents.\n"
