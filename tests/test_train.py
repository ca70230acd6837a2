"""`assistant train`: data checks, reply-only labels, a tiny real training run, resume, bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cli_helpers import run_main
from conftest import SHARED_CACHE
from tiny_lm import make_tiny_model, write_chat_data

from assistant.errors import AdapterError, Cancelled, UsageError
from assistant.training.data import IGNORE, load_examples, tokenize_example


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny-llama")


@pytest.fixture(scope="module")
def tokenizer(tiny):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny)


# --- data -----------------------------------------------------------------------------------


@pytest.mark.parametrize("content, expected", [
    ('{"messages": []}\n', "line 1: \"messages\" must be a non-empty list"),
    ('{"instruction": "a", "output": "b"}\n{"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]\n',
     "line 2: not valid JSON"),
    ('{"instruction": "a", "output": "b"\n', "line 1: not valid JSON (Expecting ',' delimiter at column 35)"),
    ('\n\n[1, 2]\n', "line 3: expected a JSON object, got list"),
    ('{"messages": [{"role": "robot", "content": "hi"}]}\n', "message 1 has role 'robot'"),
    ('{"messages": [{"role": "user", "content": "hi"}]}\n', "line 1: no assistant message with content"),
    ('{"instruction": "Say hi", "output": ""}\n', "line 1: \"output\" must be non-empty text"),
    ('{"prompt": "a", "completion": "b"}\n', "has neither \"messages\" nor \"instruction\"/\"output\" (keys: completion, prompt)"),
    ("\n  \n", "has no examples"),
    ("", "has no examples"),
])
def test_bad_data_names_the_line_and_the_problem(tmp_path, content, expected):
    path = tmp_path / "data.jsonl"
    path.write_text(content)
    with pytest.raises(UsageError) as error:
        load_examples(path)
    assert expected in str(error.value)


def test_instruction_records_become_a_user_turn_and_a_reply(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text('{"instruction": "Translate to French", "input": "cat", "output": "chat"}\n{"instruction": "Say hi", "output": "hi"}\n')
    first, second = load_examples(path)
    assert first.messages == [{"role": "user", "content": "Translate to French\n\ncat"}, {"role": "assistant", "content": "chat"}]
    assert second.messages[0]["content"] == "Say hi" and second.line == 2


def test_labels_cover_the_replies_only_and_match_the_serving_prompt(tokenizer):
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Name a colour."},
        {"role": "assistant", "content": "Blue."},
    ]
    example = tokenize_example(tokenizer, messages)
    learned = tokenizer.decode([t for t in example.labels if t != IGNORE])
    assert learned == "Hello!<|im_end|>\nBlue.<|im_end|>\n"
    # The prompt before the last reply is token for token what the engine sends at serving time.
    served = tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True, tokenize=True)
    served = served["input_ids"] if hasattr(served, "keys") else served
    assert example.input_ids[: len(served)] == list(served)
    assert tokenizer.decode([t for t in example.labels[: len(served)] if t != IGNORE]) == "Hello!<|im_end|>\n"


# --- a tiny real run --------------------------------------------------------------------------


def train_args(data: Path, out: Path, base: Path, *extra: str) -> list[str]:
    return ["train", "--data", str(data), "--out", str(out), "--base", str(base), "--batch-size", "4", "--lr", "1e-2",
            "--eval-fraction", "0.25", "--eval-every", "4", "--threads", "1", "--no-progress", *extra]


def test_tiny_training_lowers_the_loss_and_writes_an_adapter_the_engine_uses(monkeypatch, capsys, tmp_path, tiny):
    import torch
    from safetensors.torch import load_file

    from assistant.llm.base import BASE, GenerationOptions
    from assistant.llm.local import LocalChatModel
    from assistant.llm.models import resolve_model

    data = write_chat_data(tmp_path / "data.jsonl")
    out = tmp_path / "adapters" / "counting"
    code, stdout, err = run_main(monkeypatch, capsys, *train_args(data, out, tiny, "--max-steps", "12", "--save-dtype", "float16"))
    assert code == 0, err
    assert f"Adapter written to {out}" in stdout
    assert {t.dtype for t in load_file(str(out / "adapter_model.safetensors")).values()} == {torch.float16}

    metadata = json.loads((out / "training.json").read_text())
    results = metadata["results"]
    assert results["steps"] == 12
    assert results["best_eval_loss"] < results["initial_eval_loss"]
    assert results["final_train_loss"] < results["first_train_loss"]
    assert results["tokens_per_s"] > 0
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == resolve_model(str(tiny)).base_id
    assert not (out / "checkpoint").exists()
    card = (out / "README.md").read_text()
    for expected in (metadata["base_model"]["sha256"], metadata["data"]["sha256"], "| rank | 16 |", "eval loss", "tokens/s"):
        assert expected in card

    model = LocalChatModel(resolve_model(str(tiny)), cache_dir=SHARED_CACHE, adapters_dir=tmp_path / "adapters", dtype="float32")
    prompt = [{"role": "user", "content": "What comes after 3?"}]
    options = GenerationOptions(max_new_tokens=6)
    assert model.generate(prompt, options, adapter="counting") != model.generate(prompt, options, adapter=BASE)


def test_the_adapters_weights_are_taken_without_asking_the_hugging_face_hub(monkeypatch, tiny):
    import peft.utils.save_and_load
    from peft import LoraConfig, get_peft_model
    from peft.utils import get_peft_model_state_dict
    from transformers import AutoModelForCausalLM

    from assistant.training.checkpoints import adapter_weights

    asked: list = []
    monkeypatch.setattr(peft.utils.save_and_load, "check_file_exists_on_hf_hub", lambda *args, **kwargs: asked.append(args) or False)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny), LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))
    model.peft_config["default"].base_model_name_or_path = "HuggingFaceTB/SmolLM2-135M-Instruct"  # as the embedded model's
    weights = adapter_weights(model)
    assert weights and all("lora_" in name for name in weights) and asked == []
    get_peft_model_state_dict(model)  # peft's default would have asked
    assert asked


def test_ctrl_c_saves_a_checkpoint_and_resume_finishes_the_same_run(monkeypatch, capsys, tmp_path, tiny):
    from safetensors.torch import load_file

    from assistant.training import trainer
    from assistant.training.trainer import TrainConfig, train

    data = write_chat_data(tmp_path / "data.jsonl")
    config = TrainConfig(data=str(data), base=str(tiny), max_steps=6, batch_size=4, learning_rate=1e-2, eval_fraction=0, save_every=100)
    train(config, tmp_path / "straight", cache_dir=SHARED_CACHE, progress=False, threads=1)

    calls = {"n": 0}
    real_loss_sum = trainer.loss_sum

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:  # in the middle of step 4
            raise KeyboardInterrupt
        return real_loss_sum(*args, **kwargs)

    monkeypatch.setattr(trainer, "loss_sum", interrupted)
    out = tmp_path / "resumed"
    with pytest.raises(Cancelled) as stopped:
        train(config, out, cache_dir=SHARED_CACHE, progress=False, threads=1)
    assert "stopped at step 3 of 6" in str(stopped.value) and "--resume" in str(stopped.value)
    assert json.loads((out / "checkpoint" / "state.json").read_text())["state"]["step"] == 3

    # Killed during the next checkpoint save, between its two renames: a half-written staging
    # folder and the last checkpoint moved aside. Resuming cleans up and uses that checkpoint.
    (out / ".checkpoint.tmp-x1y2z3").mkdir()
    (out / ".checkpoint.tmp-x1y2z3" / "adapter.safetensors").write_bytes(b"\0" * 100_000)
    os.replace(out / "checkpoint", out / ".checkpoint.old-4242")

    monkeypatch.setattr(trainer, "loss_sum", real_loss_sum)
    code, stdout, err = run_main(monkeypatch, capsys, "train", "--resume", "--out", str(out), "--threads", "1", "--no-progress")
    assert code == 0, err
    assert "(6 steps" in stdout and not (out / "checkpoint").exists()
    assert not [path.name for path in out.iterdir() if path.name.startswith(".checkpoint")]
    straight = load_file(str(tmp_path / "straight" / "adapter_model.safetensors"))
    resumed = load_file(str(out / "adapter_model.safetensors"))
    assert all((straight[k] - resumed[k]).abs().max() < 1e-6 for k in straight)


def test_early_stopping_keeps_the_best_weights(monkeypatch, capsys, tmp_path, tiny):
    data = write_chat_data(tmp_path / "data.jsonl")
    out = tmp_path / "diverged"
    # A learning rate this large makes the eval loss worse at once: training stops at the first eval.
    code, _, err = run_main(monkeypatch, capsys, *train_args(data, out, tiny, "--lr", "5", "--max-steps", "40", "--eval-every", "2", "--patience", "1"))
    assert code == 0, err
    results = json.loads((out / "training.json").read_text())["results"]
    assert results["stopped_early"] and results["steps"] == 2 and results["best_step"] == 0
    assert "stopped early" in (out / "README.md").read_text()


def test_a_new_run_clears_what_a_killed_one_left(tmp_path):
    from assistant.training.trainer import TrainConfig, train

    out = tmp_path / "adapters" / "notes"
    (out / ".checkpoint.tmp-abc123").mkdir(parents=True)
    (tmp_path / "adapters" / ".notes.tmp-def456").mkdir()
    with pytest.raises(UsageError, match="does not exist"):  # not "already exists": nothing real was there
        train(TrainConfig(data=str(tmp_path / "missing.jsonl")), out, cache_dir=SHARED_CACHE, progress=False)
    assert list((tmp_path / "adapters").rglob("*")) == [out]


REPLACE_CHECKPOINT = """
import sys
from pathlib import Path
from assistant.files import replace_dir, staging_dir

