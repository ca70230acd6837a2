"""Swapped questions (scripts/question_swaps.py): the answer reranker's negatives about a passage's topic that it
does not answer."""

from __future__ import annotations

import random
import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))
from question_swaps import Pool, swapped  # noqa: E402

DOCUMENTS = [
    "Extra charges. Saturday delivery costs €95 per drop. Tail-lift delivery costs €35 per drop.",
    "Leave. Compassionate leave is up to 5 days at full pay. Annual leave is 25 days at Leeds and at Bristol.",
    "Today\nThe canteen opens at 07:00. Maternity leave is 16 weeks at full pay.",
]
POOL = Pool.of(DOCUMENTS)


def every_swap(question: str, passage: str) -> set[str]:
    return {swapped(question, passage, POOL, random.Random(seed)) for seed in range(40)} - {None}


def test_pool_names_are_written_mid_sentence_and_never_in_lower_case():
    assert {"Leeds", "Bristol"} <= set(POOL.names)
    assert "Today" not in POOL.names  # only opens a line
    assert "Saturday" not in POOL.names and "Annual" not in POOL.names  # only open sentences


def test_a_qualifier_is_swapped_for_one_the_documents_write_before_the_same_word():
    passage = "Saturday delivery (zones 1 and 2 only): €95 per drop."
    swaps = every_swap("What is the surcharge for a Saturday delivery?", passage)
    assert "What is the surcharge for a Tail-lift delivery?" in swaps
    assert all("Saturday" not in q or "delivery" not in q for q in swaps)


def test_a_name_is_swapped_for_one_the_passage_does_not_hold():
    passage = "Annual leave is 25 days at Leeds."
    swaps = every_swap("How much annual leave do I get at Leeds?", passage)
    assert "How much annual leave do I get at Bristol?" in swaps
    assert all("Leeds" not in q for q in swaps if "Bristol" in q)


def test_a_number_is_swapped_for_one_of_the_same_length_that_the_passage_does_not_state():
    passage = "Annual leave is 25 days."
    numbers = {q.split()[-2] for q in every_swap("Is annual leave 25 days?", passage) if q.startswith("Is annual leave ")}
    assert numbers and all(len(n) == 2 and n != "25" for n in numbers)  # "95", "35", "16": never "5"


def test_nothing_to_swap_when_the_passage_holds_none_of_the_question():
    assert swapped("Who founded the company?", "Saturday delivery costs €95 per drop.", POOL, random.Random(0)) is None
