"""The QA skill with a reranker: it decides answer, quote or "I don't know", and picks the sentences quoted.

Scripted models here (the chat model and the reranker); the shipped reranker, with a scripted chat
model, is tested at the end.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest
from fakes import ScriptedChatModel, ScriptedReranker, manager_over

from assistant.errors import ModelError
from assistant.retrieval.base import Passage
from assistant.retrieval.fake import FakeKnowledgeStore
from assistant.retrieval.rerank import LazyReranker, passage_text, rerank, resolve_reranker
from assistant.skills.answer_kind import asks_for, fits, kind_name, mismatch
from assistant.skills.grounding import (
    asked_names,
    code_spans,
    quantities,
    unmentioned_names,
    unstated_code,
    unstated_quantities,
)
from assistant.skills.phrases import first_of_several, sole_expression
from assistant.skills.prompts import NO_ANSWER, SHORTEN_SYSTEM
from assistant.skills.qa import QUOTE_INTRO, SHORTENED_NOTICE, UNSUPPORTED, copied_answer
from assistant.skills.qa_options import QAOptions
from assistant.skills.spans import is_instruction, is_list, weaker_source

INCIDENT = Passage(
    "Buoy 17 stopped sending data on 9 April. The investigation was led by Priya Raman. "
    "The loss of data was caused by a corroded antenna connector. A service boat reached the buoy on 11 April.",
    "incidents/buoy-17.md", "Incident report", line_start=5, line_end=9, relevance=0.31)  # cosine under min_relevance
TRAVEL = Passage("Flights of under six hours are booked in economy class.", "handbook/travel.md", "Travel policy",
                 line_start=3, line_end=3, relevance=0.52)
MAINTENANCE = Passage("Service each buoy every 12 months.", "products/maintenance.md", "Maintenance", relevance=0.41)


FILLERS = [Passage(f"Office note {i}: the kitchen is cleaned on day {i}.", f"notes/{i}.md", relevance=0.2) for i in range(4)]


def make(tmp_path, replies, phrases, passages=(TRAVEL, MAINTENANCE, INCIDENT), **options):
    model = ScriptedChatModel(replies)
    reranker = ScriptedReranker(phrases)
    knowledge = FakeKnowledgeStore(passages)
    manager = manager_over(model, tmp_path / "history.sqlite3", knowledge, qa_options=QAOptions(**options), reranker=reranker)
    return manager, model, reranker, knowledge


def prompt_of(model) -> str:
    return model.calls[-1]["messages"][-1]["content"]


def test_the_passage_the_reranker_finds_answers_is_the_one_shown_to_the_model_even_under_the_cosine_gate(tmp_path):
    passages = (TRAVEL, MAINTENANCE, *FILLERS, INCIDENT)  # the answer is 7th, beyond k = 4
    manager, model, reranker, _ = make(tmp_path, ["Priya Raman [1]"], {"Priya Raman": 0.97, "economy": 0.2}, passages=passages)
    reply = manager.handle("c", "/ask Who led the investigation of the buoy 17 incident?")
    assert reranker.calls[0][1] == [passage_text(p) for p in passages]  # up to `candidates` (8) searched and reranked
    assert not reply.declined and reply.text == "Priya Raman [1]"
    assert [p.source for p in reply.sources] == [INCIDENT.source] and reply.sources[0].relevance == pytest.approx(0.97)
    prompt = prompt_of(model)
    assert "Priya Raman" in prompt and "economy" not in prompt  # passages that do not answer stay out of the prompt


def test_a_passage_that_shares_no_word_with_the_message_does_not_answer_it(tmp_path):
    # Out of what it learned, the small cross-encoder scores most passages as answering "hello" or "thanks!" (0.3-0.8):
    # here every passage scores 0.9 for everything, and none is about a greeting by its words or its cosine.
    chat = ["Hello! What would you like to know?", "You're welcome.", "Glad to help."]
    model = ScriptedChatModel([*chat, "Priya Raman [1]", "You're welcome."])
    model.name = "smollm2-135m"  # not asked to rewrite follow-ups: each message is one call
    reranker = ScriptedReranker({"": 0.9})
    manager = manager_over(model, tmp_path / "h.sqlite3", FakeKnowledgeStore((*FILLERS, INCIDENT)), reranker=reranker)
    for message, answer in zip(("hello", "thank you so much", "🙂"), chat):  # the last is short enough to be a follow-up
        reply = manager.handle("c", message)
        assert reply.skill == "chat" and reply.text == answer and "general answer" in reply.notice, message
    reply = manager.handle("c", "/ask Who led the investigation of the buoy 17 incident?")
    assert reply.text == "Priya Raman [1]" and [p.source for p in reply.sources] == [INCIDENT.source]
    assert "kitchen" not in prompt_of(model)  # the office notes share no word with the question: not read
    # Thanks right after an answer is no follow-up to search with the question before it.
    reply = manager.handle("c", "thanks!")
    assert reply.skill == "chat" and reply.text == "You're welcome."


class WholePassagesScoreLower(ScriptedReranker):
    """As the shipped reranker does with a passage about several things: a phrase scores less the more there is around it."""

    def score(self, question: str, texts) -> list[float]:
        return [score * min(1.0, 10 / len(text.split())) for score, text in zip(super().score(question, texts), texts)]


WARRANTY = Passage("All hardware comes with a warranty against defects in materials and workmanship. The HB-3 buoy has a "
                   "warranty of three years from delivery. The TideLink gateway has a warranty of two years.",
                   "support/warranty.html", "Warranty", relevance=0.5)


def test_a_passage_that_does_not_answer_as_a_whole_is_read_when_one_of_its_sentences_does(tmp_path):
    question = "/ask How long is the warranty on the TideLink gateway?"
    for options, asked in (({}, True), ({"sentence_scores": 0}, False)):
        model = ScriptedChatModel(["two years [1]"])
        reranker = WholePassagesScoreLower({"gateway has a warranty of two years": 0.8})
        manager = manager_over(model, tmp_path / f"{asked}.sqlite3", FakeKnowledgeStore((TRAVEL, WARRANTY)),
                               qa_options=QAOptions(**options), reranker=reranker)
        reply = manager.handle("c", question)
        assert reranker.score("q", [passage_text(WARRANTY)])[0] < QAOptions().answer_score  # the whole passage: no answer
        if asked:  # its best sentence scores 0.8: the passage is read, and scores as that sentence
            assert reply.text == "two years [1]" and reply.sources[0].relevance == pytest.approx(0.8)
        else:
            assert reply.declined and not model.calls


def test_only_the_searchs_first_candidates_passages_are_reranked(tmp_path):
    fillers = [Passage(f"Office note {i}: the kitchen is cleaned on day {i}.", f"notes/{i}.md", relevance=0.2) for i in range(12)]
    passages = (*fillers[:7], INCIDENT, *fillers[7:])  # the answer 8th, then 5 more
    manager, _, reranker, knowledge = make(tmp_path, ["Priya Raman [1]"], {"Priya Raman": 0.97}, passages=passages)
    reply = manager.handle("c", "/ask Who led the investigation of the buoy 17 incident?")
    # Reranking costs per passage; the search's first 8 hold the answer as often as its first 20 (bench/README.md).
    assert QAOptions().candidates == 8 and reranker.calls[0][1] == [passage_text(p) for p in passages[:8]]
    assert reply.sources[0].source == INCIDENT.source


def test_when_no_passage_answers_the_reply_is_i_dont_know_with_the_closest_passages_and_the_model_is_not_asked(tmp_path):
    manager, model, _, _ = make(tmp_path, ["It was 5 million NOK [1]"], {"economy": 0.25, "Buoy 17": 0.2})
    reply = manager.handle("c", "/ask What was the company's revenue in 2025?")
    assert reply.declined and not reply.quoted and reply.text == NO_ANSWER
    assert [p.source for p in reply.sources] == [TRAVEL.source, INCIDENT.source, MAINTENANCE.source]  # by the reranker
    assert model.calls == []


def second_reading(answer: str):
    """A reader that declines with the passages, and answers ``answer`` when asked again with the best sentence."""
    return lambda messages: answer if messages[0]["content"] == SHORTEN_SYSTEM else NO_ANSWER


def test_a_model_that_declines_although_a_passage_answers_reads_the_best_sentence_again_and_answers_with_its_words(tmp_path):
    phrases = {"Priya Raman": 0.9, "corroded antenna connector": 0.95}
    manager, model, _, _ = make(tmp_path, second_reading("A corroded antenna connector [I don't know]"), phrases)
    reply = manager.handle("c", "/ask What caused the buoy 17 incident?")
    assert reply.text == "a corroded antenna connector [1]" and reply.notice == SHORTENED_NOTICE  # as the document writes it
    assert not reply.declined and not reply.quoted and reply.grounded and [p.source for p in reply.sources] == [INCIDENT.source]
    assert len(model.calls) == 2 and model.calls[1]["adapter"] == model.calls[0]["adapter"]
    # The second reading sees the one sentence the reranker found, not the passages.
    assert model.calls[1]["messages"][-1]["content"] == (
        "Passage: The loss of data was caused by a corroded antenna connector.\n\nQuestion: What caused the buoy 17 incident?")


def test_the_second_reading_reads_the_best_sentence_of_the_passages_that_answer_not_only_of_the_best_one(tmp_path):
    # The minutes' first passage scores best as a whole, for words the question shares, though none of its sentences
    # answers; the sentence that does is in the next passage.
    top = Passage("Quarterly operations meeting, second quarter. Minutes were taken by Anouk Meijer. Present were six "
                  "managers. The meeting was held on 9 July 2024.", "ops/minutes.txt", "Minutes", chunk_id=0)
    end = Passage("Two actions were agreed. Next meeting: 8 October 2024, 10:00, Barendrecht office.", "ops/minutes.txt",
                  "Minutes", chunk_id=1)
    phrases = {"second quarter. Minutes were taken by Anouk Meijer. Present": 0.86, "Next meeting": 0.72}
    manager, model, _, _ = make(tmp_path, second_reading("8 October 2024"), phrases, passages=(TRAVEL, top, end))
    reply = manager.handle("c", "/ask When is the next quarterly operations meeting?")
    assert reply.text == "8 October 2024 [1]" and reply.sources[0].chunk_id == 1 and reply.notice == SHORTENED_NOTICE
    assert model.calls[1]["messages"][-1]["content"].startswith("Passage: Next meeting: 8 October 2024")


@pytest.mark.parametrize(("margin", "runner_up", "answered"), [
    (None, 0.5, False),  # by default never: no check of its kind tells a fact beside the answer from the answer
    (0.1, 0.85, False), (0.1, 0.5, True),  # under a margin, when the next passage scores nearly as well
    (0.0, 0.85, True),
])
def test_a_question_of_no_known_kind_is_not_read_again(tmp_path, margin, runner_up, answered):
    phrases = {"corroded antenna connector": 0.9, "every 12 months": runner_up}
    options = {} if margin is None else {"reread_margin": margin}
    manager, model, _, _ = make(tmp_path, second_reading("antenna connector"), phrases, **options)
    reply = manager.handle("c", "/ask What part of buoy 17 had corroded?")
    assert reply.declined != answered and len(model.calls) == (2 if answered else 1)
    if answered:
        assert reply.text == "antenna connector [1]"


def test_a_question_of_a_known_kind_is_read_again_however_close_the_next_passage_scores(tmp_path):
    phrases = {"service boat reached": 0.9, "every 12 months": 0.88}
    manager, model, _, _ = make(tmp_path, second_reading("11 April"), phrases)
    reply = manager.handle("c", "/ask When did a service boat reach buoy 17?")
    assert len(model.calls) == 2 and reply.text == "11 April [1]" and not reply.declined


def test_a_question_of_no_known_kind_that_several_things_answer_is_not_answered_with_a_list_of_names(tmp_path):
    # No check of its kind tells a list of people from the cultures asked for ("Liu Bingzhong and Yao Shu" for which
    # cultures were part of an administration, on held-out XQuAD): as for any question of no known kind, "I don't know".
    parking = Passage("Parking: there is free parking at Skipton, Wakefield and Darlington. Harrogate has paid parking only.",
                      "clinics/visiting.md", "Visiting us")
    manager, model, _, _ = make(tmp_path, second_reading("Skipton"), {"free parking at Skipton": 0.8},
                                passages=(TRAVEL, parking))
    reply = manager.handle("c", "/ask Which of your clinics have free parking?")
    assert reply.declined and len(model.calls) == 1


@pytest.mark.parametrize("second", [
    "a broken cable",  # not in the sentence: invented
    "The loss of data was caused by a corroded antenna connector.",  # the sentence again: that is a quote
    NO_ANSWER,
])
def test_a_second_reading_that_does_not_copy_a_shorter_run_of_the_sentence_is_not_shown(tmp_path, second):
    phrases = {"Priya Raman": 0.9, "corroded antenna connector": 0.95}
    manager, _, _, _ = make(tmp_path, second_reading(second), phrases)
    reply = manager.handle("c", "/ask What caused the buoy 17 incident?")
    # No quote by default: "I don't know", the closest passages listed, best first.
    assert reply.declined and not reply.quoted and reply.text == NO_ANSWER and reply.sources[0].source == INCIDENT.source
    manager, _, _, _ = make(tmp_path / "quoting", second_reading(second), phrases, quote_score=0.7)
    reply = manager.handle("c", "/ask What caused the buoy 17 incident?")
    assert reply.quoted and reply.text.endswith("> … The loss of data was caused by a corroded antenna connector. …")


def test_an_answer_copied_from_a_sentence_that_does_not_answer_goes_to_the_second_reading(tmp_path):
    def reader(messages):  # the right passage, the wrong sentence of it; the right one when given it alone
        return "a corroded antenna connector" if messages[0]["content"] == SHORTEN_SYSTEM else "stopped sending data [1]"

    phrases = {"corroded antenna connector": 0.95}
    manager, model, _, _ = make(tmp_path, reader, phrases)
    reply = manager.handle("c", "/ask What caused the buoy 17 incident?")
    assert reply.text == "a corroded antenna connector [1]" and reply.notice == SHORTENED_NOTICE and len(model.calls) == 2
    manager, model, _, _ = make(tmp_path / "unchecked", reader, phrases, source_margin=1.0)
    assert manager.handle("c", "/ask What caused the buoy 17 incident?").text == "stopped sending data [1]"
    # A sentence scoring 0.25 below the best is another fact still (source_margin 0.2), but not at a margin of 0.3.
    phrases = {"corroded antenna connector": 0.95, "stopped sending data": 0.7}
    manager, model, _, _ = make(tmp_path / "close", reader, phrases)
    assert manager.handle("c", "/ask What caused the buoy 17 incident?").text == "a corroded antenna connector [1]"
    manager, model, _, _ = make(tmp_path / "wider", reader, phrases, source_margin=0.3)
    assert manager.handle("c", "/ask What caused the buoy 17 incident?").text == "stopped sending data [1]"


def test_an_answer_from_a_sentence_that_answers_with_the_one_before_it_is_kept(tmp_path):
    sla = Passage("If availability falls below the guarantee, the customer can claim a credit of 10% of the monthly fee. "
                  "Claims must be made within 30 days. Planned maintenance is not counted.", "support/sla.txt", "Service credits")
    # Alone, "Claims must be made within 30 days" does not say of what; read after the sentence before, it answers.
    phrases = {"claim a credit of 10% of the monthly fee. Claims": 0.9, "Planned maintenance": 0.3}
    manager, model, _, _ = make(tmp_path, ["30 days [1]"], phrases, passages=(sla,))
    reply = manager.handle("c", "/ask Within how many days must a service credit be claimed?")
    assert reply.text == "30 days [1]" and not reply.declined and len(model.calls) == 1


def test_the_sentence_after_an_answer_does_not_vouch_for_it(tmp_path):
    # "Priya Raman" is followed by the sentence that answers: read together they score high, but the answer is not in it.
    manager, model, _, _ = make(tmp_path, ["Priya Raman [1]"], {"corroded antenna connector": 0.95})
    reply = manager.handle("c", "/ask What caused the buoy 17 incident?")
    assert reply.declined and reply.text == NO_ANSWER


def test_copied_answer():
    sentence = "Orders placed before 12:00 are\ndelivered to the Bergen office the next working day."
    asked = "When are orders delivered?"
    assert copied_answer("before 12:00 [1]", sentence, asked) == "before 12:00"
    assert copied_answer("  The Bergen  Office.", sentence, asked) == "the Bergen office"
    assert copied_answer("next working day [I]", sentence, asked) == "next working day"
    assert copied_answer("day", "Delivered today.", asked) is None  # inside a word
    assert copied_answer("before 13:00", sentence, asked) is None
    assert copied_answer("[1]", sentence, asked) is None and copied_answer("", sentence, asked) is None
    assert copied_answer("I don't know", "I don't know the answer, said the clerk.", asked) is None
    # Words of the question alone are no answer; a number it does not hold is.
    assert copied_answer("Orders placed", sentence, "Where are orders placed before 12:00 delivered?") is None
    assert copied_answer("before 12:00", sentence, "Until when are orders placed?") == "before 12:00"
    # Words that echo the question before the copy are dropped; any other word makes it no copy.
    leave = "After five years of service you gain one extra day per year, up to a maximum of 31 days."
    most = "What's the most annual leave I can end up with after long service?"
    assert copied_answer("I can end up with up to a maximum of 31 days [1]", leave, most) == "up to a maximum of 31 days"
    assert copied_answer("I can take up to a maximum of 31 days", leave, most) is None
    assert copied_answer("I can end up with", leave, most) is None
    # A copy the token limit cut inside its last word is completed from the sentence.
    helpdesk = "Call the IT helpdesk on extension 2200 or email it-helpdesk@alderfinch.nl for help."
    assert copied_answer("2200 or email it-helpdesk@alder", helpdesk, "What's the extension for the IT helpdesk?") == (
        "2200 or email it-helpdesk@alderfinch.nl")
    sign = "Lady Gaga sang, while Marlee Matlin provided American Sign Language (ASL) translation."
    assert copied_answer("Marlee Matlin provided American Sign Language (", sign, "Who signed?") is None  # cut between words
    # A row's cells with their headers are the row again, not an answer.
    row = "No.: 3; Action: Replace light fittings at end of aisle 14; Owner: Facilities; Deadline: 31 May 2024"
    asked = "How much did it cost to replace the light fittings in aisle 14?"
    assert copied_answer("No.: 3; Action: Replace light fittings at end of aisle 14; Owner: Facilities", row, asked) is None
    assert copied_answer("31 May 2024", row, "When are the light fittings replaced?") == "31 May 2024"


def test_the_source_of_an_answer_is_where_its_whole_words_are():
    limits = Passage("The limit is 150 requests a minute. The fee is ten euros a month.", "api/limits.md", "Limits")
    reranker = ScriptedReranker({"fee is ten": 0.9, "150 requests": 0.2})
    assert weaker_source(reranker, "What is the fee?", "ten euros", [limits]) == 0.0
    assert weaker_source(reranker, "What is the fee?", "150 Requests", [limits]) == pytest.approx(0.7)
    assert weaker_source(reranker, "What is the fee?", "15", [limits]) is None  # "150" does not hold it: nothing to compare


ROLLBACK = Passage("Firmware 3.7 was withdrawn on 2 June 2026 because it broke the channel plan of the rescue services. "
                   "212 gateways were returned to firmware 3.6 within four hours.", "releases/tidelink.md", "Releases", relevance=0.5)


def test_an_answer_of_the_wrong_kind_is_read_again_from_the_best_sentence(tmp_path):
    """"four hours" is in the passage, so the grounding check passes it, but it is no count of gateways."""
    def reader(messages):
        return "212 [1]" if messages[0]["content"] == SHORTEN_SYSTEM else "four hours [1]"

    manager, model, _, _ = make(tmp_path, reader, {"212 gateways": 0.9}, passages=(ROLLBACK, TRAVEL))
    reply = manager.handle("c", "/ask How many gateways were returned to firmware 3.6?")
    assert reply.text == "212 gateways [1]" and reply.notice == SHORTENED_NOTICE and len(model.calls) == 2  # completed


def test_when_no_reading_gives_the_kind_asked_for_the_reply_is_i_dont_know_and_says_why(tmp_path):
    manager, _, _, _ = make(tmp_path, ["on 2 June 2026 [1]"] * 2, {"withdrawn": 0.9}, passages=(ROLLBACK, TRAVEL))
    reply = manager.handle("c", "/ask Why was firmware 3.7 withdrawn?")
    assert reply.declined and reply.text == NO_ANSWER and "not a reason" in reply.notice
    assert reply.sources[0].source == ROLLBACK.source


UPLOADS = Passage("Admins can send a file (text, Markdown, PDF, HTML, Word .docx) to index. Messages longer than 20,000 "
                  "characters are refused and captions longer than 1,024 characters are cut; Telegram allows ~20 messages a "
                  "minute.", "docs/telegram.md", "Telegram", relevance=0.5)


def test_a_number_whose_thousands_the_reader_dropped_is_not_shown(tmp_path):
    def reader(messages):  # the second reading declines
        return NO_ANSWER if messages[0]["content"] == SHORTEN_SYSTEM else "20 characters [1]"

    manager, _, _, _ = make(tmp_path, reader, {"20,000 characters": 0.9}, passages=(UPLOADS, TRAVEL))
    reply = manager.handle("c", "/ask How long may a message be?")
    assert reply.declined and reply.text == UNSUPPORTED  # and no one length in the sentence to fall back on
    manager, _, _, _ = make(tmp_path / "2", ["20,000 characters [1]"], {"20,000 characters": 0.9}, passages=(UPLOADS, TRAVEL))
    assert manager.handle("c", "/ask How long may a message be?").text == "20,000 characters [1]"


def test_a_date_is_no_quantity_and_a_miscounted_citation_is_mended(tmp_path):
    notes = Passage("Next meeting: Thursday 20 June 2024, 14:00, Teams only.", "ops/minutes.txt", "Minutes", relevance=0.5)
    audit = Passage("The autoclave audit meeting ran on 10 June and 1 June.", "ops/audit.txt", "Audit", relevance=0.5)
    manager, _, _, _ = make(tmp_path, ["Thursday 20 June 2024 [2]"], {"Next meeting": 0.9, "audit": 0.5}, passages=(notes, audit))
    reply = manager.handle("c", "/ask When is the next meeting?")
    assert reply.text == "Thursday 20 June 2024 [1]" and [p.source for p in reply.sources] == [notes.source]


def test_a_quantity_is_checked_against_the_passage_the_answer_cites(tmp_path):
    """"four minutes" is the pairing's, in passage 2: the rollback the answer cites took four hours."""
    def reader(messages):
        return "within four hours [1]" if messages[0]["content"] == SHORTEN_SYSTEM else "four minutes [1]"

    pairing = Passage("Pairing a buoy takes four minutes.", "products/pairing.md", "Pairing", relevance=0.5)
    manager, _, _, _ = make(tmp_path, reader, {"within four hours": 0.9, "Pairing": 0.4}, passages=(ROLLBACK, pairing))
    reply = manager.handle("c", "/ask How long did the firmware 3.7 rollback take?")
    assert reply.text == "within four hours [1]" and reply.notice == SHORTENED_NOTICE


