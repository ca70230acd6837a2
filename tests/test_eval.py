"""`assistant eval` and the grounded-QA data builder: scoring, file checks, and a run on a tiny model."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import run_main
from conftest import REPO
from fakes import ScriptedChatModel
from tiny_lm import make_tiny_model, train_tiny_adapter, write_chat_data

from assistant.errors import UsageError
from assistant.llm.base import BASE, GenerationOptions
from assistant.skills.prompts import NO_ANSWER, qa_messages
from assistant.training.evaluate import compare, load_eval_set, render_table, says_no_answer, token_f1

SHARED_DATA = REPO.parent / "shared" / "data"


def write_eval_file(path: Path) -> Path:
    passages = [{"text": "Paris is the capital of France.", "title": "France"}, {"text": "Berlin is in Germany.", "title": "Germany"}]
    records = [
        {"kind": "qa", "question": "What is the capital of France?", "passages": passages, "answers": ["Paris"], "gold": 1},
        {"kind": "qa", "question": "Where is Berlin?", "passages": passages, "answers": ["Germany", "in Germany"], "gold": 2},
        {"kind": "qa", "question": "What is the capital of Spain?", "passages": passages, "answers": ["Madrid"], "gold": None},
        {"kind": "chat", "messages": [{"role": "user", "content": "Translate: Bonjour"}], "reference": "Hello"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_scores_both_ways_on_the_prompts_the_qa_skill_sends(tmp_path):
    data = load_eval_set(write_eval_file(tmp_path / "eval.jsonl"))
    replies = {
        BASE: {"of France?": "The passages talk about many cities.", "Berlin?": "Berlin is in Germany, a country.",
               "of Spain?": "The capital of Spain is Paris.", "Bonjour": "Hello"},
        "qa": {"of France?": "Paris [1]", "Berlin?": "Germany [1][2]", "of Spain?": NO_ANSWER, "Bonjour": "Hello [1]"},
    }
    model = ScriptedChatModel(lambda messages: next(
        text for key, text in replies[model.calls[-1]["adapter"]].items() if key in messages[-1]["content"]))
    result = compare(model, data, "qa", GenerationOptions(max_new_tokens=32))

    first_qa = next(c for c in model.calls if "France?" in c["messages"][-1]["content"])
    assert first_qa["messages"] == qa_messages(data.qa[0].question, data.qa[0].passages)
    assert result.counts == {"answerable": 2, "unanswerable": 1, "chat": 1}
    assert result.base["answer_contains"] == 50.0 and result.tuned["answer_contains"] == 100.0
    assert result.tuned["answer_f1"] == 100.0
    assert result.base["cites_gold"] == 0.0 and result.tuned["cites_gold"] == 100.0 and result.tuned["cites_only_gold"] == 50.0
    assert result.base["idk_unanswerable"] == 0.0 and result.tuned["idk_unanswerable"] == 100.0
    assert result.base["chat_leaks"] == 0.0 and result.tuned["chat_leaks"] == 100.0
    table = render_table(result)
    assert "| Answer contains the gold answer (answerable) | 50.0 | 100.0 | +50.0 |" in table
    assert "2 answerable and 1 unanswerable questions and 1 plain-chat prompts" in table


def test_refusals_in_any_wording_count_as_i_dont_know():
    for text in (NO_ANSWER, "I do not know.", "The passages don't mention it.", "The text does not contain this information."):
        assert says_no_answer(text), text
    assert not says_no_answer("Paris [1]")
    assert token_f1("the Eiffel Tower [2]", "Eiffel tower") == 1.0


@pytest.mark.parametrize("line, expected", [
    ("{not json", "eval.jsonl, line 1: not valid JSON"),
    ('{"kind": "qa", "question": "q", "passages": [{"text": "t"}], "answers": ["a"], "gold": 3}', "line 1: not an evaluation record (gold 3 is not a passage number (1-1))"),
    ('{"kind": "poem"}', "unknown kind 'poem'"),
    ('{"kind": "qa", "question": "q"}', "line 1: not an evaluation record"),
])
def test_bad_eval_file_names_the_line(tmp_path, line, expected):
    path = tmp_path / "eval.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(UsageError) as error:
        load_eval_set(path)
    assert expected in str(error.value)


def test_eval_command_on_a_tiny_model_writes_the_model_card(monkeypatch, capsys, tmp_path):
    base = make_tiny_model(tmp_path / "tiny-llama")
    adapter = train_tiny_adapter(base, tmp_path / "adapters" / "counting", write_chat_data(tmp_path / "data.jsonl"))
    data = write_eval_file(tmp_path / "eval.jsonl")
    outputs = tmp_path / "replies.jsonl"
    code, out, err = run_main(
        monkeypatch, capsys, "--model", str(base), "eval", "--data", str(data), "--adapter", str(adapter),
        "--limit", "2", "--max-new-tokens", "4", "--threads", "1", "--output", str(outputs), "--card",
    )
    assert code == 0, err
    assert "| metric | base model | with counting | change |" in out
    assert "2 answerable and 0 unanswerable questions and 1 plain-chat prompts" in out
    rows = [json.loads(line) for line in outputs.read_text().splitlines()]
    assert [r["kind"] for r in rows] == ["qa", "qa", "chat"] and all("base" in r and "adapter" in r for r in rows)
    card = (adapter / "README.md").read_text()
    assert "Not evaluated yet" not in card and "| metric | base model | with counting | change |" in card
    assert "assistant eval --data eval.jsonl --adapter counting --limit 2" in card
    assert card.count("<!-- eval:start -->") == 1 and "## Training" in card


@pytest.mark.skipif(not (SHARED_DATA / "xquad" / "xquad.en.json").is_file(), reason="needs the shared XQuAD data")
def test_qa_data_builder_splits_by_article_and_builds_the_skill_prompts(tmp_path):
    def build(out, *options):
        subprocess.run([sys.executable, str(REPO / "scripts" / "build_qa_data.py"), "--shared", str(SHARED_DATA), "--out", str(out),
                        "--chat-per-language", "2", *options], check=True, capture_output=True)

    build(tmp_path)
    build(tmp_path / "other", "--unanswerable", "0.3", "--target", "sentence")
    # Training options never change the held-out questions, so adapters trained either way compare.
    assert (tmp_path / "eval.jsonl").read_bytes() == (tmp_path / "other" / "eval.jsonl").read_bytes()
    split = json.loads((tmp_path / "split.json").read_text())
    assert len(split["eval_articles"]) == 10 and not set(split["eval_articles"]) & set(split["train_articles"])
    train = [json.loads(line) for line in (tmp_path / "train.jsonl").read_text().splitlines()]
    held_out = load_eval_set(tmp_path / "eval.jsonl")
    eval_titles = set(split["eval_articles"])
    for record in train:
        system, user, reply = record["messages"]
        assert not any(f"({title})" in user["content"] for title in eval_titles)  # no eval passage as a distractor either
        if reply["content"] == NO_ANSWER:
            continue
        # The reply is the answer span, citing the gold passage (one to three passages per prompt).
        (number,) = re.findall(r"\[(\d+)\]", reply["content"])
        span = re.sub(r" \[\d+\]", "", reply["content"])
        gold_block = user["content"].split(f"[{number}] (", 1)[1].split("\n\n[", 1)[0]
        assert span in gold_block and len(re.findall(r"^\[\d+\] \(", user["content"], re.M)) <= 3
    assert 0.1 * len(train) < sum(r["messages"][-1]["content"] == NO_ANSWER for r in train) < 0.2 * len(train)
    sentences = [json.loads(line)["messages"][-1]["content"] for line in (tmp_path / "other" / "train.jsonl").read_text().splitlines()]
    assert sum(s == NO_ANSWER for s in sentences) > 0.25 * len(sentences)
    assert sum(len(s.split()) for s in sentences) > 2 * sum(len(r["messages"][-1]["content"].split()) for r in train)
    assert len(held_out.chat) == 4
    for item in held_out.qa:
        assert {p.title for p in item.passages} <= eval_titles
        texts = [p.text for p in item.passages]
        if item.gold is None:
            assert not any(item.answers[0] in t for t in texts)
        else:
            assert item.answers[0] in texts[item.gold - 1]
        assert qa_messages(item.question, item.passages)[-1]["content"].startswith("Passages:\n[1] (")
