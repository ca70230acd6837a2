"""`assistant adapters list|show|remove|merge` on a tiny model and a really trained adapter."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import run_main
from click.testing import CliRunner
from tiny_lm import make_tiny_model, train_tiny_adapter, write_chat_data

from assistant.cli import cli


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    """(tiny base model folder, adapters folder holding the adapter 'counting')."""
    root = tmp_path_factory.mktemp("adapters-cli")
    base = make_tiny_model(root / "tiny-llama")
    adapters = root / "adapters"
    train_tiny_adapter(base, adapters / "counting", write_chat_data(root / "data.jsonl"))
    return base, adapters


def test_list_and_show(monkeypatch, capsys, trained):
    base, adapters = trained
    monkeypatch.setenv("ASSISTANT_ADAPTERS_DIR", str(adapters))
    code, out, err = run_main(monkeypatch, capsys, "adapters", "list")
    assert code == 0, err
    assert "counting" in out and f"base={base}" in out and "r=16" in out and "eval loss" in out

    code, out, err = run_main(monkeypatch, capsys, "adapters", "show", "counting")
    assert code == 0, err
    assert f"base model: {base}" in out and "data.jsonl" in out and "tokens/s" in out
    assert "q_proj" in out and "down_proj" in out and str(adapters / "counting" / "README.md") in out

    code, _, err = run_main(monkeypatch, capsys, "adapters", "show", "ghost")
    assert code == 4 and "Adapter 'ghost' not found" in err and "counting" in err


def test_list_when_there_are_none(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("ASSISTANT_ADAPTERS_DIR", str(tmp_path / "empty"))
    code, out, _ = run_main(monkeypatch, capsys, "adapters", "list")
    assert code == 0 and "No adapters in" in out and "assistant train" in out


def test_remove_asks_and_refuses_folders_that_are_not_adapters(monkeypatch, capsys, tmp_path, trained):
    import shutil

    _, adapters = trained
    local = tmp_path / "adapters"
    shutil.copytree(adapters / "counting", local / "copy")
    (local / "notes").mkdir()
    monkeypatch.setenv("ASSISTANT_ADAPTERS_DIR", str(local))
    code, _, err = run_main(monkeypatch, capsys, "adapters", "remove", "notes", "--yes")
    assert code == 4 and "is not an adapter" in err and (local / "notes").is_dir()

    result = CliRunner().invoke(cli, ["adapters", "remove", "copy"], input="n\n")
    assert result.exit_code != 0 and (local / "copy").is_dir()
    result = CliRunner().invoke(cli, ["adapters", "remove", "copy"], input="y\n")
    assert result.exit_code == 0 and not (local / "copy").exists()


def test_merge_writes_a_standalone_model_with_the_adapter_baked_in(monkeypatch, capsys, tmp_path, trained):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from assistant.llm.adapters import check_base, read_adapter
    from assistant.llm.models import resolve_model

    base, adapters = trained
    monkeypatch.setenv("ASSISTANT_ADAPTERS_DIR", str(adapters))
    out = tmp_path / "merged"
    code, stdout, err = run_main(monkeypatch, capsys, "--model", str(base), "adapters", "merge", "counting", "--out", str(out), "--dtype", "float32")
    assert code == 0, err
    assert f"assistant --model {out} chat" in stdout

    merged_source = resolve_model(str(out))
    assert merged_source.base_id == resolve_model(str(base)).base_id  # adapters for the base still fit
    check_base(read_adapter("counting", adapters), merged_source)
    ids = torch.tensor([[1, 523, 2210, 44, 7, 9]])
    with torch.no_grad():
        expected = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), str(adapters / "counting"))(ids).logits
        plain = AutoModelForCausalLM.from_pretrained(base)(ids).logits
        merged = AutoModelForCausalLM.from_pretrained(out)(ids).logits
    assert torch.allclose(merged, expected, atol=1e-4) and not torch.allclose(merged, plain, atol=1e-4)

    code, _, err = run_main(monkeypatch, capsys, "--model", str(base), "adapters", "merge", "counting", "--out", str(out))
    assert code == 2 and "already exists. Use --overwrite" in err


def test_merge_refuses_an_adapter_for_another_base(monkeypatch, capsys, tmp_path, trained):
    base, adapters = trained
    other = make_tiny_model(tmp_path / "other-llama", seed=1)
    monkeypatch.setenv("ASSISTANT_ADAPTERS_DIR", str(adapters))
    code, _, err = run_main(monkeypatch, capsys, "--model", str(other), "adapters", "merge", "counting", "--out", str(tmp_path / "m"))
    assert code == 4 and f"was trained for {base}" in err and "other-llama" in err
    assert not (tmp_path / "m").exists()