def test_a_bound_the_other_way_round_is_no_answer_and_the_notice_says_so(tmp_path):
    admins = Passage("Every company needs at least one Admin in Hub. Admins can add users and approve quotes.",
                     "it/hub-guide.md", "Hub roles", relevance=0.5)
    manager, _, _, _ = make(tmp_path, ["at least one [1]"] * 2, {"at least one Admin": 0.9}, passages=(admins, TRAVEL))
    reply = manager.handle("c", "/ask What's the maximum number of Admins a company can have in Hub?")
    assert reply.declined and reply.text == NO_ANSWER and "a lower bound, where the question asks for the most" in reply.notice


PAIRING = Passage("Pairing takes a minute.\n\nTo pair a buoy:\n1. Open the TideLink web page and sign in as admin.\n"
                  "2. Choose Add buoy and type its serial number.\n\nA paired buoy reports every ten minutes.",
                  "products/tidelink.md", "TideLink", relevance=0.5)


def test_a_question_about_steps_that_the_model_declines_gets_the_steps_quoted_not_one_copied_phrase(tmp_path):
    manager, model, _, _ = make(tmp_path, second_reading("sign in as admin"), {"Add buoy": 0.9}, passages=(PAIRING, TRAVEL))
    reply = manager.handle("c", "/ask How do I pair a buoy with TideLink?")
    assert len(model.calls) == 1  # no second reading: "sign in as admin" would pass for the whole procedure
    assert reply.quoted and not reply.declined and reply.text.startswith(QUOTE_INTRO)
    # The list whole, with its introducing line, though the reranker found the second step: step 1 is part of the answer.
    assert "> To pair a buoy:\n> 1. Open the TideLink web page" in reply.text and "> 2. Choose Add buoy" in reply.text
    assert "Pairing takes a minute" not in reply.text and "every ten minutes" not in reply.text
    assert [p.source for p in reply.sources] == [PAIRING.source]


