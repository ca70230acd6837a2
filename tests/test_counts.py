"""The number a "how many" question asks for (skills.counts), alone and in the QA skill."""

from __future__ import annotations

import pytest
from fakes import ScriptedReranker, ask_over

from assistant.retrieval.base import Passage
from assistant.skills.counts import counted_thing, recounted

OUTAGE = ("Card payments went through, but 1,847 invoices were not marked as paid and 312 customers received an "
          "automatic reminder by mistake. The fix took two hours.")


def test_what_a_question_counts():
    assert counted_thing("How many invoices didn't get marked as paid?") == "invoic"
    assert counted_thing("The webhooks failed. And how many customers got a reminder?") == "custom"
    assert counted_thing("How many of the pallets were saved?") is None  # "of" counts nothing
    assert counted_thing("How many Panthers defense players made the Pro Bowl?") is None  # whose players, not what
    assert counted_thing("When did it stop?") is None


@pytest.mark.parametrize(("answer", "question", "expected"), [
    ("312 [1]", "How many invoices were not marked as paid?", "1,847"),  # the count before "invoices"
    ("1,847 [1]", "How many invoices were not marked as paid?", None),  # already the one
    ("two", "How many unpaid invoices were there?", None),  # "two hours": no count of invoices in its sentence
    ("312", "How many reminders were sent?", None),  # the passage writes no count before "reminders"
    ("312 customers", "How many invoices were not marked as paid?", None),  # not a number alone
])
def test_a_count_written_before_something_else_is_replaced_by_the_one_before_what_is_counted(answer, question, expected):
    assert recounted(answer, question, OUTAGE) == expected


def test_the_qa_skill_answers_with_the_count_of_what_the_question_counts(tmp_path):
    outage = Passage(OUTAGE, "incidents/webhooks.md", "Webhook outage", relevance=0.6)
    reply = ask_over(tmp_path, [outage], "312 [1]", ScriptedReranker({"invoices": 0.8}),
                     "How many invoices were not marked as paid during the outage?")
    assert reply.text.startswith("1,847") and not reply.declined and reply.sources[0].source == outage.source
