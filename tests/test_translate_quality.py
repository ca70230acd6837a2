"""/translate says in one line when a language pair is known to come out poorly, and what fixes it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fakes import ScriptedChatModel, manager_over

from assistant.llm.adapters import weights_sha256
from assistant.llm.base import BASE
from assistant.skills import translate
from assistant.skills.translate import LLMTranslator

TABLE = {"poor_below": 40, "models": {"smollm2-135m": {"translate": {"en-fr": 52.0, "en-zh": 12.0}, BASE: {"en-fr": 15.0}}}}


@pytest.fixture
def measured(monkeypatch):
    monkeypatch.setattr(translate, "measured_chrf", lambda: TABLE)


def notice_for(tmp_path, message: str, *, model_name="smollm2-135m", adapter="translate", adapter_dir=None) -> str:
    model = ScriptedChatModel(["Bonjour, à demain."], name=model_name)
    manager = manager_over(model, tmp_path / "history.sqlite3", translator=LLMTranslator(model, adapter, adapter_dir))
    reply = manager.handle("c", message)
    assert not reply.error and reply.text == "Bonjour, à demain."
    return reply.notice


def test_a_poor_pair_says_so_in_one_line_and_names_the_fixes(tmp_path, measured):
    notice = notice_for(tmp_path, "/translate Chinese Good morning, see you tomorrow.")
    assert notice.startswith("Translated into Chinese. English to Chinese is known to be poor with smollm2-135m (chrF 12")
    assert "[translate] model" in notice and "larger --model" in notice and "serving engine" in notice
    assert "\n" not in notice


def test_a_good_pair_or_an_unmeasured_setup_gets_the_plain_notice(tmp_path, measured):
    assert notice_for(tmp_path, "/translate French Good morning, see you tomorrow.") == "Translated into French."
    assert notice_for(tmp_path, "/translate German Good morning, see you tomorrow.") == "Translated into German."
    assert notice_for(tmp_path, "/translate Chinese Good morning.", model_name="qwen2.5-7b") == "Translated into Chinese."


def test_the_figures_are_those_of_the_adapter_in_use(tmp_path, measured):
    notice = notice_for(tmp_path, "/translate French Good morning, see you tomorrow.", adapter=BASE)
    assert "poor with smollm2-135m (chrF 15" in notice


def test_figures_measured_on_other_weights_are_not_quoted(tmp_path, monkeypatch):
    """A user who retrains an adapter under the shipped name gets no figures measured on the shipped weights."""
    adapter_dir = tmp_path / "translate"
    adapter_dir.mkdir()
    (adapter_dir / "adapter_model.safetensors").write_bytes(b"the measured weights")
    measured_weights = {"weights_sha256": hashlib.sha256(b"the measured weights").hexdigest(), "en-zh": 12.0}
    monkeypatch.setattr(translate, "measured_chrf", lambda: {"poor_below": 40, "models": {"smollm2-135m": {"translate": measured_weights}}})
    message = "/translate Chinese Good morning."
    assert "(chrF 12" in notice_for(tmp_path, message, adapter_dir=adapter_dir)

    (adapter_dir / "adapter_model.safetensors").write_bytes(b"retrained weights")
    assert notice_for(tmp_path, message, adapter_dir=adapter_dir) == "Translated into Chinese."


def test_the_shipped_table_covers_both_directions_of_each_measured_pair_for_the_embedded_model():
    table = translate.measured_chrf()
    for adapter in ("translate", BASE):
        pairs = table["models"]["smollm2-135m"][adapter]
        for other in ("fr", "de", "zh"):
            assert 0 <= pairs[f"en-{other}"] <= 100 and 0 <= pairs[f"{other}-en"] <= 100


def test_the_shipped_table_was_measured_on_the_shipped_translate_adapter():
    shipped = Path(__file__).parents[1] / "adapters" / "translate"
    assert translate.measured_chrf()["models"]["smollm2-135m"]["translate"]["weights_sha256"] == weights_sha256(shipped)