EXPORT = Passage("PDF reports include the calibration certificate numbers, which auditors usually ask for.\n\n"
                 "Open Reports, pick the sensors and date range, then click Export.", "products/coldtrack.md", "ColdTrack",
                 relevance=0.5)


def test_a_question_about_steps_gets_the_sentence_that_tells_what_to_do_quoted(tmp_path):
    # The reranker likes the sentence sharing the question's words best; the step that answers comes second.
    manager, _, _, _ = make(tmp_path, second_reading("PDF reports"), {"PDF reports": 0.9, "click Export": 0.6},
                            passages=(EXPORT, TRAVEL))
    reply = manager.handle("c", "/ask How do I get a PDF of my temperature records for an audit?")
    assert reply.quoted and "> Open Reports, pick the sensors and date range, then click Export." in reply.text
    assert "auditors" not in reply.text


def test_an_instruction_opens_with_what_to_do():
    for told in ("Open Reports, then click Export.", "1. Log in and choose \"Open day\".", "- Tick the box",
                 "Then type /deploy rollback in #deploys.", "Pairing takes a minute. Right-click the buoy and choose Pair."):
        assert is_instruction(told), told
    for said in ("PDF reports include the certificate numbers.", "Note: the float is EUR 150.", "Reports are sent monthly.",
                 "That is why every migration must stay compatible.", "2. OPENING THE TILL"):
        assert not is_instruction(said), said


def test_a_list_is_its_items_after_one_introducing_line_and_a_wrapped_line_goes_on_the_item_before():
    assert is_list("To pair a buoy:\n1. Open the web page.\n2. Choose Add buoy.") and is_list("- Tick it\n- Click Export")
    assert is_list("1. Promote the build. Deploys go to one region\n   first (Bergen), then Stockholm.\n2. Watch the dashboard.")
    assert not is_list("1. Open the web page.\n2. Choose Add buoy.\nA paired buoy reports every ten minutes.")
    assert not is_list("Pairing takes a minute.\nIt is done by an admin.\n1. Open the web page.\n2. Choose Add buoy.")
    assert not is_list("1. Open the web page.")


def test_a_yes_or_no_question_the_model_declines_is_not_read_again(tmp_path):
    # A phrase copied from the best sentence says neither yes nor no.
    manager, model, _, _ = make(tmp_path, second_reading("Priya Raman"), {"Priya Raman": 0.9})
    reply = manager.handle("c", "/ask Did anyone investigate the buoy 17 incident?")
    assert len(model.calls) == 1 and reply.declined and reply.text == NO_ANSWER


def test_steps_are_quoted_only_from_a_passage_that_answers_well_enough_to_read_again(tmp_path):
    manager, _, _, _ = make(tmp_path, second_reading("sign in as admin"), {"Add buoy": 0.35}, passages=(PAIRING, TRAVEL))
    reply = manager.handle("c", "/ask How do I pair a buoy with TideLink?")
    assert reply.declined and not reply.quoted and reply.text == NO_ANSWER  # 0.35 answers (0.3), under reread_score (0.5)


def test_a_long_list_is_not_quoted_whole_for_a_question_about_steps(tmp_path):
    items = "\n".join(f"{i}. Check valve {i} of the buoy's ballast system and note its reading in the log." for i in range(1, 16))
    checklist = Passage(f"{items}\n16. Open TideLink, choose Add buoy and type its serial number.", "products/checklist.md", "Checklist", relevance=0.5)
    manager, _, _, _ = make(tmp_path, second_reading("sign in as admin"), {"Add buoy": 0.9}, passages=(checklist, TRAVEL))
    reply = manager.handle("c", "/ask How do I pair a buoy with TideLink?")
    assert reply.quoted and "16. Open TideLink, choose Add buoy" in reply.text and "1. Check valve 1 " not in reply.text


def test_a_duration_that_no_passage_it_cites_states_is_not_an_answer(tmp_path):
    """"four" and "minutes" are both in the passages read, "four minutes" only in the one not cited."""
    shipyard = Passage("A rollback in Shipyard takes four minutes.", "engineering/shipyard.md", "Shipyard", relevance=0.5)

    def reader(messages):
        return "within four hours [1]" if messages[0]["content"] == SHORTEN_SYSTEM else "four minutes [1]"

    manager, _, _, _ = make(tmp_path, reader, {"four hours": 0.9, "Shipyard": 0.4}, passages=(ROLLBACK, shipyard))
    reply = manager.handle("c", "/ask How long did the firmware 3.7 rollback take?")
    assert reply.text == "within four hours [1]" and reply.notice == SHORTENED_NOTICE
    assert [p.source for p in reply.sources] == [ROLLBACK.source]


def test_quantities():
    assert quantities("It took four hours [1], then 48-hour checks, for 90 days and two centuries.") == {
        ("4", "hour"), ("48", "hour"), ("90", "day"), ("2", "century")}
    assert quantities("Up to 20,000 characters, 8 chats at once, £20 per night, from 10:00 hours, 24/7 support, v4.2 beta") == {
        ("20000", "character"), ("8", "chat")}
    assert quantities("35 kg by 6 pm, 25 MB per file") == {("35", "kg"), ("25", "mb")}
    # Timetables shorten time units: "55 min" is 55 minutes, so a reader's "55 minutes" is what the passage states.
    assert quantities("Mat Pilates, 55 min; 2 hrs on Sundays, 30 secs") == {("55", "minute"), ("2", "hour"), ("30", "second")}
    classes = Passage("Mat Pilates: 55 min, 4 classes a month on Core.", "clinic/classes.md", "Classes", relevance=0.8)
    assert unstated_quantities("55 minutes [1]", [classes]) == set() and unstated_quantities("45 minutes", [classes]) == {("45", "minute")}
    assert not fits("How many mat classes does Core include?", "55 min [1]") and fits("How long is a mat class?", "55 min [1]")


def test_quantities_that_no_passage_states():
    assert unstated_quantities("four minutes [1]", [ROLLBACK]) == {("4", "minute")}  # the unit of another number
    assert unstated_quantities("4 hours", [ROLLBACK]) == set() and unstated_quantities("212 gateways", [ROLLBACK]) == set()
    assert unstated_quantities("300 gateways", [ROLLBACK]) == {("300", "gateway")}
    limits = Passage("Messages longer than max_input_chars (20,000 characters) are refused; Telegram allows ~20 messages "
                     "a minute.", "docs/telegram.md", "Limits", relevance=0.5)
    assert unstated_quantities("20 characters [1]", [limits]) == {("20", "character")}  # its thousands dropped
    assert unstated_quantities("20,000 characters [1]", [limits]) == set()
    assert unstated_quantities("3 large rooms", [limits]) == set()  # words never written after a number are not checked


def test_code_that_no_passage_states_is_found_inline_and_in_fenced_blocks():
    guide = Passage("Add a file or a folder with `assistant index add`:\n\n    .venv/bin/assistant index add ~/notes",
                    "docs/getting-started.md", "Getting started", relevance=0.6)
    assert code_spans("Run `a b` then:\n```sh\nc d\n\ne\n```\nand `f`.") == ["c d", "e", "a b", "f"]
    assert unstated_code("Use `assistant index add ~/docs` [1].", [guide]) == []  # the command is stated, the path is yours
    assert unstated_code("```\n.venv/bin/assistant index add ~/notes\n```", [guide]) == []
    assert unstated_code("Run `sudo add-item -i /path/to/documents`.", [guide]) == ["sudo add-item -i /path/to/documents"]
    assert unstated_code("Use `add_file_to_list` [1].", [guide]) == ["add_file_to_list"]
    assert unstated_code("Run `--force`.", [guide]) == ["--force"]  # all argument, no command: not in the passage


def test_an_answer_with_an_invented_command_is_not_shown(tmp_path):
    def reader(messages, **_):
        return "You can add your documents to the knowledge base with the command `sudo add-item -i /path/to/documents` [1]."

    # Most of the answer's words are the passage's: only the command gives the invention away.
    guide = Passage("Add documents to the knowledge base with the command `assistant index add` and the path of a file or folder.",
                    "docs/getting-started.md", "Getting started", relevance=0.5)
    manager, _, _, _ = make(tmp_path, reader, {"assistant index add": 0.9}, passages=(guide,))
    reply = manager.handle("c", "/ask How do I add my documents?")
    assert "sudo" not in reply.text and reply.sources[0].source == guide.source
    assert reply.quoted and "`assistant index add`" in reply.text  # how the documents say it is done, instead


