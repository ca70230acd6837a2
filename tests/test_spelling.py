"""A slip of the keys in a question is mended with the words of the passages found for it; a real word never is."""

import pytest
from fakes import ScriptedChatModel, ScriptedReranker, manager_over

from assistant.retrieval.base import Passage
from assistant.retrieval.fake import FakeKnowledgeStore
from assistant.skills.spelling import respelled, slips

RUNBOOK = Passage("Watch the canary dashboard for 15 minutes after you promote a build. Engineers acknowledge a page within "
                  "15 minutes. The product launch is on 3 May.", "engineering/deployment.md", "Deploys", relevance=0.5)
PRICES = Passage("A 50 litres keg of Hollow Pale costs €120.", "sales/prices.md", "Trade prices", relevance=0.5)


@pytest.mark.parametrize(("question", "meant"), [
    ("How long do I watch the canary dasbhoard?", "How long do I watch the canary dashboard?"),  # two letters swapped
    ("How quickly must engneers acknowledge a page?", "How quickly must engineers acknowledge a page?"),  # one left out
    ("How quickly must engineers acknowleddge a page?", "How quickly must engineers acknowledge a page?"),  # one added
    ("How long do I watch the canary dashbiard?", "How long do I watch the canary dashboard?"),  # one changed
])
def test_a_slip_is_mended_with_the_word_of_the_passages_it_was_meant_to_be(question, meant):
    assert respelled(question, slips(question, [RUNBOOK])) == meant


@pytest.mark.parametrize("question", [
    "When is lunch?", "When is the company lunch served?",  # real words: "launch" is a slip away, but lunch is asked
    "What does a 50 litre keg cost?",  # a plural of the passage's word is no slip
    "How long do I watch the Dasbhoard?",  # a capital starts a name, spelt its own way
    "How long do I watch the canary xashboard?",  # a slip in the first letter is as likely another word
    "How long is the canary dashboard kept?",  # every word is the passages' or English
    "What is " + "dashboard" * 2000 + "?",  # a pasted run of letters is no word
])
def test_a_real_word_a_name_or_a_plural_is_not_mended(question):
    assert slips(question, [RUNBOOK, PRICES]) == {}


def test_a_question_with_a_slip_is_searched_scored_and_read_as_it_was_meant(tmp_path):
    model = ScriptedChatModel(["15 minutes [1]"])
    # As the shipped reranker does with a misspelt word: it scores the passage only for the word it knows.
    reranker = ScriptedReranker({"canary dashboard": 0.95}, asked={"canary dashboard": "dashboard"})
    knowledge = FakeKnowledgeStore((RUNBOOK, PRICES))
    manager = manager_over(model, tmp_path / "h.sqlite3", knowledge, reranker=reranker)
    reply = manager.handle("c", "/ask How long do I watch the canary dasbhoard?")
    assert reply.text == "15 minutes [1]" and [p.source for p in reply.sources] == [RUNBOOK.source]
    assert "Question: How long do I watch the canary dashboard?" in model.calls[-1]["messages"][-1]["content"]
    assert reranker.calls[-1][0] == "How long do I watch the canary dashboard?"
