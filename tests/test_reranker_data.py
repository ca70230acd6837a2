"""The answer reranker's training pairs from a company's documents (scripts/train_answer_reranker.py, `--docs`)."""

from __future__ import annotations

import sys

from conftest import REPO

sys.path[:0] = [str(REPO / "scripts"), str(REPO / "bench")]
from qa_company import Question  # noqa: E402
from train_answer_reranker import corpus_pairs  # noqa: E402

PRICES = """# Van hire prices

The small van costs €59 a day and the large van €89 a day. Prices include VAT.

A one-way hire costs €79 on top of the daily price. Vans must be back by 18:00.
"""
PARKING = """# Parking

Staff park behind the depot. Visitors use the two bays by the gate.
"""


def test_the_sentence_holding_the_fact_is_a_positive_and_the_closest_others_negatives(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "prices.md").write_text(PRICES, encoding="utf-8")
    (corpus / "parking.md").write_text(PARKING, encoding="utf-8")
    answerable = Question("q1", "prices.md", "number", "How much is a one-way van hire?", ("€79",))
    unanswerable = Question("q2", "prices.md", "unanswerable", "How much is a van hire with a driver?", ())

    pairs = corpus_pairs(corpus, [answerable, unanswerable], 4, "docs", tmp_path / "index", sentence_negatives=2)

    sentences = [p for p in pairs if p.origin == "docs-sentence"]
    positives = [p for p in sentences if p.label == 1.0]
    assert [p.question for p in positives] == [answerable.question]
    assert "€79" in positives[0].text and "€59" not in positives[0].text  # the sentence, not the passage
    assert positives[0].text.startswith("Van hire prices\n")  # under its heading, as the QA skill scores it
    for question in (answerable, unanswerable):
        negatives = [p for p in sentences if p.question == question.question and p.label == 0.0]
        assert len(negatives) == 2 and all("€79" not in p.text for p in negatives)
    # The sentence about van prices beside the answer is the hardest negative: it shares the question's words.
    assert any("€59" in p.text for p in sentences if p.question == answerable.question and p.label == 0.0)
    assert all(p.label == 0.0 for p in pairs if p.question == unanswerable.question)


def test_without_sentence_negatives_only_passages_are_paired(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "prices.md").write_text(PRICES, encoding="utf-8")
    question = Question("q1", "prices.md", "number", "How much is a one-way van hire?", ("€79",))

    pairs = corpus_pairs(corpus, [question], 4, "docs", tmp_path / "index")

    assert pairs and {p.origin for p in pairs} == {"docs"}
    assert any(p.label == 1.0 for p in pairs)