def test_answer_kinds():
    assert [asks_for(q) for q in ("How many gateways were returned?", "And how many were lost?", "How many days before departure?",
                                  "Why was 3.7 withdrawn?", "When was 3.8 released?", "Until when can I order?",
                                  "What time does the office open?", "What happens when the buoy sinks?",
                                  "How was it decided how many seats each party gets?", "When a buoy fails, who is called?",
                                  "How often is it serviced?", "Why not?", "If I carry some over, by when must I use it?",
                                  "In the CO2 leak, what time did the alarm go off?", "When it happens, what is it called?")] == [
        "count", "count", "duration", "reason", "time", "time", "time", None, None, "person", "frequency", None, "time", "time", None]
    # The phrase before the question word says under what it asks: the kind is the question word's.
    assert not fits("In the CO2 leak in the keg cold store, what time did the alarm go off?", "23 August 2024 [1]")
    assert asks_for("How many night shifts in a row can I work?") == "count" and asks_for("How many days do I get?") == "duration"
    # A number of days is no date: "20 December and 2 January" are the days the office is shut, not how many days of leave.
    days = "How many days of paternity leave can I take?"
    assert fits(days, "10 working days") and fits(days, "two weeks") and fits(days, "a fortnight") and fits(days, "5")
    assert not fits(days, "20 December and 2 January [1]") and not fits(days, "£40")
    # Days counted after the words that say which are days too; money counts nothing, however many digits it has.
    assert asks_for("How many study leave days do I get?") == "duration" and fits("How many study leave days do I get?", "2 days")
    assert asks_for("How many physio visits a year does my plan cover?") == "count"
    assert not fits("How many physio visits a year does my plan cover?", "€45") and not fits("How many gateways?", "$1,200 [1]")
    count, why, when = "How many gateways were returned?", "Why was it withdrawn?", "When was it released?"
    # A supplement is a price, and what someone gets paid is money.
    assert asks_for("What's the supplement for a Sunday massage?") == asks_for("What do examiners get paid?") == "amount"
    # A question written as the thing it asks about asks what that is; a question after a dash is the asking part.
    assert [asks_for(q) for q in ("excess on premier cover?", "Deadline for a discharge summary?", "Opening hours on weekdays?",
                                  "Wifi password?", "Is there parking?", "And on Fleet?")] == [
        "amount", "time", "time", None, "yes/no", None]
    assert not fits("Utrecht branch opening hours on weekdays?", "Monday to Friday [1]")
    assert asks_for("Video consult - how long before can I cancel for free?") == "length"
    # "What caused ...?" asks for a reason as "why" does: a date is no cause.
    assert [asks_for(q) for q in ("What caused the outage?", "And what was behind it?", "What was the cause of the fire?",
                                  "What made compressor 2 trip?")] == ["reason"] * 4
    assert not fits("What caused the outage?", "on 2 June 2026 [1]") and fits("What caused it?", "an expired certificate [1]")
    # A phone number is no count; "how old" asks for a duration, as "roughly how much" for an amount.
    assert not fits("How many questions are on the placement test?", "1-888-412-7730 [1]") and fits(count, "1 200 000")
    # Nor a number that names what it follows: "option 1" is the menu choice, "aisle 14" where.
    assert not fits(count, "option 1 [1]") and fits(count, "12 pallets in aisle 14")
    # Nor days counted with words between ("the last two working days of a month" for how many deploys a day), nor a list
    # item's number ("2. The rail had been removed ..." for what a repair cost).
    assert not fits("What's the maximum number of deploys per day?", "We never deploy during the last two working days of a month.")
    assert fits(count, "two working days and 40 gateways")
    # A percentage named by what it measures, and a rate that is a share, ask for a share.
    assert [asks_for(q) for q in ("What was our on-time delivery percentage in Q2?", "What was the missed appointment rate in April?",
                                  "What error rate does the canary have to stay below?", "What's the exchange rate?",
                                  "What's the heart rate?")] == ["share", "share", "share", None, None]
    assert not fits("What was the missed appointment rate in April?", "Headingley [1]")
    # The most one would pay (however it is contracted), the least rest, the minimum length.
    assert [asks_for(q) for q in ("What's the most I'd pay?", "What's the least rest I can take?",
                                  "What's the minimum length for a password?", "What length of service do I need?")] == [
        "amount", "duration", "length", None]
    # A question for a date wants a date, a month, a day's name or a year, not a count.
    since = "From what date did you stop taking Wavecrest Health?"
    assert asks_for("On what date did the minibus hit the barrier?") == asks_for(since) == "time"
    assert not fits(since, "11 Wavecrest patients have moved to self-pay [1]") and mismatch(since, "11 patients").startswith("not a date")
    assert all(fits(since, answer) for answer in ("1 March 2025 [1]", "March", "Saturday", "12/03/2025", "in 2024"))
    repair = "How much did it cost to repair the rail?"
    assert not fits(repair, "2. The rail had been removed on 6 March for repair [1]") and fits(repair, "2. €140 [1]")
    assert sole_expression(count, "Call 1-888-412-7730 (option 1) about the 40 gateways returned.") == "40"
    assert asks_for("How old was the CO2 detector?") == "length" and asks_for("Roughly how much is a point worth?") == "amount"
    # A question that names a price, a fee or a payment asks for money, as "how much does it cost" does.
    weekly = "What's the on-call payment per week?"
    assert asks_for(weekly) == "amount" and fits(weekly, "€200 [1]") and not fits(weekly, "24 hours a day [1]")
    assert asks_for("What was the bonus scheme called?") is None
    # Pay asked for as what it should be, a price noun before the verb, and a price verb after a long thing priced.
    assert [asks_for(q) for q in ("I've been here a year. What should my hourly rate be?", "What should my monthly fee be?",
                                  "What fee gets added to their account?", "What deposit goes on my credit card?",
                                  "What does a 30 litre keg of Half Door cost on the trade list?", "What's the corkage?",
                                  "What's the tuition for that?", "What's the extra pay for a night page?")] == ["amount"] * 8
    assert [asks_for(q) for q in ("What's the pay scale called?", "What's the fine print on returns?")] == [None, None]
    charge = "What do you charge for a Microsoft 365 E3 licence?"
    assert asks_for(charge) == "amount" and not fits(charge, "Microsoft 365 Business Basic [1]")
    assert not fits("What do I charge them?", "14:00, two days before arrival [1]") and fits(charge, "£4.90 [1]")
    # However many words name what is priced ("What will the online group courses cost from the fall term?").
    courses = "What will the online group courses cost from the fall term?"
    assert asks_for(courses) == "amount" and not fits(courses, "tuition [1]") and fits(courses, "$520 [1]")
    assert asks_for("What did the Freezer Room B incident cost in total?") == "amount"
    # A superlative before who does it: "the longest I ..." asks for a duration, "the latest I ..." for a time, and
    # "the most I can spend (claim, be paid)" for money; "the maximum I can drive" may be hours or kilometres.
    assert asks_for("What's the longest I'm allowed to work in one shift?") == "length"
    assert asks_for("What's the latest I can book a private lesson before it starts?") == "time"
    spend = "What's the most I can spend per night on a hotel in London?"
    assert asks_for(spend) == "amount" and not fits(spend, "the Premier Inn [1]") and fits(spend, "£165 [1]")
    assert asks_for("What's the most a tenant can be paid for improvements?") == "amount"
    assert asks_for("What's the maximum I can drive over two weeks in a row?") is None
    # "What allowance (discount, deposit, budget) do I get ...?" asks for money or a share as "What's the allowance?" does.
    allowance = "I'm on the early shift this Saturday. What allowance do I get on top of my basic hourly wage?"
    assert asks_for(allowance) == "amount" and fits(allowance, "35% [1]") and not fits(allowance, "Saturday early shift [1]")
    assert sole_expression(allowance, "- Saturday early shift: 35%") == "35%"
    budget = "What budget do I have for small items like headphones?"
    assert sole_expression(budget, "Item: Small items (headphones, cables); Budget: €150; Renewal: every year") == "€150"
    assert asks_for("What discount can we give a charity?") == "amount" and asks_for("What discount codes are there?") is None
    # A rate of pay or a price per unit is money ("£12.40", "25p per mile", "double time"); an error, fix or exchange rate
    # and a rate limit are not.
    hourly = "What's the hourly rate for shift leaders from April 2025?"
    assert asks_for(hourly) == "amount" and fits(hourly, "£12.40 an hour [1]") and not fits(hourly, "shift leaders [1]")
    mileage = "I drive my own car to client sites. What do I get per mile now?"
    assert asks_for(mileage) == "amount" and fits(mileage, "25p per mile [1]") and fits(mileage, "21 cents")
    assert sole_expression(mileage, "After 10,000 business miles in a tax year the rate drops to 25p per mile.") == "25p"
    assert fits("What's the pay rate for hours worked on a bank holiday?", "double time [1]")
    assert sole_expression(hourly, "From April 2025 shift leaders are paid £12.40 an hour until 4 p.m. and £13.10 after.") is None
    assert sole_expression(hourly, "Shift leaders start at 6 a.m. or 4 p.m. and earn £12.40 an hour.") == "£12.40"
    assert asks_for("What points do I get per visit?") is None
    assert [asks_for(q) for q in ("What mileage rate do I get on a motorbike?", "What's the rate per km?",
                                  "What does a sous chef earn per hour?", "What extra do we get per hour on Sundays?")] == ["amount"] * 4
    assert [asks_for(q) for q in ("What error rate does the canary have to stay below?", "What's the rate limit for the API?",
                                  "What first-time fix rate do contractors have to achieve?", "What's the daily error rate?")] == [
        "share", None, "share", "share"]  # a share, not money
    # A temperature, a weight or a speed is said in its units: "75 min" is no weight of hops, "8 GB" no upload speed.
    assert [asks_for(q) for q in ("What temperature is the lager fermented at?", "What weight of hops goes in?",
                                  "What upload speed does my connection need?")] == ["temperature", "weight", "speed"]
    assert fits("What's the coldest temperature it can measure?", "-80 °C") and fits("What's the max weight?", "35 kg")
    assert asks_for("Which temperature probe do we use?") is None and asks_for("What's the speed limit?") == "speed"
    # "Which version ...?" is answered with a version number, which a sentence may hold once.
    which = "Which SpokeDesk version brought in the 5-digit PINs?"
    assert asks_for(which) == "version" and fits(which, "5.3.0 [1]") and not fits(which, "Tandem Software B.V [1]")
    assert sole_expression(which, "SpokeDesk 5.3.0, out on 12 March 2025, brought in 5-digit PINs.") == "5.3.0"
    assert asks_for("What release date is planned?") == "time"  # a date, not a version
    oldest = "What's the oldest Android version the Hub app still supports?"
    assert asks_for(oldest) == "version" and fits(oldest, "Android 10 [1]") and not fits(oldest, "the Hub app [1]")
    # The biggest (maximum) file or attachment is a size of data: "25 MB", not "two weeks"; a download speed is a speed.
    biggest = "What's the biggest attachment I can upload to a ticket in Hub?"
    assert asks_for(biggest) == "storage" and fits(biggest, "25 MB per file [1]") and not fits(biggest, "two weeks [1]")
    assert asks_for("What's the max file size for homework uploads now?") == "storage"
    assert asks_for("What is the maximum download speed over the VPN?") == "speed"
    # The most (least) leave, overtime or notice is counted in days, hours or weeks.
    overtime = "What's the most overtime I can do in a single week?"
    assert asks_for(overtime) == "duration" and fits(overtime, "10 hours [1]") and not fits(overtime, "£300 [1]")
    assert asks_for("What is the minimum notice period for resigning?") == "duration"
    assert not fits("What weight of hops goes in?", "75 min [1]") and not fits("What upload speed do I need?", "8 GB of RAM")
    # "What day ...?", "Which days ...?" ask for a day: its name, a date, a day of the month; not a time of day.
    day = "I'm 20 weeks pregnant. What day is the postnatal Pilates class?"
    assert asks_for(day) == asks_for("On which days is she there?") == "time" and kind_name(day) == "a day"
    assert not fits(day, "18:15 [1]") and [fits("Which day of the month is payday?", a) for a in
                                           ("the 25th", "25", "the last working day of the month", "Wednesday", "1 April")] == [True] * 5
    assert asks_for("What day rate do contractors get?") != "time" and asks_for("Which day shift pays more?") is None
    assert sole_expression("What temperature do we mash at?", "Mash in at 68 °C for 60 minutes.") == "68 °C"
    assert fits(count, "212 [1]") and fits(count, "212 gateways within four hours") and fits(count, "two") and fits(count, "the majority")
    assert not fits(count, "four hours [1]") and not fits(count, "10%") and not fits(count, "1,200 NOK") and not fits(count, "the Bergen office")
    assert not fits(count, "the K2 town service [1]") and not fits(count, "SEV1") and fits(count, "2x") and fits(count, "3rd")
    assert fits(why, "it broke the channel plan") and fits(why, "because of a bug in 3.7")
    assert not fits(why, "on 2 June 2026 [1]") and not fits(why, "four hours") and not fits(why, "212")
    assert fits(when, "20 June 2026") and fits(when, "after the storm") and fits(when, "on Tuesdays") and fits(when, "in spring")
    what_time = "I start at the Saltings next Monday. What time should I turn up?"
    assert asks_for(what_time) == "time" and kind_name(what_time) == "a time of day" and asks_for("From what time can I check in?") == "time"
    assert fits(what_time, "08:45 [1]") and fits(what_time, "9.30 am") and fits(what_time, "at noon") and fits("What time of year is it?", "March")
    assert not fits(what_time, "Monday [1]") and not fits(what_time, "23 August 2024")  # a day is no time of day
    assert fits(what_time, "half past nine") and fits(what_time, "nine o'clock")
    # Opening (office) hours are times of day: a range ("11 to 5", "9am to 1pm"), "closed" or "24/7"; not the days open.
    sunday = "What are the Sunday opening hours in Haarlem?"
    assert asks_for(sunday) == "time" and kind_name(sunday) == "a time of day" and kind_name("What are your office hours?") == "a time of day"
    assert all(fits(sunday, a) for a in ("11:00–17:00 [1]", "11 to 5", "9am to 1pm", "closed on Sundays", "24/7"))
    assert not fits(sunday, "Wednesday and Thursday [1]") and not fits(sunday, "7 to 10 days") and not fits(sunday, "9-12 kg")
    assert sole_expression(sunday, "On Sundays the Haarlem shop opens 11:00–17:00.") == "11:00–17:00"
    assert kind_name("What hours are you open on Saturday?") == "a time of day" and asks_for("What hours do I work?") is None
    assert fits("What time frame does the warranty cover?", "1 January 2024 to 31 December 2025")  # a time frame is no time of day
    assert sole_expression(what_time, "Monday 3 March: please be at reception at 08:45.") == "08:45"
    assert not fits(when, "Priya Raman [1]") and not fits(when, "the rescue services")
    much = "How much did the replacement contactor cost?"
    assert asks_for(much) == "amount" and fits(much, "£640 [1]") and fits(much, "nothing") and fits(much, "€4.20 a week")
    assert not fits(much, "30 April 2024 [1]") and not fits(much, "Halden Coldchain") and not fits(count, "22:00-06:00")
    assert not fits(much, "B2 and C1 [1]") and fits(much, "USD 40")  # exam levels, not an amount
    price = "How much does it cost to hire the mezzanine for a party?"
    assert not fits(price, "up to 40 people [1]") and not fits(price, "900 Mbps fibre") and not fits(price, "1.2 points")
    assert not fits(price, "Replace light fittings at end of aisle 14 [1]") and fits(price, "about 1,200 per year")
    assert fits(price, "€350 [1]") and fits(price, "189,000") and fits(price, "3 NOK per kWh") and fits(price, "8%") and fits(price, "free")
    assert fits("How much sick pay do I get?", "20 days at full pay") and fits("How much storage is there?", "40 GB")  # not a price
    long = "How long is a hygiene appointment?"
    assert asks_for(long) == "length" and asks_for("How long ago was it?") is None and not fits(count, "2 mm [1]")
    assert fits(long, "30 minutes [1]") and fits(long, "three-day") and fits(long, "until the end of the month") and fits(long, "1.5 m")
    assert not fits(long, "£30 [1]") and not fits(long, "134 to 137 degrees C") and not fits(long, "10%") and not fits(long, "the nurse")
    # A clock time or a date alone says when, not how long; a while between two does, and a bound says how early.
    assert not fits("How long does the safety induction take?", "11:00 [1]") and not fits(long, "3 March")
    assert fits(long, "until 17:00") and fits(long, "20:00 to 23:30") and fits(long, "by 3 March") and fits("How early should I arrive?", "at 08:45")
    # Notice is said in time, and the notice to give is a least: "less than 24 hours" is when a late cancellation is charged.
    notice = "How much notice do I have to give to cancel a private lesson?"
    assert asks_for(notice) == "length" and asks_for("How much time off do I get?") == "length" and asks_for("How much is the notice fee?") == "amount"
    assert not fits(notice, "50% of the fee [1]") and fits(notice, "at least 24 hours [1]")
    assert mismatch(notice, "less than 24 hours [1]") == "an upper bound, where the question asks for the least"
    # Money or a share by the period is a rate, no length: "£5 per month" for how long a warranty lasts.
    assert not fits(long, "£5 per month [1]") and not fits(long, "15% a month") and fits(long, "24 months, then £5 a month")
    assert not fits("How many days of leave do I get?", "£40 per day [1]") and fits("How many days of leave do I get?", "10 days a year")
    phone = "What number do I ring for the IT helpdesk?"
    assert asks_for(phone) == "phone" and asks_for("What is Ingrid's phone number?") == "phone"
    assert fits(phone, "extension 4400 [1]") and fits(phone, "+31 180 555 0140") and fits(phone, "(0113) 496 0457")
    assert not fits(phone, "PDS-44817 [1]") and not fits(phone, "11 appointments were rebooked") and not fits(phone, "the reception")
    assert not fits(phone, "£46.75 [1]") and not fits(phone, "€1,250.00")  # an amount's digits are no number to ring
    assert not fits(phone, "22 March 2024 [1]") and not fits(phone, "08:00-18:00")  # nor a date's or a time's
    assert asks_for("What's his mobile number?") == "phone" and asks_for("Which internal number do I call next?") == "phone"
    assert asks_for("What's our customer number when I call support?") is None  # a number to quote, not to ring
    extension = "There's a leak in room 9. What extension do I call for maintenance?"
    assert asks_for(extension) == "phone" and fits(extension, "250 [1]") and not fits(phone, "250 [1]")
    contacts = "Call the helpdesk on extension 2200 (07:00-19:00), or 0113 496 0811 if a clinic is down; 1,200 tickets, £1,250.00."
    assert sole_expression(phone, "Log a ticket on the portal or call extension 4400.") == "extension 4400"
    # A follow-up's "her extension" asked with her name asks for a number to ring as well; a copy that runs on to another
    # number is cut to the first.
    named = "What's Fleur Jansen's extension?"
    assert asks_for(named) == "phone" and asks_for("What's the customer's account number?") != "phone"
    assert first_of_several(named, "203, or the Tandem emergency line 085 303 7799 for a complete outage") == "203"
    assert first_of_several(named, "extension 203, or 085 303 7799") == "extension 203"
    assert first_of_several(named, "085 303 7799 (Monday to Friday)") == "085 303 7799 (Monday to Friday)"
    assert first_of_several("How much is a day's hire?", "€45, or €60 at weekends") == "€45, or €60 at weekends"
    ring = "HopLedger is down completely. Who do I ring?"  # a person, else the one number to ring
    assert sole_expression(ring, "If it is down, call HopLedger support on 01 443 9020 (08:00-18:00).") == "01 443 9020"
    assert sole_expression(ring, "Call Priya Nair on 01 443 9020.") == "Priya Nair"
    assert sole_expression("Who wrote the report?", "Call support on 01 443 9020.") is None
    assert sole_expression(phone, contacts) is None and sole_expression("What's the urgent line's phone number?",
                                                                         "If a clinic is down, call 0113 496 0811 (ref PDS-44817).") == "0113 496 0811"
    # How quickly, soon, early, far: a duration or a distance; how hot: a temperature; how fast a thing is: a speed.
    assert asks_for("How quickly do I have to tell IT?") == "length" and asks_for("How far ahead can I book?") == "length"
    assert asks_for("How fast do we have to patch a CVSS 9.5 vulnerability?") == "length" and asks_for("How soon?") == "length"
    assert asks_for("After how many days off sick do I need a note?") == "duration" and asks_for("For how long is it valid?") == "length"
    assert asks_for("How many working days do I have?") == "duration" and asks_for("By how much did prices rise?") == "amount"
    assert asks_for("How fast is the broadband line?") == "speed" and asks_for("How hot can the water be?") == "temperature"
    assert not fits("How quickly do you attend an emergency?", "£289 [1]") and fits("How early do I ring in?", "at least 2 hours")
    # With the words that bound it: a note is needed after more than 2 days, not after 2.
    assert sole_expression("After how many days off sick do I need a note?", "A note is needed after more than 2 "
                           "consecutive days.") == "more than 2 consecutive days"
    assert sole_expression("How much can I offer?", "Offer up to £50.") == "up to £50"
    assert sole_expression("How long can a call last?", "Calls last a maximum of 45 minutes.") == "maximum of 45 minutes"
    assert sole_expression("How quickly will you confirm my claim?", "We confirm receipt within 2 working days by email.") == "within 2 working days"
    often = "How often does the confined space ticket need to be redone?"
    assert fits(often, "every 2 years [1]") and fits(often, "four years") and fits(often, "twice a year") and fits(often, "six-monthly")
    assert fits(often, "weekly, on Mondays") and fits(often, "rarely") and kind_name(often) == "a frequency"
    assert not fits(often, "2 [1]") and not fits(often, "Only workers with a current Confined Space Entry ticket")
    assert fits("Where is the office?", "four hours") and fits(count, "")  # unchecked kinds, and no answer, pass


