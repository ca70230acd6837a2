"""The router keeps each adapter to its skill: QA, /translate and /summarize with their own, chat with the base."""

from __future__ import annotations

import json

import pytest
from fakes import ScriptedChatModel
from test_manager import paris_knowledge

from assistant.config import Settings
from assistant.conversation.history import HistoryStore
from assistant.conversation.manager import CHAT_SYSTEM
from assistant.llm.base import BASE
from assistant.runtime import Runtime
from assistant.skills.prompts import QA_SYSTEM

SKILL_ADAPTERS = {"qa": "grounded-qa", "translate": "translate", "summarize": "summarize"}
DIALOGUE = "#Person1#: Shall we meet at noon?\n#Person2#: Yes, at the station. See you then."


def skill_of(messages) -> str:
    """Which skill sent a prompt, told by its system prompt (or, for /translate, its instruction)."""
    first = messages[0]["content"]
    if first.startswith("Translate this"):
        return "translate"
    return {QA_SYSTEM: "qa", CHAT_SYSTEM: "chat", "You write faithful, concise summaries.": "summarize"}[first]


def reply(messages) -> str:
    return {"qa": "The tower is 330 metres tall [1].", "translate": "Bonjour.", "summarize": "They meet at noon.",
            "chat": "Hello!"}[skill_of(messages)]


def run_every_skill(tmp_path, adapter: str, installed: tuple[str, ...] | None = None):
    adapters = tmp_path / "adapters"
    for name in SKILL_ADAPTERS.values() if installed is None else installed:
        (adapters / name).mkdir(parents=True)
        (adapters / name / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA"}))
    model = ScriptedChatModel(reply)
    runtime = Runtime(Settings(adapter=adapter, adapters_dir=adapters), chat_model=model, knowledge=paris_knowledge(),
                      history=HistoryStore(tmp_path / "history.sqlite3"))
    manager = runtime.manager
    for number, message in enumerate(["/ask How tall is the Eiffel Tower?", "/translate French Good morning.",
                                      f"/summarize {DIALOGUE}", "/chat Hi there"]):
        assert not manager.handle(f"c{number}", message).error
    return {skill_of(call["messages"]): call["adapter"] for call in model.calls}, manager.status()["adapters"]


def test_each_skill_runs_with_its_own_adapter_and_chat_with_the_base_model(tmp_path):
    used, status = run_every_skill(tmp_path, "auto")
    assert used == {**SKILL_ADAPTERS, "chat": BASE}
    assert status == {**SKILL_ADAPTERS, "chat": BASE}


def test_a_skill_whose_adapter_is_not_installed_runs_on_the_base_model(tmp_path):
    used, _ = run_every_skill(tmp_path, "auto", installed=("grounded-qa",))
    assert used == {"qa": "grounded-qa", "translate": BASE, "summarize": BASE, "chat": BASE}


@pytest.mark.parametrize("adapter", [BASE, "my-style"])
def test_none_or_a_named_adapter_applies_to_every_skill(tmp_path, adapter):
    used, _ = run_every_skill(tmp_path, adapter)
    assert used == dict.fromkeys(["qa", "translate", "summarize", "chat"], adapter)
