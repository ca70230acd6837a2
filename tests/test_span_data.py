"""The second reading's training examples (scripts/build_span_data.py): the prompt the QA skill builds for the
sentence its reranker picks, answered with the answer as that sentence writes it, or NO_ANSWER without it."""

from __future__ import annotations

import sys

from conftest import REPO
from fakes import ScriptedReranker

from assistant.retrieval.base import Passage
from assistant.skills.prompts import NO_ANSWER, shorten_messages

sys.path.insert(0, str(REPO / "scripts"))
from build_span_data import read_again  # noqa: E402

PASSAGE = Passage("Getting here by car. There is free parking at Skipton and Wakefield. The Acomb clinic is on a bus route.",
                  "patients/visiting.md", "Visiting us")


def test_the_example_is_the_skills_own_prompt_for_the_best_sentence_answered_as_the_sentence_writes_it():
    reranker = ScriptedReranker({"free parking": 0.9, "bus route": 0.3})
    made = read_again(reranker, "q1", "Which clinics have free parking?", PASSAGE, ["skipton and wakefield"])
    sentence = "There is free parking at Skipton and Wakefield."
    assert made["messages"] == [*shorten_messages("Which clinics have free parking?", sentence),
                                {"role": "assistant", "content": "Skipton and Wakefield"}]
    assert reranker.calls and all(text.startswith("Visiting us\n") for text in reranker.calls[0][1])  # under its heading


def test_a_best_sentence_without_the_answer_is_answered_no_answer():
    reranker = ScriptedReranker({"bus route": 0.9})  # the reranker picks a sentence that does not say it
    made = read_again(reranker, "q2", "Which clinics have free parking?", PASSAGE, ["Skipton and Wakefield"])
    assert "bus route" in made["messages"][1]["content"] and made["messages"][-1]["content"] == NO_ANSWER