def test_phrases_people_write_for_dates_days_forms_and_roles():
    # A day of the month said with "of" is a date: "by the 10th of the month" answers "By when ...?".
    by_when = "By when do I have to put in my availability for next month?"
    assert sole_expression(by_when, "- Enter your availability in SpokeDesk before the 10th of the month.") == "the 10th of the month"
    assert sole_expression("When are invoices due?", "Invoices are due by the 1st of April 2025.") == "the 1st of April 2025"
    assert not fits("How long is the notice period?", "the 1st of April")  # a date, no length
    assert sole_expression("When is payday?", "Pay is monthly, on the 25th.") == "the 25th"
    assert sole_expression("When is payday?", "Our rota goes up in the 2nd week.") is None  # an ordinal of a week, no date
    # The same date said again in short is one answer; "5%" is not said within "15%", nor "€15" within "€150".
    assert sole_expression("When do we get paid?", "Pay is transferred on the 25th of each month; if the 25th falls at the "
                           "weekend, it is paid on the Friday before.") == "the 25th of each month"
    assert sole_expression("What's the most credit we can get?", "A credit of 5% of the fee, up to a maximum of 15%.") is None
    # Days counted with words that say which ones: "3 consecutive teaching days", "5 unused days".
    assert sole_expression("After how many days off sick do I need a note?",
                           "You need a note if you are absent for more than 3 consecutive teaching days.") == "more than 3 consecutive teaching days"
    assert sole_expression("How many days of holiday can I carry over?", "You can carry over up to 5 unused days, "
                           "which must be used by 31 March.") == "up to 5 unused days"
    # How long a text is, in characters or pages, is a length; a count's unit still for "how many".
    assert sole_expression("How long do passwords have to be?", "Passwords must be at least 14 characters; "
                           "we recommend passphrases of four or more words.") == "at least 14 characters"
    assert sole_expression("How many characters must a password have?", "Passwords must be at least 14 characters.") == "at least 14"
    assert sole_expression("How long is the induction?", "It takes two hours and covers five pages of rules.") == "two hours"
    # "Which form ...?" asks for a name, and the one beside the word "form" answers it, not the app it is sent from.
    form = "Which form do I fill in to withdraw from a course?"
    assert asks_for(form) == "name" and asks_for("What form of payment do you take?") != "name"
    assert sole_expression(form, "To withdraw, send form R-2 from your CallowayLearn account.") == "R-2"
    assert sole_expression("Which form do I fill in after removing a lock?", "Record it on form HS-F-11 and tell the owner.") == "HS-F-11"
    assert sole_expression("Which header tells me how long to wait?",
                           "The API answers with HTTP 429 Too Many Requests and a Retry-After header.") == "Retry-After"
    assert sole_expression(form, "Send it from your CallowayLearn account or the Registrar Portal.") is None  # none beside "form"
    # A role is no one's name: "Becky Clough, Senior Receptionist" names one person.
    assert sole_expression("Who covered for the Acomb manager?", "Acomb was represented by Becky Clough, Senior Receptionist.") == "Becky Clough"
    # Of a record's fields, the one whose label names what is asked: its value, not what it says in brackets.
    header = ("Date:       9 July 2024, 10:00-12:15\nChair:      Joost Verhoeven (Operations Director)\n"
              "Present:    Ruud Bakker (Site Manager), Fatima El Amrani (Site\n            Manager Barendrecht)\n"
              "Minutes:    Anouk Meijer")
    assert sole_expression("Who took the minutes at the operations meeting?", header) == "Anouk Meijer"
    assert sole_expression("Who chaired the meeting?", header) == "Joost Verhoeven"
    assert sole_expression("Who will take the minutes at the meeting in October?", header) is None  # another meeting's
    assert sole_expression("Who may take the minutes?", header) == "Anouk Meijer"  # "may", the verb, is no month
    assert sole_expression("Who was at the meeting?", header) is None  # no label says it: several names
    row = "Plan: Care Essential; Price: $189 per year; Labour discount: 10%; Call-out fee: $95"
    assert sole_expression("How much off labour do we get on Care Essential?", row) == "10%"
    assert sole_expression("How many jobs did we finish in February?", "Jobs completed: 1,284 (January: 1,107).") == "1,284"
    # A sentence with a colon is no field: a hard-wrapped line does not end its value.
    assert sole_expression("When does Hannah Kerr start?", "Two new engineers start next month: Lewis Ogilvie on 7 October in\n"
                           "Inverness and Hannah Kerr on 14 October in Stirling.") is None


