"""`assistant ask|translate|summarize` through the real command line and knowledge base, with a scripted model."""

from __future__ import annotations

import io
import json

import pytest
from cli_helpers import run_main
from fakes import ScriptedChatModel

from assistant.skills.prompts import NO_ANSWER

pytestmark = pytest.mark.real_model  # the real embedded MiniLM indexes the notes


@pytest.fixture
def model(monkeypatch, tmp_path):
    """Index two notes, and answer every prompt from a script instead of the LLM."""
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "boiler.md").write_text("# Boiler\n\n## Reset\n\nTo reset the boiler, hold the red button for ten seconds.\n")
    (notes / "garden.md").write_text("# Garden\n\nWater the tomatoes every morning in summer.\n")
    scripted = ScriptedChatModel(["Hold the red button for ten seconds [1]."])
    monkeypatch.setattr("assistant.runtime.load_chat_model", lambda settings: scripted)
    return scripted, notes


def test_ask_answers_with_its_sources_as_json_and_as_text(monkeypatch, capsys, model):
    scripted, notes = model
    assert run_main(monkeypatch, capsys, "index", "add", str(notes))[0] == 0
    code, out, _ = run_main(monkeypatch, capsys, "ask", "--json", "How do I reset the boiler?")
    reply = json.loads(out)
    assert code == 0 and reply["skill"] == "qa" and not reply["declined"] and not reply["quoted"]
    assert reply["answer"] == "Hold the red button for ten seconds [1]."
    assert reply["sources"][0]["source"].endswith("boiler.md") and reply["sources"][0]["title"] == "Boiler > Reset"
    code, out, _ = run_main(monkeypatch, capsys, "ask", "How do I reset the boiler?")
    assert code == 0 and "Sources:\n  [1] " in out and "boiler.md › Boiler > Reset" in out


def test_ask_quotes_the_passage_when_the_model_declines(monkeypatch, capsys, model):
    scripted, notes = model
    scripted.replies = [NO_ANSWER]
    run_main(monkeypatch, capsys, "index", "add", str(notes))
    code, out, _ = run_main(monkeypatch, capsys, "ask", "--json", "How do I reset the boiler?")
    reply = json.loads(out)
    assert code == 0 and reply["quoted"] and not reply["declined"]
    assert "> To reset the boiler, hold the red button for ten seconds." in reply["answer"]


def test_ask_a_file_of_questions_gives_one_json_line_each(monkeypatch, capsys, model):
    _, notes = model
    run_main(monkeypatch, capsys, "index", "add", str(notes))
    monkeypatch.setattr("sys.stdin", io.StringIO("How do I reset the boiler?\n\nWhen do I water the tomatoes?\n"))
    code, out, _ = run_main(monkeypatch, capsys, "ask", "--questions", "-")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["question"] for r in rows] == ["How do I reset the boiler?", "When do I water the tomatoes?"]


def test_ask_two_questions_at_once_gives_the_answer_to_each_in_the_json(monkeypatch, capsys, model):
    scripted, notes = model
    scripted.replies = ["Hold the red button for ten seconds [1].", "Every morning in summer [1]."]
    run_main(monkeypatch, capsys, "index", "add", str(notes))
    code, out, _ = run_main(monkeypatch, capsys, "ask", "--json", "How do I reset the boiler? When do I water the tomatoes?")
    reply = json.loads(out)
    assert code == 0 and [part["answer"] for part in reply["parts"]] == ["Hold the red button for ten seconds [1].",
                                                                        "Every morning in summer [1]."]
    assert [part["sources"][0]["source"].rsplit("/", 1)[-1] for part in reply["parts"]] == ["boiler.md", "garden.md"]
    assert reply["answer"].endswith("**When do I water the tomatoes?** Every morning in summer [2].")
    assert "parts" not in json.loads(run_main(monkeypatch, capsys, "ask", "--json", "How do I reset the boiler?")[1])


def test_translate_and_summarize_go_through_their_skills(monkeypatch, capsys, model, tmp_path):
    scripted, _ = model
    scripted.replies = ["Bonjour, à demain."]
    code, out, _ = run_main(monkeypatch, capsys, "translate", "--to", "français", "--json", "Good morning, see you tomorrow.")
    reply = json.loads(out)
    assert code == 0 and reply["skill"] == "translate" and reply["answer"] == "Bonjour, à demain."
    assert "French" in scripted.calls[-1]["messages"][-1]["content"]

    report = tmp_path / "report.txt"
    report.write_text("The boiler failed twice in March. A technician replaced the pump. It has worked since.\n")
    scripted.replies = ["The boiler failed twice; the pump was replaced and it has worked since."]
    code, out, _ = run_main(monkeypatch, capsys, "summarize", "--file", str(report), "--json")
    reply = json.loads(out)
    assert code == 0 and reply["skill"] == "summarize" and "pump was replaced" in reply["answer"]
    assert reply["notice"] == "Summary of report.txt."


def test_empty_input_is_one_line_and_exit_code_2(monkeypatch, capsys, model):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, _, err = run_main(monkeypatch, capsys, "ask", "-")
    assert code == 2 and "Give a question" in err and "Traceback" not in err
