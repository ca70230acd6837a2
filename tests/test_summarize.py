"""The summarizers' choices: which sentences extractive keeps, which method auto runs for which text."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.llm.fake import ScriptedChatModel
from assistant.skills import summarize
from assistant.skills.summarize import AbstractiveSummarizer, AutoSummarizer, ExtractiveSummarizer, is_dialogue

DIALOGUE = "#Person1#: Are you coming tonight?\n#Person2#: Yes, at eight.\n#Person1#: Bring the slides."
CHAT = "Amanda: I baked cookies. Do you want some?\nJerry: Sure!\nAmanda: I'll bring you tomorrow :-)"
PROSE = ("Note: the office moves on Monday.\nThe new address is 12 Harbour Street.\n"
         "Desks are assigned by team.\nParking is free for the first month.")


def same_everywhere(texts):
    return np.ones((len(texts), 4), dtype="float32") / 2


def test_extractive_keeps_the_opening_when_every_sentence_is_as_central():
    text = "First point. Second point. Third point. Fourth point. Fifth point."
    assert "".join(ExtractiveSummarizer(same_everywhere).summarize(text, "short")) == "First point. Second point."


def test_extractive_passes_over_a_sentence_far_longer_than_the_rest():
    rambling = "Then " + "and more " * 60 + "it ended."
    text = f"Short opener. {rambling} Closing words. Last remark."
    out = "".join(ExtractiveSummarizer(same_everywhere).summarize(text, "short"))
    assert "and more" not in out and out.startswith("Short opener.")


@pytest.mark.parametrize("text, expected", [(DIALOGUE, True), (CHAT, True), (PROSE, False),
                                            ("Alice: just one speaker.\nAlice: still her.", False)])
def test_dialogue_is_told_from_prose(text, expected):
    assert is_dialogue(text) is expected


@pytest.fixture
def measured(monkeypatch):
    table = {"models": {"scripted": {"none": {"dialogue": {"abstractive": 0.20, "extractive": 0.24},
                                              "prose": {"abstractive": 0.30, "extractive": 0.25}},
                                     "summarize": {"dialogue": {"abstractive": 0.35, "extractive": 0.24},
                                                   "prose": {"abstractive": 0.23, "extractive": 0.25}}}}}
    monkeypatch.setattr(summarize, "measured_rouge", lambda: table)


def auto_for(adapter, name="scripted"):
    model = ScriptedChatModel(["x"], name=name)
    return AutoSummarizer(AbstractiveSummarizer(model, adapter=adapter), ExtractiveSummarizer(same_everywhere))


@pytest.mark.usefixtures("measured")
def test_auto_runs_the_method_measured_best_for_the_adapter_and_the_kind_of_text():
    with_adapter, base = auto_for("summarize"), auto_for(None)
    assert with_adapter.choose(DIALOGUE, "short") is with_adapter.abstractive
    assert with_adapter.choose(PROSE, "short") is with_adapter.extractive
    assert base.choose(DIALOGUE, "short") is base.extractive
    assert base.choose(PROSE, "short") is base.abstractive


def test_auto_keeps_the_texts_own_sentences_unless_the_model_clearly_wins(monkeypatch):
    close = {"abstractive": 0.26, "extractive": 0.25}
    monkeypatch.setattr(summarize, "measured_rouge", lambda: {"models": {"scripted": {"none": {"prose": close}}}})
    auto = auto_for(None)
    assert auto.choose(PROSE, "short") is auto.extractive


@pytest.mark.usefixtures("measured")
def test_auto_trusts_a_model_nobody_measured_to_write_its_own_summary():
    auto = auto_for("summarize", name="a-larger-model")
    assert auto.choose(PROSE, "short") is auto.abstractive


def test_the_shipped_measurements_cover_both_kinds_for_each_entry():
    for adapters in summarize.measured_rouge()["models"].values():
        for kinds in adapters.values():
            assert set(kinds) == {"dialogue", "prose"}
            assert all(set(scores) == {"abstractive", "extractive"} for scores in kinds.values())


@pytest.mark.usefixtures("measured")
def test_the_reply_says_when_the_summary_is_the_texts_own_sentences(tmp_path):
    from fakes import manager_over

    model = ScriptedChatModel(["A model's summary."])
    manager = manager_over(model, tmp_path / "history.db",
                           summarizer=AutoSummarizer(AbstractiveSummarizer(model, adapter="summarize"),
                                                     ExtractiveSummarizer(same_everywhere)))
    prose = manager.handle("c", f"/summarize {PROSE}")
    assert prose.text == "Note: the office moves on Monday. The new address is 12 Harbour Street."
    assert prose.notice == "The key sentences of the text, as written." and not model.calls
    dialogue = manager.handle("c", f"/summarize {DIALOGUE}")
    assert dialogue.text == "A model's summary." and dialogue.notice == ""


@pytest.mark.usefixtures("measured")
def test_the_manager_chooses_the_method_once_per_summary(tmp_path, monkeypatch):
    from fakes import manager_over

    model = ScriptedChatModel(["A model's summary."])
    auto = AutoSummarizer(AbstractiveSummarizer(model, adapter="summarize"), ExtractiveSummarizer(same_everywhere))
    choices = []
    choose = auto.choose
    monkeypatch.setattr(auto, "choose", lambda text, style="short": choices.append(style) or choose(text, style))
    manager = manager_over(model, tmp_path / "history.db", summarizer=auto)
    assert manager.handle("c", f"/summarize {PROSE}").notice == "The key sentences of the text, as written."
    assert choices == ["short"]