def test_kinds_a_question_names_by_its_noun():
    # An email address, a number or a code that names something, a size of data: each is written in a way a few
    # characters show ("99.5% monthly availability" is no account number, "24 months" no storage).
    # Named after the question word with or without a verb ("What discount ... do members get?").
    assert kind_name("What discount on other treatment do Care Essential members get?") == "an amount"
    email = "What's the email address for Tillwell support?"
    assert asks_for(email) == "email" and kind_name(email) == "an email address"
    assert fits(email, "support@tillwell.example [1]") and not fits(email, "24 hours, 7 days [1]")
    assert sole_expression(email, "Write to support@tillwell.example (24 hours, 7 days).") == "support@tillwell.example"
    assert asks_for("Which email do I send my timesheet to?") == "email" and asks_for("Which rule caught the email?") is None
    account = "What's our account number with Brackenfield Digital?"
    assert asks_for(account) == "identifier" and kind_name(account) == "a number or a code"
    assert fits(account, "BD-40917 [1]") and fits(account, "40917") and fits("Which category code do I pick?", "DM")
    assert not fits(account, "99.5% monthly availability [1]") and not fits(account, "£40") and not fits(account, "Brackenfield")
    assert asks_for("What is the dress code?") is None and asks_for("What's the code of conduct about?") is None
    assert asks_for("What's the maximum number of admins a company can have?") == "count"
    ram = "How much RAM do the Nordbook 14 Pro laptops have?"
    assert asks_for(ram) == "storage" and fits(ram, "16 GB [1]") and fits(ram, "32GB") and not fits(ram, "4 years [1]")
    assert asks_for("How big can an attachment be?") == "storage" and asks_for("What's the storage location for keys?") is None
    assert asks_for("How big is their mailbox?") == "storage"  # the determiners of "What's the ...", "What's their ..."
    assert sole_expression(ram, "Nordbook 14 Pro: 16 GB RAM, 512 GB SSD, replaced every 4 years.") is None  # two sizes
    high = "How high off the floor is the CO2 sensor mounted now?"  # a height, in units of length
    assert asks_for(high) == "size" and fits(high, "300 mm [1]") and not fits(high, "1. 2.6% [1]") and fits(high, "2.4 m")
    assert sole_expression(high, "The sensor is now mounted 300 mm above the floor, as CO2 sinks.") == "300 mm"
    assert asks_for("What's the maximum mooring depth?") == "size" and asks_for("How high is the excess on the van?") is None
    # A deadline or a cut-off is a time; a check-in or cut-off time is a time of day.
    cut_off = "What's the cut-off time for getting departure rooms released to reception?"
    assert asks_for(cut_off) == "time" and kind_name(cut_off) == "a time of day"
    assert fits(cut_off, "by 14:30 [1]") and not fits(cut_off, "£20 / £40 / 50% [1]")
    assert asks_for("What's the deadline for using them?") == "time" and asks_for("What's the response time for a P1?") is None
    # A price is no frequency, and a number of other things no number of weeks.
    often = "How often are the fire extinguishers on the buses replaced?"
    assert not fits(often, "£1,850 per bus [1]") and fits(often, "once per year") and fits(often, "after every batch")
    # A bound the other way round is no answer: "at least one" for the most admins a company can have.
    admins = "What's the maximum number of admins a company can have in Hub?"
    assert not fits(admins, "at least one [1]") and fits(admins, "up to 5") and fits(admins, "5")
    assert mismatch(admins, "at least one [1]") == "a lower bound, where the question asks for the most" and mismatch(admins, "5") is None
    assert mismatch(admins, "the Hub portal") == "not a count, which the question asks for"
    assert mismatch("What's the shortest shift I can be put on?", "less than 4 hours") == "an upper bound, where the question asks for the least"
    assert not fits("What's the most a patient can borrow?", "£1,000 or more") and fits("What's the least I can borrow?", "£1,000 or more")
    assert not fits("What's the shortest shift I can be put on?", "less than 24 hours' notice") and fits("What is the most common cause?", "rust")
    weeks = "How many weeks of paid neonatal care leave can I take?"
    assert not fits(weeks, "five adoption appointments [1]") and fits(weeks, "up to 12") and fits(weeks, "12, on full pay")
    # A share is a percentage or a fraction, not the money it comes to ("$690" for what share of the tuition comes back).
    share = "I'm booked on online French but I have to pull out. What share of the tuition do I get back?"
    assert asks_for(share) == "share" and kind_name(share) == "a share" and mismatch(share, "$690 [1]") == "not a share, which the question asks for"
    assert sole_expression(share, "Online courses: 80% of the tuition ($690) is refunded up to 7 days before.") == "80%"
    assert fits(share, "80% [1]") and fits(share, "half") and fits(share, "a full refund") and fits(share, "80 per cent")
    assert asks_for("What percentage of the vote was in favour?") == "share" and asks_for("What is the percentage of stations closed?") == "share"
    assert asks_for("What does an MSP share with the House of Commons?") is None and asks_for("What share price did it open at?") != "share"
    full = "How full is the Bristol warehouse at the moment?"
    assert asks_for(full) == "share" and fits(full, "78% [1]") and fits(full, "half full") and not fits(full, "4,200 pallets [1]")


def test_an_amount_asked_in_one_currency_is_not_answered_in_another():
    euros = "What are the ColdTrack plan prices in euros?"  # the price list is in pounds
    assert not fits(euros, "£9 [1]") and not fits(euros, "9 pounds a month") and kind_name(euros) == "an amount in euros"
    assert fits(euros, "€9 [1]") and fits(euros, "9 euros") and fits(euros, "£9 or €11") and not fits(euros, "the Standard plan")
    assert fits("Which plans are sold in euros?", "the Standard plan")  # no money asked, none given
    assert fits("How much is the Standard plan?", "£9 [1]") and fits("How heavy is the crate in pounds?", "20 kg")
    assert not fits("How much is it in US dollars?", "€40")


def test_the_asking_sentence_decides_the_kind():
    # What a question first says about itself is no question: the kind is the asking sentence's.
    carried = "I carried some holiday over from last year. When do I have to use it by?"
    assert asks_for(carried) == "time" and asks_for("I'm new here. How do I book a room?") == "steps"
    assert sole_expression(carried, "Carried-over days must be taken by 31 March or they are lost.") == "31 March"
    assert asks_for("Can I buy a hot lunch at the site?") == "yes/no" and asks_for("My claim is €180. Will someone inspect it?") == "yes/no"
    assert asks_for("Is there a deposit for a locker, and how much?") is None and fits("Can I park here?", "no [1]")
    # A condition first: the question after it decides ("When I cancel" asks no time).
    assert asks_for("If I roll back a release, do my migrations get undone too?") == "yes/no"
    assert asks_for("When I cancel, do I lose access?") == "yes/no" and asks_for("If it breaks, who fixes it?") == "person"
    # A preposition before "how" after the condition changes nothing, as at the start ("After how long ...?").
    idle = "If the primary doesn't pick up a SEV2 page, after how long does it come to me?"
    assert asks_for(idle) == "length" and asks_for("After how long does it come to me?") == "length"
    assert sole_expression(idle, "If the primary does not acknowledge a SEV2 page within 10 minutes, it escalates.") == "within 10 minutes"


def test_who_wants_someone_the_question_does_not_name():
    stand_in = "Who approves refunds over €500 when Daniel Rocha is on holiday?"
    assert asks_for(stand_in) == "person" and asks_for("Okay, who drove the bus?") == "person"
    assert asks_for("Which VPN client do I install?") == "name" and asks_for("What app do I use to book a desk?") == "name"
    assert asks_for("Which company supplies the autoclave?") is None and fits("Which tool do I use?", "the HR portal [1]")
    assert not fits(stand_in, "Daniel Rocha (Finance Manager) [1]") and fits(stand_in, "Inês Marques [1]")
    assert fits("Who approves refunds?", "Daniel Rocha (Finance Manager) [1]") and fits(stand_in, "the Finance Manager's deputy")
    assert fits("Who is Carla Mendes?", "Carla Mendes, the office manager in Lisbon [1]")  # asked about the one it names
    # A part of a longer name in the question is someone else ("Tesla" of "Tesla Electric Light").
    assert fits("Who designed the lamps that Tesla Electric Light installed?", "Tesla")


def test_with_no_second_reading_a_model_that_declines_gets_the_best_sentence_quoted(tmp_path):
    phrases = {"Priya Raman": 0.9, "corroded antenna connector": 0.95}
    manager, model, _, _ = make(tmp_path, second_reading("a corroded antenna connector"), phrases, reread_score=1.0,
                            quote_score=0.7)
    reply = manager.handle("c", "/ask What caused the buoy 17 incident?")
    assert len(model.calls) == 1
    assert reply.quoted and not reply.declined and reply.sources == [reply.sources[0]] and reply.sources[0].source == INCIDENT.source
    assert reply.text.startswith(QUOTE_INTRO)
    # One sentence, marked as cut on both sides: not the 70 words around it.
    assert reply.text.endswith("> … The loss of data was caused by a corroded antenna connector. …")


def test_an_answer_of_citations_is_no_answer_and_the_answering_sentence_is_quoted(tmp_path):
    manager, _, _, _ = make(tmp_path, ["folders [1] [2] [3] [3]"], {"corroded antenna connector": 0.9, "economy": 0.4}, quote_score=0.7)
    reply = manager.handle("c", "/ask What caused the buoy 17 incident?")
    assert reply.quoted and reply.text.endswith("> … The loss of data was caused by a corroded antenna connector. …")
    # Two passages cited for a two-word answer is an answer.
    manager, _, _, _ = make(tmp_path / "2", ["Priya Raman [1] [2]"], {"Priya Raman": 0.9, "buoy": 0.4})
    assert manager.handle("c", "/ask Who led the investigation of the buoy 17 incident?").text == "Priya Raman [1] [2]"


def test_no_quote_when_the_best_passage_scores_under_quote_score(tmp_path):
    manager, _, _, _ = make(tmp_path, [NO_ANSWER], {"Priya Raman": 0.6}, quote_score=0.8)
    reply = manager.handle("c", "/ask What did the investigation of the buoy 17 incident find?")
    assert reply.declined and not reply.quoted and reply.text == NO_ANSWER


def test_a_second_sentence_is_quoted_only_when_it_scores_clearly_better_together(tmp_path):
    phrases = {"stopped sending data on 9 April. The investigation": 0.9, "stopped sending data": 0.5, "Priya": 0.3}
    manager, _, _, _ = make(tmp_path, ["unsupported invented claim about whales"], phrases, passages=(INCIDENT,), answer_score=0.4,
                            quote_score=0.7)
    reply = manager.handle("c", "/ask What happened to buoy 17 in April?")
    assert reply.quoted
    assert reply.text.endswith("> Buoy 17 stopped sending data on 9 April. The investigation was led by Priya Raman. …")


HOTELS = Passage("The hotel limit is 1,600 NOK a night in Norway and 180 EUR in other European countries.",
                 "handbook/travel.md", "Travel policy", relevance=0.6)


def test_a_question_about_a_name_no_passage_mentions_is_declined_without_asking_the_model(tmp_path):
    manager, model, _, _ = make(tmp_path, ["1,600 NOK [1]"], {"hotel limit": 0.85}, passages=(HOTELS,))
    reply = manager.handle("c", "/ask What is the hotel limit per night in the United States?")
    assert reply.declined and reply.text == NO_ANSWER and model.calls == []
    assert "'United States'" in reply.notice and reply.sources[0].source == HOTELS.source
    # Named in the passage (any case), or in its title, it is read.
    assert manager.handle("c", "/ask What is the hotel limit per night in Norway?").text == "1,600 NOK [1]"
    assert not manager.handle("c", "/ask What hotel limit does the Travel Policy set?").declined


