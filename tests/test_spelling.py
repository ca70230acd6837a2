"""A slip of the keys in a question is mended with the words of the passages found for it; a real word never is."""

import pytest
from fakes import ScriptedChatModel, ScriptedReranker, manager_over

from assistant.retrieval.base import Passage
from assistant.retrieval.fake import FakeKnowledgeStore
from assistant.skills.spelling import respelled, slips

RUNBOOK = Passage("Watch the canary dashboard for 15 minutes after you promote a build. Engineers acknowledge a page within "
                  "15 minutes. The product launch is on 3 May.", "engineering/deployment.md", "Deploys", relevance=0.5)
PRICES = Passage("A 50 litres keg of Hollow Pale costs €120.", "sales/prices.md", "Trade prices", relevance=0.5)
SITES = Passage("Visitors to Ridderkerk park in car park P1. The Barendrecht site is run by Marten Visser; Martin Smit "
                "runs Ridderkerk.", "facilities/sites.md", "Sites", relevance=0.5)


@pytest.mark.parametrize(("question", "meant"), [
    ("How long do I watch the canary dasbhoard?", "How long do I watch the canary dashboard?"),  # two letters swapped
    ("How quickly must engneers acknowledge a page?", "How quickly must engineers acknowledge a page?"),  # one left out
    ("How quickly must engineers acknowleddge a page?", "How quickly must engineers acknowledge a page?"),  # one added
    ("How long do I watch the canary dashbiard?", "How long do I watch the canary dashboard?"),  # one changed
])
def test_a_slip_is_mended_with_the_word_of_the_passages_it_was_meant_to_be(question, meant):
    assert respelled(question, slips(question, [RUNBOOK])) == meant


@pytest.mark.parametrize(("question", "meant"), [
    ("Where do visitors park at Riddrekerk?", "Where do visitors park at Ridderkerk?"),
    ("Who runs the Barednrecht site?", "Who runs the Barendrecht site?"),
])
def test_a_slip_in_a_name_is_mended_with_the_name_of_the_passages_it_was_meant_to_be(question, meant):
    assert respelled(question, slips(question, [SITES, RUNBOOK])) == meant


@pytest.mark.parametrize("question", [
    "When is lunch?", "When is the company lunch served?",  # real words: "launch" is a slip away, but lunch is asked
    "What does a 50 litre keg cost?",  # a plural of the passage's word is no slip
    "How long do I watch the Dasbhoard?",  # a word with a capital is mended only to a name the passages write
    "Where do visitors park at Rotterdam?",  # no name of the passages is a slip away
    "Who is Martan Visser?",  # two are: Marten and Martin
    "How long do I watch the canary xashboard?",  # a slip in the first letter is as likely another word
    "How long is the canary dashboard kept?",  # every word is the passages' or English
    "What is " + "dashboard" * 2000 + "?",  # a pasted run of letters is no word
])
def test_a_real_word_a_name_or_a_plural_is_not_mended(question):
    assert slips(question, [RUNBOOK, PRICES, SITES]) == {}


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


def test_a_question_typed_in_haste_is_read_as_written(tmp_path):
    # A phone's apostrophe, the situation told after the question, and a name misspelt: the documents name Ridderkerk,
    # and "Riddrekerk", a name they lack, would have been declined.
    model = ScriptedChatModel(["car park P1 [1]"])
    reranker = ScriptedReranker({"car park P1": 0.9}, asked={"car park P1": "park"})
    manager = manager_over(model, tmp_path / "h.sqlite3", FakeKnowledgeStore((SITES, RUNBOOK)), reranker=reranker)
    reply = manager.handle("c", "Where do visitors park at Riddrekerk? I’m coming tomorrow.")
    assert reply.text == "car park P1 [1]" and [p.source for p in reply.sources] == [SITES.source]
    assert "Question: I'm coming tomorrow. Where do visitors park at Ridderkerk?" in model.calls[-1]["messages"][-1]["content"]
