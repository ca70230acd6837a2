"""The grounded-QA training documents (scripts/qa_docs) and the held-out companies (bench/heldout_companies): every
answer is where its question says, and nothing of the evaluation corpora (bench/company_qa, the held-out companies)
is in the training documents."""

from __future__ import annotations

import sys

import pytest
from conftest import REPO

from assistant.retrieval.loaders import load_document

sys.path.insert(0, str(REPO / "scripts"))
from build_doc_qa_data import DOCS, companies, find_answer  # noqa: E402
from training_data import read_jsonl  # noqa: E402

COMPANIES = companies(DOCS)
EVALUATION = REPO / "bench" / "company_qa"
HELD_OUT = companies(REPO / "bench" / "heldout_companies")


def test_find_answer_returns_the_answer_as_the_text_writes_it():
    text = "Faulty units may be sent back\nwithin 30 Days of delivery. Refunds take 5 days."
    assert find_answer(text, ["two weeks", "within 30 days"]) == "within 30 Days"
    assert find_answer(text, ["90 days"]) is None


@pytest.mark.parametrize("company", COMPANIES + HELD_OUT, ids=lambda p: p.name)
def test_every_answer_is_in_its_document_as_the_loader_reads_it(company):
    rows = read_jsonl(company / "questions.jsonl")
    assert len({r["id"] for r in rows}) == len(rows)
    texts = {}
    for row in rows:
        path = company / "corpus" / row["source"]
        if path not in texts:
            texts[path] = load_document(path).text  # the visible text: no HTML tags, scripts or menus
        if row["answers"]:
            assert find_answer(texts[path], row["answers"][:1]), f"{row['id']}: {row['answers'][0]!r} is not in {row['source']}"
    assert sum(not r["answers"] for r in rows) >= 25  # same topic, absent fact: the hard case


def test_the_training_documents_share_nothing_with_the_evaluation_corpus():
    # A question with its answer: "How long is the probation period?" may be asked of every company's handbook.
    def asked(folder):
        return {(row["question"].lower(), tuple(row["answers"])) for row in read_jsonl(folder / "questions.jsonl")}

    evaluated = set().union(*map(asked, (EVALUATION, *HELD_OUT)))
    trained = set().union(*map(asked, COMPANIES))
    assert len(COMPANIES) >= 4 and len(HELD_OUT) >= 2 and not evaluated & trained
    evaluation_names = ("skerry", "tidelink", "harbor console", "solas solar", "kestrel transit", "pinecrest", "marrow roasters",
                        "larkspur", "ravensworth", "brambleford", "copperleaf", "ironmere")
    for path in DOCS.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8").lower()
            assert not any(name in text for name in evaluation_names), path
