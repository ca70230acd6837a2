"""The settings of grounded question answering (the ``[qa]`` table of the config), each with why it has its value."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QAOptions:
    k: int = 4  # passages put in the prompt at most
    min_relevance: float = 0.35  # below this a passage is not about the question at all
    # When the model declines or its answer is unsupported but the best passage is at least this
    # relevant, that passage is quoted: at 0.45 about 80% of answerable XQuAD questions still pass
    # and 60% of those with their paragraph hidden do not (bench/README.md). 1.0 turns quoting off.
    quote_relevance: float = 0.45
    answer_tokens: int = 256
    # With a reranker (a cross-encoder scoring whether a passage answers the question, 0-1), these
    # decide instead of the cosine thresholds above: `candidates` passages are searched and reranked;
    # below `answer_score` for the best one the reply is "I don't know" with the closest passages and
    # the model is not asked; when the model declines, the best passage's best sentences are read
    # again if it scores at least `reread_score` (below), and quoted if it scores at least
    # `quote_score`. The shipped answer-ce's values, chosen on bench/company_qa's development half
    # (its card; `bench/qa_company.py --gate-only`): an answer at 0.3 keeps 96% of the answerable
    # questions there and turns away 50% of the unanswerable ones. No quote (1.0): once the second
    # reading has answered what it can, the quotes left held the fact for 0 of 91 answerable questions
    # there at 0.85 (3 at 0.7) and were given for 4 of its 30 unanswerable ones; an honest "I don't
    # know" still lists the closest passages (bench/README.md).
    # 8 candidates: the passage holding the answer is among the search's first 8 for 100% of bench/company_qa's
    # answerable questions and 99.7% of held-out XQuAD's, as among 20, and reranking fewer puts it first
    # as often or more (bench/README.md), in under half the time.
    candidates: int = 8
    answer_score: float = 0.3
    quote_score: float = 1.0
    # With a reranker: the reader gets the best run of up to this many sentences of each passage
    # instead of the whole passage (0: whole passages).
    reader_sentences: int = 0
    # With a reranker: when the reader declines but the best passage scores at least `reread_score`, the model
    # reads that passage's best sentence again, with no "I don't know" offered, and its answer is kept if it is
    # copied word for word from the sentence (else the sentence is quoted if the passage scores `quote_score`).
    # 1.0 turns the second reading off. 0.5: on bench/company_qa's development half it answered 59, 65, 66, 67
    # and 67 of 91 rightly at 0.85, 0.7, 0.5, 0.4 and 0.3, with one more unanswerable question answered at 0.3; on the
    # thirteen training companies of scripts/qa_docs, 0.4 and 0.5 differ on the first questions whose best passage scores
    # 0.4-0.5 (107 of 1,462): at 0.5, 2 right answers are lost, and 2 wrong ones and 4 answers to unanswerable questions
    # are not given (bench/README.md, forty-sixth session).
    # A question about steps ("How do I ...") is not read again but gets the best span quoted (the list whole, when it
    # is one) from a passage scoring this much: on the training companies of scripts/qa_docs, 7 of 19 such questions
    # got the right steps quoted instead of "I don't know", 2 the wrong ones, and 1 of 116 unanswerable questions a quote.
    # Under it (from `answer_score`), the model is not asked again, but the one phrase of the kind asked for in the best
    # sentence answers (phrases.sole_expression): on the training companies (1,276 questions), 4 more right, no
    # wrong answer and no unanswerable question more answered (bench/README.md).
    reread_score: float = 0.5
    # With a reranker: a question of no kind answer_kind knows (not a number, date, person, place...) is not read
    # again when the best passage scores less than this above the next: the reranker cannot tell which of the two
    # answers, and a phrase copied from the first is as often a fact beside the answer ("circuit breaker lockout
    # devices" for what goes on a danger tag). 1.0: never read again, since no check of its kind can tell a copied
    # fact beside the answer from the answer ("just below the knee" for how big a cut was): on documents the rules
    # were not tuned on, such second readings were right 16 times against 28 wrong or answering an unanswerable
    # question (the six held-out companies and three new ones; bench/README.md). 0: read again whatever the margin.
    reread_margin: float = 1.0
    # With a reranker: an answer copied from a sentence (with the one before it, at most) that the reranker scores
    # more than this below the best span of the passages read is a fact from the right passage that answers
    # another question ("Lars Dahl", the incident commander, for who wrote the migration): not shown, it goes to
    # the second reading. 1.0 turns the check off. 0.2: on the training companies of scripts/qa_docs (1,276 questions)
    # it withheld 6 more wrong answers than 0.3 and 3 more to unanswerable questions, one right answer lost and one
    # gained; 0.1 lost 9 right answers more; on the held-out companies 5 fewer wrong answers, no right one lost. On
    # bench/company_qa's development half, where 0.3 was first chosen, it withholds "two years" for a three-day course,
    # which the second reading then answers rightly (bench/README.md).
    source_margin: float = 0.2
    # With a reranker, when no passage scores `answer_score`: the sentences of the best this many passages are scored
    # too, and a passage scores as its best sentence when that is higher. A passage about several things scores low as a
    # whole for a question about one of them ("How long is the warranty on the TideLink gateway?": 0.14 for a passage
    # on every product's warranty, 0.40 for its sentence on the gateway's). 3, on the training companies of scripts/qa_docs
    # (which nothing shipped was trained or tuned on): 127 -> 135 of 301 answered right, 51 -> 56 wrong, 1 more of 116
    # unanswerable answered; development half: 70 -> 71 of 91 right, 1 more of 30 unanswerable answered (bench/README.md).
    # 0 turns it off.
    sentence_scores: int = 3
    # With a reranker: when the unit of the passages read that it scores best is a table row, the cell the question
    # asks for is looked up (table_lookup) and the model is not asked. On the training companies of scripts/qa_docs:
    # 164 -> 182 of 341 answered right, 60 -> 49 wrong, no unanswerable question more answered (bench/README.md).
    # A follow-up that swaps one part of a question a table's cell answered ("And for the ceremony itself?") is looked up
    # in that table first, by the column or the row the part names (table_lookup.swapped_cell).
    # A model that reads tables well needs no lookup: false leaves every table to the model.
    table_lookup: bool = True
    # "auto": rerankers/answer-ce when installed; "none": no reranker; else a name or a folder.
    reranker: str = "auto"
    # "auto": bfloat16 where the CPU computes it natively (AVX512-BF16, AMX), else float32; or either by name.
    reranker_precision: str = "auto"
