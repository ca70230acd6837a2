"""The shipped skill adapters on the real embedded model: each does its job, and all stay loaded side by side."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SHARED_CACHE

from assistant.llm.base import BASE, GenerationOptions
from assistant.llm.local import LocalChatModel
from assistant.llm.models import resolve_model
from assistant.retrieval.base import Passage
from assistant.skills.prompts import qa_messages, shorten_messages
from assistant.skills.qa import copied_answer
from assistant.skills.summarize import summary_messages
from assistant.skills.translate import Language, detect_language, translate_messages

pytestmark = pytest.mark.real_model

SHIPPED = Path(__file__).resolve().parents[1] / "adapters"
GREEDY = GenerationOptions(max_new_tokens=48)
ENGLISH, FRENCH, GERMAN = Language("en", "English"), Language("fr", "French"), Language("de", "German")
DIALOGUE = ("#Person1#: Hello, I'd like to book a table for two tonight.\n#Person2#: Certainly. What time?\n"
            "#Person1#: Around eight, please.\n#Person2#: A table for two at eight. May I have your name?\n"
            "#Person1#: Smith.\n#Person2#: Thank you, Mr. Smith. See you tonight.")
PASSAGES = [Passage("The Eiffel Tower is 330 metres tall. It was built for the 1889 World's Fair.", "landmarks.md", "Eiffel Tower")]
PROMPTS = {
    "grounded-qa": qa_messages("How tall is the Eiffel Tower?", PASSAGES),
    "translate": translate_messages("Merci beaucoup.", FRENCH, ENGLISH),
    "summarize": summary_messages(DIALOGUE, "short"),
}


@pytest.fixture(scope="module")
def model() -> LocalChatModel:
    """A model of this module's own, loading the checkout's adapters."""
    return LocalChatModel(resolve_model("smollm2-135m"), cache_dir=SHARED_CACHE, adapters_dir=SHIPPED)


def test_every_skill_adapter_stays_on_the_fast_path_and_switching_reloads_nothing(model, monkeypatch):
    first = {name: model.generate(prompt, GREEDY, adapter=name) for name, prompt in PROMPTS.items()}
    base = {name: model.generate(prompt, GREEDY, adapter=BASE) for name, prompt in PROMPTS.items()}
    assert set(PROMPTS) <= model.fast.adapters
    assert all(first[name] != base[name] for name in PROMPTS)

    def reload(*args, **kwargs):
        raise AssertionError("an adapter was loaded again")

    monkeypatch.setattr(model.model, "load_adapter", reload)
    for name in reversed(list(PROMPTS)):  # another order, the base model in between
        assert model.generate(PROMPTS[name], GREEDY, adapter=name) == first[name]
        assert model.generate(PROMPTS[name], GREEDY, adapter=BASE) == base[name]


def test_the_translate_adapter_replies_with_the_translation_only(model):
    # Everyday phrases only, and no exact wording: out of English the 135M model's translations are
    # often wrong (chrF ~30, bench/README.md), and which wrong words come out changes with each adapter.
    # Language detection misreads some four-word replies ("Où est le tas ?" came back as Esperanto), so one may miss.
    asked = [("Good night.", FRENCH), ("Thank you very much.", FRENCH), ("The weather is nice today.", FRENCH),
             ("Good morning.", GERMAN), ("I am hungry.", GERMAN), ("The weather is nice today.", GERMAN)]
    replies = [model.generate(translate_messages(text, ENGLISH, target), GREEDY, adapter="translate").strip() for text, target in asked]
    assert all("\n" not in reply and len(reply) <= 2 * len(text) for reply, (text, _) in zip(replies, asked)), replies
    assert sum(detect_language(reply) == target for reply, (_, target) in zip(replies, asked)) >= 5, replies
    for text, source in (("Merci beaucoup.", FRENCH), ("Danke schön.", GERMAN)):
        english = model.generate(translate_messages(text, source, ENGLISH), GREEDY, adapter="translate").strip()
        assert english.lower().startswith("thank") and "\n" not in english


def test_the_summarize_adapter_writes_a_short_summary_of_a_conversation(model):
    # The base model mostly copies the dialogue back; the adapter writes one sentence about it.
    summary = model.generate(summary_messages(DIALOGUE, "short"), GenerationOptions(max_new_tokens=96), adapter="summarize")
    assert len(summary.split()) <= 40 and "table" in summary and "#Person2#:" not in summary


def test_the_grounded_qa_adapter_reads_one_sentence_again_and_answers_with_its_words(model):
    # The QA skill's second reading (qa.QASkill.shorten): the answer must be copied from the sentence.
    asked = [("How tall is the Eiffel Tower?", "The Eiffel Tower is 330 metres tall, and it was built for the 1889 World's Fair.", "330"),
             ("When does the library open on weekdays?", "On weekdays the city library opens at 08:30, and on Saturdays at 10:00.", "08:30"),
             ("Who signs the expense reports?", "Expense reports are signed by your team lead before they go to finance.", "team lead")]
    for question, sentence, fact in asked:
        text = model.generate(shorten_messages(question, sentence), GenerationOptions(max_new_tokens=32, stop=("\n",)),
                              adapter="grounded-qa")
        answer = copied_answer(text, sentence, question)
        assert answer is not None and fact in answer, (question, text)
