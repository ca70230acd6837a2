"""The command line: help, configuration, and one clear line for each error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import run_main

from assistant.cli import COMMANDS, main
from assistant.config import load_settings


def test_help_lists_every_command_with_one_line(monkeypatch, capsys):
    code, out, _ = run_main(monkeypatch, capsys, "--help")
    assert code == 0
    for name in ("chat", "generate", "models", "config", "ask", "translate", "summarize"):
        assert f"  {name} " in out and COMMANDS[name][1] in out


def test_config_precedence_defaults_file_env_flags(tmp_path):
    config = tmp_path / "assistant.toml"
    config.write_text('model = "from-file/model"\nmax_new_tokens = 99\ncontext_window = 1000\n[telegram]\nallow = [1, 2]\n')
    env = {"ASSISTANT_MAX_NEW_TOKENS": "77", "ASSISTANT_CONTEXT_WINDOW": "1500"}
    settings = load_settings({"context_window": 1234, "model": None}, config, env)
    assert settings.model == "from-file/model"  # file beats default; an absent flag changes nothing
    assert settings.max_new_tokens == 77  # env beats file
    assert settings.context_window == 1234  # flag beats env
    assert settings.section("telegram") == {"allow": [1, 2]}
    assert settings.origins["context_window"] == "flag" and settings.origins["max_new_tokens"].startswith("env")


def test_config_command_masks_secrets(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:ABCDEFsecretsecretXYZ")
    (tmp_path / "assistant.toml").write_text('[openai]\napi_key = "sk-verysecretvalue1234"\n')
    code, out, _ = run_main(monkeypatch, capsys, "config")
    assert code == 0
    assert "secretsecret" not in out and "verysecret" not in out
    assert "TELEGRAM_BOT_TOKEN = ****" in out and "model = smollm2-135m" in out


def test_bad_config_file_is_one_line(monkeypatch, capsys, tmp_path):
    (tmp_path / "assistant.toml").write_text("model = [unclosed\n")
    code, _, err = run_main(monkeypatch, capsys, "config")
    assert code == 2 and "not valid TOML" in err and "Traceback" not in err


def test_unknown_config_key_is_refused(monkeypatch, capsys, tmp_path):
    (tmp_path / "assistant.toml").write_text('modle = "x"\n')
    code, _, err = run_main(monkeypatch, capsys, "config")
    assert code == 2 and "Unknown key 'modle'" in err


@pytest.mark.parametrize("table, message", [
    ("[qa]\nk_passages = 3\n", "Unknown key 'k_passages' under [qa]. Known keys: k, min_relevance"),
    ("[limits]\nmax_chars = 10\n", "Unknown key 'max_chars' under [limits]"),
    ("[translate]\nmodle = 'x'\n", "Unknown key 'modle' under [translate]"),
    ("[tui]\ntheme_name = 'dark'\n", "Unknown key 'theme_name' under [tui]"),
    ("[qa]\nk = 'many'\n", "[qa] k = 'many' is not a valid int"),
])
def test_every_table_refuses_unknown_keys_and_bad_values_alike(tmp_path, table, message):
    from fakes import ScriptedChatModel

    from assistant.errors import ConfigError
    from assistant.runtime import Runtime
    from assistant.tui.app import AssistantApp

    (tmp_path / "assistant.toml").write_text(table)
    runtime = Runtime(load_settings({}, tmp_path / "assistant.toml"), chat_model=ScriptedChatModel(), knowledge=None)
    with pytest.raises(ConfigError) as refused:
        runtime.manager if not table.startswith("[tui]") else AssistantApp(runtime)
    assert message in str(refused.value)


@pytest.mark.parametrize("args, expected, exit_code", [
    (["generate", ""], "The prompt is empty", 2),
    (["--model", "no-such-model", "generate", "hi"], "Unknown model 'no-such-model'", 3),
    (["--model", "./missing.gguf", "generate", "hi"], "does not exist", 3),
    (["--adapter", "ghost", "generate", "hi"], "Adapter 'ghost' not found", 4),
])
def test_errors_give_one_line_and_an_exit_code(monkeypatch, capsys, args, expected, exit_code):
    code, _, err = run_main(monkeypatch, capsys, *args)
    assert code == exit_code, err
    assert expected in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_corrupt_adapter_is_reported(monkeypatch, capsys, tmp_path):
    broken = tmp_path / "broken-adapter"
    broken.mkdir()
    (broken / "adapter_config.json").write_text("{not json")
    code, _, err = run_main(monkeypatch, capsys, "--adapter", str(broken), "generate", "hi")
    assert code == 4 and "corrupt" in err and "Traceback" not in err


def test_model_too_large_for_memory(monkeypatch, capsys):
    import assistant.llm.models as models

    monkeypatch.setattr(models, "_free_memory_bytes", lambda: 1024)
    code, _, err = run_main(monkeypatch, capsys, "generate", "hi")
    assert code == 3 and "GiB of memory" in err and "smaller" in err


def test_unexpected_error_points_to_the_log_and_debug_shows_traceback(monkeypatch, capsys):
    import assistant.cli.models as models_command

    def boom(*_):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(models_command, "list_adapters", boom)
    code, _, err = run_main(monkeypatch, capsys, "models")
    assert code == 1 and "disk on fire" in err and "assistant.log" in err and "Traceback" not in err
    monkeypatch.setattr(sys, "argv", ["assistant", "--debug", "models"])
    with pytest.raises(RuntimeError):
        main()


def test_models_lists_the_embedded_default(monkeypatch, capsys):
    code, out, _ = run_main(monkeypatch, capsys, "models")
    assert code == 0 and "smollm2-135m (default)" in out and "HuggingFaceTB/SmolLM2-135M-Instruct" in out


def test_models_lists_the_rerankers_and_the_one_qa_uses(monkeypatch, capsys, tmp_path):
    code, out, _ = run_main(monkeypatch, capsys, "models")
    assert code == 0 and "Answer rerankers in" in out and "QA uses: none, cosine thresholds ([qa] reranker = auto)" in out
    shipped = Path(__file__).resolve().parents[1] / "rerankers"
    monkeypatch.setenv("ASSISTANT_RERANKERS_DIR", str(shipped))
    code, out, _ = run_main(monkeypatch, capsys, "models")
    assert code == 0 and "  answer-ce  21.0 MiB" in out and "QA uses: answer-ce ([qa] reranker = auto)" in out


@pytest.mark.real_model
def test_real_model_answers_through_the_cli(tmp_path):
    """The installed console script, the embedded model, a real answer."""
    script = Path(sys.executable).with_name("assistant")
    result = subprocess.run(
        [str(script), "generate", "What is the capital of France?", "--json", "--max-new-tokens", "24"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert "Paris" in payload["text"]
    assert payload["usage"]["completion_tokens"] > 0 and payload["usage"]["prompt_tokens"] > 10