def test_a_name_counts_only_in_the_documents_that_answer(tmp_path):
    """A name mentioned by another document found does not make the answering one about it; one mentioned by another
    passage of the answering document (its title, its first rows) does."""
    claims = Passage("Damage is reported within 7 days, not counting Sundays.", "customers/claims.md", "Claims FAQ", relevance=0.5)
    prices = Passage("Saturday delivery: €95 per drop. Tail-lift delivery: €35 per drop.", "customers/rates.md", "Rates", chunk_id=1,
                     relevance=0.6)
    rates_intro = Passage("Sunday deliveries are quoted on request.", "customers/rates.md", "Rates", chunk_id=0, relevance=0.4)
    question = "/ask What is the surcharge for a Sunday delivery?"
    manager, model, _, _ = make(tmp_path, ["€95 [1]"], {"Saturday delivery": 0.85}, passages=(prices, claims))
    reply = manager.handle("c", question)
    assert reply.declined and model.calls == [] and "'Sunday'" in reply.notice
    manager, model, _, _ = make(tmp_path / "2", ["€95 [1]"], {"Saturday delivery": 0.85}, passages=(prices, claims, rates_intro))
    assert manager.handle("c", question).text == "€95 per drop [1]" and len(model.calls) == 1  # completed with its rate


def test_an_answer_from_a_passage_that_does_not_mention_the_name_asked_about_is_not_shown(tmp_path):
    """The document mentions Skipton, but the passage the answer comes from is another clinic's; the passage before it
    in the document counts (a heading's line, then the figures)."""
    april = Passage("April: 6.0%. May: 4.1%.", "reports/no-shows.md", "Missed appointments", chunk_id=3, relevance=0.6)
    question = "/ask What was Skipton's missed appointment rate in April?"

    def reply_with(before: str):
        other = Passage(before, "reports/no-shows.md", "Missed appointments", chunk_id=2, relevance=0.4)
        later = Passage("Skipton opened in June.", "reports/no-shows.md", "Missed appointments", chunk_id=7, relevance=0.4)
        manager, model, _, _ = make(tmp_path / before, ["6.0% [1]"], {"April:": 0.8}, passages=(april, other, later))
        return manager.handle("c", question), model

    reply, model = reply_with("Headingley clinic, by month:")
    assert reply.declined and reply.text == NO_ANSWER and len(model.calls) == 1 and "'Skipton'" in reply.notice
    assert reply_with("Skipton clinic, by month:")[0].text == "6.0% [1]"


def test_the_names_a_question_asks_about():
    assert asked_names("What is the hotel limit per night in the United States?") == ["United States"]
    assert asked_names("Which SLA covers Harbor Console's alarms?") == ["Harbor Console"]
    # Not a sentence's first word, not "I", "I'm"; a dot ends a name unless a word follows it ("Node.js").
    assert asked_names("I'm registered at Acomb. What should I do? Is Node.js used?") == ["Acomb", "Node.js"]
    assert asked_names("How many days before departure must travel be booked?") == []
    assert asked_names("Which famous Indian practiced civil disobedience in the Indian Ocean?") == ["Indian Ocean"]
    assert unmentioned_names("Is the Oslo office open in July?", [HOTELS]) == ["Oslo", "July"]
    # Word by word: a passage that says "Harbor Console" and "the REST API" names the "Harbor Console REST API".
    api = Passage("The REST API allows 600 requests per minute.", "console/faq.md", "Harbor Console: FAQ")
    assert unmentioned_names("How many requests per minute does the Harbor Console REST API allow?", [api]) == []
    assert unmentioned_names("Is there a New York office?", [api]) == ["New York"]
    # Typos and plurals are forgiven; another name with a similar spelling is not.
    assert unmentioned_names("Does the Harbour Consoles API limit requests?", [api]) == []
    assert unmentioned_names("Is the Leeds API faster?", [Passage("It needs 600 requests.", "a.md")]) == ["Leeds"]
    # Versions and years are names too, and exactly: notes on 4.2 do not say when 4.1 came out.
    notes = Passage("Version 4.2 was released on 3 May 2026 (v4.3 follows in 2027).", "releases.md", "Release notes")
    assert unmentioned_names("When was version 4.1 released?", [notes]) == ["4.1"]
    assert unmentioned_names("When did v4.2 come out, and what follows in 2027?", [notes]) == []
    assert unmentioned_names("What changed in release 4.3 in 2025?", [notes]) == ["2025"]
    assert unmentioned_names("How many of the 2,000 sensors in 40 sites are 4.2 ready?", [notes]) == []  # counts
    # A number after a product's name is its version ("5.2" is "5.2.0"); after an acronym it is a score, as CVSS's.
    console = Passage("Version 4.2.0 was released on 3 May 2026; 4.3 follows.", "releases.md", "Harbor Console release notes")
    assert unmentioned_names("When is Harbor Console 4.3 due out?", [console]) == []
    assert unmentioned_names("When is Harbor Console 4.4 due out?", [console]) == ["4.4"]
    assert unmentioned_names("What did Harbor Console 4.2 fix?", [console]) == []
    # Quarters too ("Q1" is uppercase, so not an asked name), stated as "Q2" or "second quarter".
    minutes = Passage("On-time delivery was 96.1% against a target of 97%.", "ops/minutes.txt", "Q2 2024 operations meeting")
    assert unmentioned_names("What was the on-time delivery percentage in Q1 2024?", [minutes]) == ["Q1"]
    assert unmentioned_names("What was on-time delivery in Q2?", [minutes]) == []
    review = Passage("In the second quarter, on-time delivery was 96.1%.", "ops/review.md")
    assert unmentioned_names("What was on-time delivery in Q2 and Q3?", [review]) == ["Q3"]
    assert unmentioned_names("How fast must we patch a CVSS 9.5 vulnerability?", [console]) == []


@pytest.mark.parametrize("question, text, missing", [
    # The documents number points, weeks and packs, but not the one asked about.
    ("What's the salary for a Physiotherapist on point 5?", "Physiotherapist: Point 1: €38,000; Point 4: €42,500", ["point 5"]),
    ("Who is the manager on call in week 37?", "Week 35: Anna Berg. Week 36: Tom Hale.", ["week 37"]),
    ("How much is a Massage 10-pack?", "A Massage 5-pack costs €300.", ["Massage 10"]),
    # Stated, also inside a range, or by its number sign.
    ("Who is the manager on call in week 37?", "Weeks 35-38: Anna Berg.", []),
    ("Where is room 12?", "Room #12 is on the first floor.", []),
    # Not numbered at all in the text: it may be written otherwise ("the second gate").
    ("When does gate 2 open?", "The second gate opens at 06:00.", []),
    # Quantities, times and dates are not numbered things.
    ("Is delivery within 14 days?", "Delivery takes 10 days.", []),
    ("Is the shop open 8:00 on Sundays?", "On Sundays the shop is open 9:00-17:00.", []),
    ("What was the rate in April 2025?", "In 2025: April 98%, May 97%.", []),
    # Codes and models' names are written as they are, hyphens and a space inside aside; not a quarter (Q1 above).
    ("What's the maximum rider weight for the Stad E5?", "Stad E3: up to 150 kg.", ["E5"]),
    ("How cold can the C200-P measure?", "The C200 measures down to -30 °C.", ["C200-P"]),
    ("What does the MD-102 exam cost during a SEV1?", "The MD102 exam costs £150; SEV 1 pages go out.", []),
    ("At what CO2 level does the alarm sound?", "The alarm sounds at 0.5% CO₂.", []),
])
def test_numbered_things_and_codes_the_documents_do_not_state_are_unmentioned(question, text, missing):
    assert unmentioned_names(question, [Passage(text, "a.md")]) == missing


def test_free_text_on_a_covered_topic_that_no_passage_answers_is_declined_not_chatted(tmp_path):
    # TRAVEL is about the topic by its cosine (0.52 >= min_relevance), but does not answer.
    manager, model, _, _ = make(tmp_path, ["Business class is allowed."], {"economy": 0.1}, passages=(TRAVEL,))
    reply = manager.handle("c", "Can I fly business class to Tokyo?")
    assert reply.skill == "qa" and reply.declined and model.calls == []


def test_reranked_order_and_scores():
    reranker = ScriptedReranker({"Priya": 0.8, "economy": 0.1})
    ranked = rerank(reranker, "who?", [TRAVEL, MAINTENANCE, INCIDENT])
    assert [p.source for p in ranked] == [INCIDENT.source, TRAVEL.source, MAINTENANCE.source]
    assert [p.relevance for p in ranked] == [0.8, 0.1, 0.0]


def test_reranker_setting(tmp_path):
    assert resolve_reranker("none", tmp_path) is None and resolve_reranker("", tmp_path) is None
    assert LazyReranker.from_setting("off", tmp_path) is None
    assert resolve_reranker("auto", tmp_path) is None  # nothing shipped there: today's cosine thresholds
    with pytest.raises(ModelError, match="No reranker at"):
        resolve_reranker(str(tmp_path / "missing"), tmp_path)


def test_a_follow_up_the_model_cannot_rewrite_searches_with_the_previous_question_but_asks_the_reader_the_follow_up(tmp_path):
    def script(messages):
        content = messages[-1]["content"]
        if "Rewrite the last question" in content:
            return "User: Who led the investigation of the buoy 17 incident?"  # the transcript, not a rewrite
        return "a corroded antenna connector [1]" if "Question: What caused that?" in content else "Priya Raman [1]"

    model, queries, manager = buoy_incident(script, tmp_path)
    assert manager.handle("c", "Who led the investigation of the buoy 17 incident?").text == "Priya Raman [1]"
    reply = manager.handle("c", "What caused that?")  # no rule says what "that" is
    assert "What caused that? (Who led the investigation of the buoy 17 incident?)" in queries
    assert model.calls[-1]["messages"][-1]["content"].endswith("Question: What caused that?")
    assert reply.text == "a corroded antenna connector [1]" and reply.sources[0].source == INCIDENT.source


def test_a_follow_up_whose_it_a_rule_resolves_is_searched_and_read_with_the_referent(tmp_path):
    def script(messages):
        content = messages[-1]["content"]
        assert "Rewrite the last question" not in content  # the rule made it stand alone: no model asked
        return "a corroded antenna connector [1]" if "Question: What caused the investigation" in content else "Priya Raman [1]"

    model, queries, manager = buoy_incident(script, tmp_path)
    manager.handle("c", "Who led the investigation of the buoy 17 incident?")
    reply = manager.handle("c", "What caused it?")
    assert "What caused the investigation of the buoy 17 incident?" in queries and not any("(" in query for query in queries)
    assert model.calls[-1]["messages"][-1]["content"].endswith("Question: What caused the investigation of the buoy 17 incident?")
    assert reply.text == "a corroded antenna connector [1]" and reply.sources[0].source == INCIDENT.source


def buoy_incident(script, tmp_path):
    """(model, the questions the reranker was asked, manager) over the travel policy and the buoy 17 incident."""
    model = ScriptedChatModel(script)
    knowledge = FakeKnowledgeStore([TRAVEL, INCIDENT])
    queries: list[str] = []
    reranker = ScriptedReranker({"Priya Raman": 0.9, "corroded antenna connector": 0.9})
    original = reranker.score
    reranker.score = lambda question, texts: queries.append(question) or original(question, texts)
    return model, queries, manager_over(model, tmp_path / "h.sqlite3", knowledge, reranker=reranker)


DEPLOY = Passage("To undo a deployment, click Roll back in Shipyard. A rollback takes about four minutes.",
                 "engineering/deploy.md", "Deploying")
FIRMWARE = Passage("Firmware 3.7 was withdrawn. The firmware team, led by Ola Berg, rolled the gateways back to 3.6 "
                   "over four hours.", "incidents/firmware-rollback.md", "Firmware rollback")