target = Path(sys.argv[1])
staging = staging_dir(target)
(staging / "state.json").write_text("new")
replace_dir(staging, target)
"""


@pytest.mark.parametrize("kill_at, left", [(1, "old"), (2, "old"), (3, "new"), (None, "new")])
def test_a_checkpoint_save_killed_at_any_step_leaves_the_old_or_the_new_one(tmp_path, kill_at, left):
    """SIGKILL at each crash point of replace_dir (staged, old moved aside, new in place), then a start."""
    import subprocess
    import sys

    from assistant.training.trainer import check_out

    target = tmp_path / "out" / "checkpoint"
    target.mkdir(parents=True)
    (target / "state.json").write_text("old")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    if kill_at is not None:
        env["ASSISTANT_CRASH_AT"] = str(kill_at)
    done = subprocess.run([sys.executable, "-c", REPLACE_CHECKPOINT, str(target)], env=env, timeout=60)
    assert done.returncode == (-9 if kill_at is not None else 0)
    check_out(target.parent, overwrite=False, resume=True)  # what `assistant train --resume` does first
    assert (target / "state.json").read_text() == left
    assert [path.name for path in target.parent.iterdir()] == ["checkpoint"]


def test_existing_output_is_refused_without_overwrite(monkeypatch, capsys, tmp_path, tiny):
    data = write_chat_data(tmp_path / "data.jsonl")
    out = tmp_path / "taken"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    code, _, err = run_main(monkeypatch, capsys, *train_args(data, out, tiny, "--max-steps", "1"))
    assert code == 2 and "already exists. Use --overwrite" in err
    assert (out / "notes.txt").read_text() == "keep me"
    code, _, err = run_main(monkeypatch, capsys, *train_args(data, out, tiny, "--max-steps", "1", "--resume"))
    assert code == 2 and "Nothing to resume" in err


def test_over_long_examples_are_skipped_and_counted(monkeypatch, capsys, tmp_path, tiny):
    data = write_chat_data(tmp_path / "data.jsonl", count=8)
    with data.open("a") as extra:
        for _ in range(3):
            extra.write(json.dumps({"instruction": "Repeat: " + "word " * 200, "output": "word"}) + "\n")
    out = tmp_path / "short"
    code, _, err = run_main(monkeypatch, capsys, *train_args(data, out, tiny, "--max-steps", "1", "--max-length", "64"))
    assert code == 0, err
    assert "skipped 3 of 11 examples longer than --max-length 64 tokens (lines 9, 10, 11)" in err
    assert json.loads((out / "training.json").read_text())["data"]["skipped_too_long"] == 3

    code, _, err = run_main(monkeypatch, capsys, *train_args(data, tmp_path / "none", tiny, "--max-length", "8"))
    assert code == 2 and "All 11 examples are longer than --max-length 8" in err


def test_malformed_data_fails_before_loading_a_model(monkeypatch, capsys, tmp_path, tiny):
    data = tmp_path / "data.jsonl"
    data.write_text('{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}\n{oops\n')
    code, _, err = run_main(monkeypatch, capsys, *train_args(data, tmp_path / "out", tiny))
    assert code == 2 and "data.jsonl, line 2: not valid JSON" in err and "Traceback" not in err
    (tmp_path / "empty.jsonl").write_text("")
    code, _, err = run_main(monkeypatch, capsys, *train_args(tmp_path / "empty.jsonl", tmp_path / "out", tiny))
    assert code == 2 and "has no examples" in err


def test_adapter_for_another_base_is_refused_naming_both(monkeypatch, capsys, tmp_path, tiny):
    from assistant.llm.adapters import check_base, read_adapter
    from assistant.llm.models import resolve_model

    data = write_chat_data(tmp_path / "data.jsonl", count=4)
    out = tmp_path / "adapters" / "for-tiny"
    code, _, err = run_main(monkeypatch, capsys, *train_args(data, out, tiny, "--max-steps", "1", "--eval-fraction", "0"))
    assert code == 0, err
    other = make_tiny_model(tmp_path / "other-llama", seed=1)
    with pytest.raises(AdapterError) as refused:
        check_base(read_adapter(str(out), tmp_path / "adapters"), resolve_model(str(other)))
    assert str(tiny) in str(refused.value) and "other-llama" in str(refused.value)
    code, _, err = run_main(monkeypatch, capsys, "--model", str(other), "--adapter", str(out), "generate", "hi")
    assert code == 4 and f"was trained for {tiny}" in err and "other-llama" in err


def test_training_goes_on_from_an_adapter_with_its_shape_and_names_it_on_the_card(monkeypatch, capsys, tmp_path, tiny):
    data = write_chat_data(tmp_path / "data.jsonl")
    first = tmp_path / "adapters" / "first"
    code, _, err = run_main(monkeypatch, capsys, *train_args(data, first, tiny, "--max-steps", "8", "--rank", "4", "--alpha", "8"))
    assert code == 0, err
    first_results = json.loads((first / "training.json").read_text())["results"]

    more = tmp_path / "adapters" / "more"
    code, _, err = run_main(monkeypatch, capsys, *train_args(data, more, tiny, "--max-steps", "2", "--from", str(first)))
    assert code == 0, err
    metadata = json.loads((more / "training.json").read_text())
    # The same held-out split scored before any step: the starting weights are the first adapter's best.
    assert metadata["results"]["initial_eval_loss"] == pytest.approx(first_results["best_eval_loss"], abs=1e-3)
    assert metadata["results"]["initial_eval_loss"] < first_results["initial_eval_loss"]
    assert metadata["init_adapter"]["name"] == "first" and len(metadata["init_adapter"]["sha256"]) == 64
    assert json.loads((more / "adapter_config.json").read_text())["r"] == 4
    card = (more / "README.md").read_text()
    assert f"adapter first, weights sha256 `{metadata['init_adapter']['sha256']}`" in card and "| rank | 4 |" in card

    code, _, err = run_main(monkeypatch, capsys, *train_args(data, first, tiny, "--from", str(first), "--overwrite"))
    assert code == 2 and "--from and --out are the same folder" in err
    code, _, err = run_main(monkeypatch, capsys, *train_args(data, tmp_path / "x", tiny, "--from", str(tmp_path / "nowhere")))
    assert code != 0 and "not found" in err and "Traceback" not in err
    other = make_tiny_model(tmp_path / "other-llama", seed=1)
    code, _, err = run_main(monkeypatch, capsys, *train_args(data, tmp_path / "y", other, "--from", str(first)))
    assert code != 0 and f"was trained for {tiny}" in err