def rollback_manager(tmp_path):
    def reader(messages):  # answers from the first passage it is given (or the one sentence, when read again)
        prompt = messages[-1]["content"]
        if "Question: Who" in prompt:
            return "Ola Berg [1]"
        if messages[0]["content"] == SHORTEN_SYSTEM:
            return "over four hours" if "over four hours" in prompt else "about four minutes"
        return "about four minutes [1]" if prompt.split("[1] ", 1)[1].startswith("(Deploying)") else "over four hours [1]"

    reranker = ScriptedReranker({"rollback takes about four minutes": 0.9, "over four hours": 0.6, "Ola Berg": 0.9},
                                asked={"Ola Berg": "led", "rollback takes about four minutes": "long", "over four hours": "long"})
    return manager_over(ScriptedChatModel(reader), tmp_path / "h.sqlite3", FakeKnowledgeStore([DEPLOY, FIRMWARE]), reranker=reranker)


def test_a_question_in_a_conversation_is_answered_from_the_document_of_the_previous_answer_when_it_answers_there(tmp_path):
    manager = rollback_manager(tmp_path)
    # Alone, the deployment guide's rollback answers best.
    assert manager.handle("alone", "/ask How long did the rollback take?").text == "about four minutes [1]"
    assert manager.handle("c", "/ask Who led the firmware rollback?").text == "Ola Berg [1]"
    reply = manager.handle("c", "/ask How long did the rollback take?")
    assert reply.text == "over four hours [1]" and reply.sources[0].source == FIRMWARE.source


def test_a_declined_answer_does_not_hold_the_conversation_to_its_passages(tmp_path):
    manager = rollback_manager(tmp_path)
    manager.handle("c", "/ask Who approved the firmware?")  # no passage answers: "I don't know", closest passages listed
    assert manager.handle("c", "/ask How long did the rollback take?").text == "about four minutes [1]"


def test_with_reader_sentences_the_model_reads_the_best_sentence_and_the_whole_passage_is_cited(tmp_path):
    manager, model, _, _ = make(tmp_path, ["a corroded antenna connector [1]"], {"corroded antenna connector": 0.9},
                                reader_sentences=1)
    reply = manager.handle("c", "/ask What caused the buoy 17 incident?")
    prompt = prompt_of(model)
    assert "The loss of data was caused by a corroded antenna connector." in prompt and "Priya Raman" not in prompt
    assert not reply.declined and reply.sources == [dataclasses.replace(INCIDENT, relevance=0.9)]


def test_a_blended_order_keeps_part_of_the_search_order_and_the_reranker_score_stays_the_relevance():
    first, second = dataclasses.replace(TRAVEL, score=0.9), dataclasses.replace(INCIDENT, score=0.1)
    reranker = ScriptedReranker({"Priya": 0.6, "economy": 0.4})
    assert [p.source for p in rerank(reranker, "who?", [first, second])] == [INCIDENT.source, TRAVEL.source]
    blended = rerank(reranker, "who?", [first, second], weight=0.5)  # 0.5 x 0.4 + 0.5 x 1 against 0.5 x 0.6 + 0.5 x 0
    assert [p.source for p in blended] == [TRAVEL.source, INCIDENT.source]
    assert [p.relevance for p in blended] == [0.4, 0.6]


def test_a_numbered_step_is_one_unit_of_a_quote_not_its_number_alone():
    from assistant.skills.spans import quote_units

    _, _, units = quote_units("To set up the VPN:\n1. Open the IT portal.\n2. Import the file into WireGuard.\n\nDone.")
    assert [unit for _, unit in units] == ["To set up the VPN:\n1. Open the IT portal.", "2. Import the file into WireGuard.", "Done."]


def test_a_heading_in_capitals_is_never_the_span_that_answers():
    from assistant.skills.spans import best_span, by_best_sentence, is_heading

    minutes = Passage("1. FIGURES\n\nAugust sales were 142 hL.\n\nNEXT MEETING\n\nTuesday 8 October 2024, 09:00, brewery office.\n\n"
                      "ACTIONS\n\n| Action | Who |\n|---|---|\n| Order kegs | Tomasz |", "ops/minutes.txt", "minutes", relevance=0.2)
    # The heading shares the question's words more than the date under it, which answers.
    reranker = ScriptedReranker({"NEXT MEETING": 0.9, "ACTIONS": 0.95, "8 October": 0.6, "sales": 0.5})
    assert best_span(reranker, "When is the next meeting?", minutes)[0] == "Tuesday 8 October 2024, 09:00, brewery office."
    assert by_best_sentence(reranker, "When is the next meeting?", [minutes], 1)[0].relevance == 0.6
    assert not any(map(is_heading, ["DO NOT ENTER THE COLD STORE ALONE.", "| SKU | PRICE |", "- NO LIFTS IN A FIRE"]))


CHANGES = Passage("What we changed\n- Migrations on large tables now run with online schema change tools.\n"
                  "- The staging database is refreshed with a full copy of production every week.\n"
                  "- The status page is updated within 10 minutes of an outage starting.", "incidents/outage.txt", "Post-mortem")


def test_each_bulleted_item_is_a_unit_and_the_heading_of_the_list_stays_with_the_first():
    from assistant.skills.spans import quote_units

    _, _, units = quote_units(CHANGES.text)
    assert [unit for _, unit in units] == ["What we changed\n- Migrations on large tables now run with online schema change tools.",
                                           "- The staging database is refreshed with a full copy of production every week.",
                                           "- The status page is updated within 10 minutes of an outage starting."]


def test_an_answer_from_the_item_after_the_one_that_answers_is_not_vouched_for_by_it(tmp_path):
    # Read together, the two items score as the one that answers does alone: that one answers, not the next.
    manager, _, _, _ = make(tmp_path, ["10 minutes [1]"], {"every week": 0.9}, passages=(CHANGES,))
    reply = manager.handle("c", "/ask How often is the staging database refreshed?")
    assert reply.declined and reply.text == NO_ANSWER


def test_a_short_table_is_quoted_whole_and_a_long_one_by_its_best_rows_under_the_header():
    from assistant.skills.spans import WHOLE_TABLE_ROWS, best_span

    def table(rows: int) -> Passage:
        lines = ["| Command | What it does |", "|---|---|", *(f"| cmd{i} | does thing {i} |" for i in range(rows))]
        return Passage("Commands:\n\n" + "\n".join(lines), "docs/commands.md", "Commands")

    reranker = ScriptedReranker({"cmd2": 0.9})
    short = table(WHOLE_TABLE_ROWS)
    assert best_span(reranker, "What does cmd2 do?", short) == (short.text.split("\n\n")[1], False, False)
    text, _, _ = best_span(reranker, "What does cmd2 do?", table(WHOLE_TABLE_ROWS + 4))
    assert text == "| Command | What it does |\n|---|---|\n| cmd2 | does thing 2 |"


SHIPPED = Path(__file__).resolve().parents[1] / "rerankers"


@pytest.mark.real_model
def test_the_shipped_reranker_lets_the_model_answer_what_a_passage_answers_and_declines_a_missing_fact_on_the_same_topic(tmp_path, caplog):
    reranker = LazyReranker.from_setting("auto", SHIPPED)
    assert reranker is not None and reranker.name == "answer-ce"
    model, knowledge = ScriptedChatModel(["Priya Raman [1]"]), FakeKnowledgeStore((TRAVEL, MAINTENANCE, INCIDENT))
    manager = manager_over(model, tmp_path / "history.sqlite3", knowledge, reranker=reranker)

    reply = manager.handle("c", "/ask Who led the investigation of the buoy 17 incident?")  # scores ~0.86
    assert not reply.declined and reply.sources[0].source == INCIDENT.source
    assert "Priya Raman" in prompt_of(model) and "economy" not in prompt_of(model)

    # The incident passage is about buoy 17 but holds no cost (scores ~0.10): the model is not asked.
    reply = manager.handle("c", "/ask What did the repair of buoy 17 cost?")
    assert reply.declined and reply.text == NO_ANSWER and len(model.calls) == 1
    # Loading it warns of nothing a user could act on (sentence-transformers' "Converting ..." is expected).
    assert not [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]


@pytest.mark.real_model
def test_with_the_shipped_reranker_a_greeting_gets_a_chat_reply_not_passages(tmp_path):
    reranker = LazyReranker.from_setting("auto", SHIPPED)
    model = ScriptedChatModel(["Hello! What would you like to know?", "Priya Raman [1]"])
    manager = manager_over(model, tmp_path / "history.sqlite3", FakeKnowledgeStore((*FILLERS, INCIDENT)), reranker=reranker)
    reply = manager.handle("c", "hello")
    assert reply.skill == "chat" and reply.text == "Hello! What would you like to know?"
    reply = manager.handle("c", "Who led the investigation of the buoy 17 incident?")
    assert reply.skill == "qa" and reply.text == "Priya Raman [1]" and reply.sources[0].source == INCIDENT.source


@pytest.mark.real_model
def test_the_shipped_reranker_finds_the_steps_that_are_quoted_when_the_model_declines_a_question_about_steps(tmp_path):
    reranker = LazyReranker.from_setting("auto", SHIPPED)
    model = ScriptedChatModel([NO_ANSWER])
    manager = manager_over(model, tmp_path / "history.sqlite3", FakeKnowledgeStore((PAIRING, TRAVEL)), reranker=reranker)
    reply = manager.handle("c", "/ask How do I pair a buoy with TideLink?")  # the passage scores ~0.80, its list ~0.79
    assert reply.quoted and "> 1. Open the TideLink web page" in reply.text and "> 2. Choose Add buoy" in reply.text
    assert "every ten minutes" not in reply.text and len(model.calls) == 1


# --- a question that leans on the one before ------------------------------------------------------

OUTAGE = Passage("The buoy 17 outage of 9 April was caused by a storm. Priya Raman was the incident commander.",
                 "incidents/buoy-17.md", "Buoy 17 outage", relevance=0.3)
DRILLS = [Passage(f"Incident drill {i}: who leads it is the commander of the day.", f"drills/{i}.md", relevance=0.3)
          for i in range(10)]


def leaning(tmp_path, replies):
    """Searched alone, "Who was the incident commander?" finds only the drills (the outage ranks 11th);
    the reranker finds that the outage passage answers who the commander was, and what caused it."""
    reranker = ScriptedReranker({"Priya Raman": 0.95, "caused by a storm": 0.9},
                                asked={"Priya Raman": "commander", "caused by a storm": "caused"})
    knowledge = FakeKnowledgeStore([*DRILLS, OUTAGE], rank_by_words=True)
    model = ScriptedChatModel(replies)
    return manager_over(model, tmp_path / "history.sqlite3", knowledge, reranker=reranker), model, reranker, knowledge


def test_a_question_that_finds_no_answer_alone_is_searched_again_with_the_previous_questions(tmp_path):
    # The model's replies: the first answer and the third ("When did it happen?" is made to stand alone by rule, and
    # nothing answers it).
    manager, _, reranker, knowledge = leaning(tmp_path, ["A storm [1]", "Priya Raman [1]"])
    assert manager.handle("c", "/ask What caused the buoy 17 outage?").text == "A storm [1]"
    assert manager.handle("c", "/ask When did it happen?").declined  # a follow-up itself: the question before it counts too
    reply = manager.handle("c", "/ask Who was the incident commander?")
    assert not reply.declined and reply.text == "Priya Raman [1]" and reply.sources[0].source == OUTAGE.source
    assert knowledge.queries[-2:] == ["Who was the incident commander?",
                                      "Who was the incident commander? (When did it happen? What caused the buoy 17 outage?)"]
    assert reranker.calls[-1][0] == "Who was the incident commander?"  # ranked by the question as asked


def test_a_new_topic_is_not_answered_from_the_previous_questions_passages(tmp_path):
    manager, model, _, knowledge = leaning(tmp_path, ["A storm [1]", "It was 5 million NOK [1]"])
    manager.handle("c", "/ask What caused the buoy 17 outage?")
    reply = manager.handle("c", "/ask What was the revenue in 2025?")
    assert reply.declined and len(model.calls) == 1  # searched both ways, the model not asked
    assert knowledge.queries[-1] == "What was the revenue in 2025? (What caused the buoy 17 outage?)"


def test_a_first_question_is_searched_once(tmp_path):
    manager, _, _, knowledge = leaning(tmp_path, [])
    assert manager.handle("c", "/ask What was the revenue in 2025?").declined
    assert knowledge.queries == ["What was the revenue in 2025?"]
