"""Answers in the passage's own words: one cut short of its fact is completed from the sentence it was copied from
(and only then); a second reading that gives no answer is replaced by the one phrase of the kind asked for."""

from __future__ import annotations

import pytest
from fakes import ScriptedChatModel, ScriptedReranker, ask_over, manager_over

from assistant.retrieval.base import Passage
from assistant.retrieval.fake import FakeKnowledgeStore
from assistant.skills.completion import completed, completed_reply
from assistant.skills.names import better_described, described_person, is_person, name_lists, names
from assistant.skills.phrases import expressions, sole_expression
from assistant.skills.prompts import NO_ANSWER, SHORTEN_SYSTEM
from assistant.skills.qa import SHORTENED_NOTICE
from assistant.skills.qa_options import QAOptions


def passage(text: str) -> Passage:
    return Passage(text, "notes.md")


MINUTES = (
    "QUARTERLY OPERATIONS MEETING - Q2 2024\nDate: 9 July 2024, 10:00-12:15\n\n"
    "StockLine will be upgraded to version 6.3 on the weekend of 21-22 September\n2024. "
    "There will be no inbound activity at Ridderkerk that weekend.\n\n"
    "Next meeting: 8 October 2024, 10:00, Barendrecht office."
)
HANDBOOK = (
    "Safety shoes are provided by the company up to €90 per year. Damaged goods are refunded with a limit of €4.50 per kg. "
    "You may work from another country for at most 10 working days in a calendar year. "
    "FieldPad asks for 12 photos before the job can be closed. The team has 14 vans and a relocation budget of €3,000 for "
    "new hires. Extra users cost €5 per user per month. Lock the till after five wrong PIN entries. Salary changes take effect on 1 January. "
    "Breaks last 45 minutes. You can start 10 export jobs per hour. 23 passengers got off the bus. In 1466, 40,000 people died."
)


@pytest.mark.parametrize("question, answer, expected", [
    ("When is StockLine being upgraded to version 6.3?", "2024", "21-22 September 2024"),  # the date its sentence gives
    ("When is StockLine being upgraded?", "21-22 September", "21-22 September 2024"),
    ("When do salary changes take effect?", "January", "1 January"),
])
def test_a_date_cut_short_is_the_whole_date_of_the_sentence_that_answers(question, answer, expected):
    assert completed(answer, question, passage(MINUTES + "\n\n" + HANDBOOK)) == expected


PRICES = passage("Prices valid from 1 January 2024 to 31 December 2024. The depot closes over Christmas from 24 December "
                 "2025 to 2 January 2026. No leave between 1 June and 31 August. Appraisals on 3 March and 4 June. The launch "
                 "was postponed from 3 March to 10 March.")


@pytest.mark.parametrize("question, answer, expected", [
    ("Until when are the prices on the price list valid?", "January 2024", "31 December 2024"),  # the end asked for
    ("From when are the prices valid?", "31 December 2024", "1 January 2024"),  # the start asked for
    ("When does the price list expire?", "31 December 2024", "31 December 2024"),  # the end it is
    ("When is the depot shut over Christmas this year?", "2 January 2026", "24 December 2025 to 2 January 2026"),
    ("When can't I take leave?", "31 August", "between 1 June and 31 August"),
    ("When are appraisals?", "4 June", "4 June"),  # "and" joins two dates, not a range, without "between"
    ("When is the launch?", "10 March", "10 March"),  # a change from one date to another is no range
])
def test_a_date_that_is_one_end_of_a_range_is_the_range_or_the_end_the_question_asks_for(question, answer, expected):
    assert completed(answer, question, PRICES) == expected


@pytest.mark.parametrize("question, answer, expected", [
    ("How much does the company pay towards safety shoes?", "€90", "€90 per year"),  # a rate
    ("How much is an extra user?", "€5", "€5 per user per month"),  # rates, one after the other
    ("What's the most you pay per kilo for damaged goods?", "€4.50", "€4.50 per kg"),
    ("How many days a year can I work from abroad?", "10", "10 working days"),  # the thing counted, as the question names it
    ("How many photos does FieldPad want?", "12", "12 photos"),  # not "12 photos before"
    ("How many exports can I start in an hour?", "10", "10 export jobs per hour"),  # the noun whole, then the rate
    ("How many passengers got off?", "23", "23 passengers"),  # the plural ends the thing counted
    ("How many people died?", "40,000", "40,000 people"),  # a verb after it is no part of it
    ("How long is a break?", "45", "45 minutes"),  # the unit
])
def test_an_amount_or_a_count_gets_its_rate_unit_or_counted_thing(question, answer, expected):
    assert completed(answer, question, passage(HANDBOOK)) == expected


def test_a_first_name_for_who_is_the_whole_name_of_its_sentence():
    minutes = passage("DECISION: every allergen matrix will be audited by Nadia Akhtar by 31 March. Nadia reports in April.")
    assert completed("Nadia", "Who was given the job of auditing the allergen matrices?", minutes) == "Nadia Akhtar"
    assert completed("Nadia", "Who reports in April?", passage("Nadia reports in April.")) == "Nadia"  # whole there
    assert completed("Nadia", "Which matrix does Nadia Akhtar audit?", minutes) == "Nadia"  # not asked who


@pytest.mark.parametrize("question, answer", [
    ("How much relocation support do new hires get?", "€3,000"),  # money says what it is: no "€3,000 for"
    ("How many times can I get my PIN wrong?", "five"),  # "five wrong" would cut "five wrong PIN entries"
    ("How many vans does the team have?", "14 vans"),  # complete already
    ("Who provides safety shoes?", "the company up to €90 per year and more words"),  # a sentence, not a phrase cut short
    ("What year was the meeting?", "Q2 2024"),  # not part of a date
    ("How many vans?", "7"),  # not in the passage
])
def test_an_answer_that_is_complete_or_not_found_is_left_as_it_is(question, answer):
    assert completed(answer, question, passage(HANDBOOK + "\n\n" + MINUTES)) == answer


def test_the_sentence_the_reranker_finds_answers_best_decides_and_one_that_holds_two_dates_leaves_it_as_it_is():
    question = "When is the next quarterly operations meeting?"
    assert completed("2024", question, passage(MINUTES), ScriptedReranker({"Next meeting": 0.9})) == "8 October 2024"
    # By the words it shares with the question, the heading and its "Q2 2024 Date: 9 July 2024" answer best: two ways.
    assert completed("2024", question, passage(MINUTES)) == "2024"
    unasked = ScriptedReranker({"Next meeting": 0.9})
    assert completed("Barendrecht office", question, passage(MINUTES), unasked) == "Barendrecht office"
    assert unasked.calls == []  # nothing to complete: the reranker is not asked


def test_a_copy_completed_differently_by_sentences_equally_close_to_the_question_is_left_as_it_is():
    notes = passage("The audit is on 3 March 2025. The fire drill is on 9 June 2025.")
    assert completed("2025", "When is it?", notes) == "2025"
    assert completed("2025", "When is the fire drill?", notes) == "9 June 2025"


def test_a_reply_keeps_its_citation_and_a_longer_reply_is_not_touched():
    question = "When is StockLine being upgraded?"
    assert completed_reply("2024 [1]", question, passage(MINUTES)) == "21-22 September 2024 [1]"
    assert completed_reply("2024", question, passage(MINUTES)) == "21-22 September 2024"
    assert completed_reply("2024 [1] and 2025 [2]", "When is it?", passage(MINUTES)) == "2024 [1] and 2025 [2]"
    assert completed_reply("Ridderkerk ", "Where?", passage(MINUTES)) == "Ridderkerk "  # nothing to complete: as it was


REFUNDS = ("Refunds reach the card in 5 to 10 business days.\n\n"
           "The customer can cancel at any time and keeps access until the end of the paid month.")


def test_a_bare_yes_or_no_gets_the_sentence_that_answers_as_its_reason():
    reranker = ScriptedReranker({"keeps access": 0.9, "business days": 0.3})
    question = "A customer cancels halfway through the month. Do they lose access straight away?"
    assert completed_reply("no [1]", question, passage(REFUNDS), reranker) == (
        "No. The customer can cancel at any time and keeps access until the end of the paid month [1].")
    assert completed_reply("No.", "If I cancel, do I lose access?", passage(REFUNDS), reranker).startswith("No. The customer")
    # Not for other questions, nor for more than a yes or a no, nor with no reranker to find the sentence.
    assert completed_reply("no [1]", "What happens to access when a customer cancels?", passage(REFUNDS), reranker) == "no [1]"
    assert completed_reply("No, they keep it [1]", question, passage(REFUNDS), reranker) == "No, they keep it [1]"
    assert completed_reply("no [1]", question, passage(REFUNDS)) == "no [1]"
    # A sentence that points back comes with the one it points to.
    rollback = passage("Rollback takes 3 minutes. Migrations are not reversed. That is why each must stay backwards compatible.")
    assert completed_reply("no [1]", "If I roll back, do my migrations get undone?", rollback, ScriptedReranker({"That is why": 0.9})) == (
        "No. Migrations are not reversed. That is why each must stay backwards compatible [1].")
    # An item of a list is given without its number.
    steps = passage("Claims:\n\n1. Send photos.\n2. If the damage was ours, the job is reprinted at our cost.")
    assert completed_reply("no [1]", "Do I pay for the reprint?", steps, ScriptedReranker({"reprinted": 0.9})) == (
        "No. If the damage was ours, the job is reprinted at our cost [1].")
    # The best part being a table, no sentence says why: the answer stays as it is.
    table = passage("| Plan | Access after cancelling |\n|---|---|\n| Monthly | until the end of the paid month |")
    assert completed_reply("no [1]", question, table, ScriptedReranker({"Monthly": 0.9})) == "no [1]"
    # A sentence over two lines of a hard-wrapped paragraph is prose.
    uploads = passage("- Adding documents (admins): send a file (text, Markdown, PDF, HTML, Word .docx, and other\n"
                      "plain-text formats). The bot saves it under uploads/.")
    assert completed_reply("no [1]", "Can the bot read .docx files?", uploads, ScriptedReranker({"Word .docx": 0.9})) == (
        "No. Adding documents (admins): send a file (text, Markdown, PDF, HTML, Word .docx, and other plain-text formats) [1].")


def test_the_qa_skill_shows_the_completed_answer_and_cites_the_same_passage(tmp_path):
    minutes = Passage(MINUTES, "operations/minutes.txt", "Operations meeting", relevance=0.6)
    other = Passage("The canteen opens at 07:30.", "hr/canteen.md", "Canteen", relevance=0.5)
    reply = ask_over(tmp_path, [minutes, other], "2024 [1]", ScriptedReranker({"Next meeting": 0.9}),
                     "When is the next quarterly operations meeting?")
    assert reply.text == "8 October 2024 [1]" and not reply.declined
    assert [p.source for p in reply.sources] == [minutes.source]


def test_the_phrases_of_each_kind_a_sentence_holds():
    sentence = ("Version 4.2 went to 1,200 users on 3 June 2024 at 10:00-11:30; 5% of them, on plan PDS-44817, waited "
                "for 2 hours and paid €30 or 250 NOK.")
    assert expressions("time", sentence) == ["3 June 2024", "10:00-11:30"]
    assert expressions("amount", sentence) == ["€30", "250 NOK", "5%"]
    assert expressions("length", sentence) == ["2 hours"]
    assert expressions("count", sentence) == ["1,200"]  # no version, code, date, time, share, money or duration
    assert expressions("reason", sentence) == [] and expressions(None, sentence) == []


@pytest.mark.parametrize("question, sentence, expected", [
    ("By when do I have to use holiday I carried over?", "Carried-over days must be taken by 31 March or they are lost.",
     "31 March"),
    ("How long is the warranty on the sensors?", "All sensors come with a 2-year warranty.", "2-year"),
    ("How long does the weekly cycle last?", "The weekly cycle heats the tank to 60 °C.", None),  # a unit, but no duration
    ("What time should I turn up on my first day?", "On your first day, arrive at 08:00 at reception.", "08:00"),
    # Of two counts, the one written before what the question counts, in a clause naming what the question names.
    ("How many labels can I print at once?", "You can print up to 50 labels at once (it was 20).", "up to 50"),
    ("How many can I print at once?", "You can print up to 50 labels at once (it was 20).", None),  # counts nothing named
    ("How many places does Leeds want?", "Bristol wants 6 places and Leeds 4.", None),
    ("How much is the deposit after 2 June?", "From 2 June the deposit is €10.", "€10"),  # what the question states is no answer
    ("When did it stop and who investigated?", "It stopped on 9 April; Priya Raman investigated.", None),  # two questions
    ("Who investigated?", "It stopped on 9 April; Priya Raman investigated.", "Priya Raman"),
    # A role in brackets is no one, nor is a one-word name (a product, or a first name that may be anyone's).
    ("Who puts together the on-call schedule?",
     "Beatriz Lopes (Site Reliability Engineer) maintains the schedule in Opsgenie.", "Beatriz Lopes"),
    ("Tiago is away. Who else can sign it off?",  # the one the question names is no answer
     "Hotfixes need approval from Tiago Fonseca or, if he is unavailable, from Inês Marques (CTO).", "Inês Marques"),
    ("Who covered for the Acomb manager?", "All managers: summer rotas to Joanne, by 31 May.", None),
    ("Who is Carla Mendes?", "Carla Mendes hands out the office badges with Tom Hill.", None),  # who she is, not another
    ("Who is the first aider on the night shift?", "FIRST AIDERS", None),  # a heading in capitals
    ("Which system do I use to request time off?", "1. Open BambooHR and choose Request time off.", "BambooHR"),
    ("Which macro should I use during an outage?", "While an outage lasts, answer with macro OUT-01.", "OUT-01"),
    ("Which app do I use for expenses?", "Use Ledgerly for expenses and Navigo for travel.", None),  # two names
    # A question several things may answer: the one list of names.
    ("Which of your clinics have free parking?", "There is free parking at Skipton, Wakefield and Darlington.",
     "Skipton, Wakefield and Darlington"),
    ("Which two sites lost power?", "Ridderkerk and Barendrecht lost power; Venlo did not.", "Ridderkerk and Barendrecht"),
    ("Which of the clinics is closest to York?", "There is free parking at Skipton, Wakefield and Darlington.", None),
    ("Which sites have a canteen?", "Ridderkerk and Venlo have one, as have Delft and Gouda.", None),  # two lists
])
def test_the_one_phrase_of_the_kind_asked_for(question, sentence, expected):
    assert sole_expression(question, sentence) == expected


def test_one_name_of_a_list_is_widened_to_the_list_for_a_question_several_may_answer():
    faq = passage("Our clinics are in Harrogate, Headingley (Leeds), Acomb (York) and Skipton. Harrogate and Headingley "
                  "also open on Saturdays from 9:00am to 1:00pm.")
    assert completed("Headingley", "Which of the clinics are open on a Saturday?", faq) == "Harrogate and Headingley"
    assert completed("Headingley", "Which clinic is open on a Saturday?", faq) == "Headingley"  # one is asked for
    assert name_lists("Ask Mia Berg or Sven Olsen. Call Ann Lee.", "Who?") == ["Mia Berg or Sven Olsen"]


def test_the_names_a_sentence_holds():
    sentence = "Call Northern Mutual or ask Joost van Dijk (Site Manager, ISO-9001) in the HR Portal; FIRST AIDERS: Peter Hale."
    assert names(sentence, "Who do I ask?") == ["Northern Mutual", "Joost van Dijk", "HR Portal", "Peter Hale"]
    assert names(sentence, "Who do I ask?", people=True) == ["Northern Mutual", "Joost van Dijk", "Peter Hale"]
    assert names(sentence, "Is Peter on the Mutual list?") == ["Joost van Dijk", "HR Portal"]  # no word of the question


@pytest.mark.parametrize(("cell", "person"), [
    ("Bram Dekker", True), ("Joost van Dijk", True), ("Anna di Marco", True),
    ("Bram", False), ("Site Manager", False), ("HR Team", False), ("Ask Bram Dekker", False),
    ("Type B", False), ("StockLine WMS", False),  # a word in capitals alone is no part of a person's name
    ("Denver's Executive Vice President", False),  # a possessive names whose, not who
    ("Shop Manager Haarlem", False),  # a role at a place
])
def test_a_cell_is_a_person_when_it_is_one_name_and_nothing_else(cell, person):
    assert is_person(cell) == person


ATTENDEES = ("Chair: Dan Whitcombe\nAttendees: Dan Whitcombe (Leeds Warehouse Manager), Maria Seddon (Bristol Site Supervisor), "
           "Joost van Dijk (Rotterdam Site Manager)\nMinutes: Anouk Meijer")
FIRST_AIDERS = "First aiders. Leeds day shift: Carla Nunes. Leeds night shift: Peter Hale. Bristol: Maria Seddon."
SHEA = ("Members of the center came around, including the newly hired deputy director of the Office of Manned Space Flight, "
        "Joseph Shea. Their conversion was announced by Wernher von Braun of the Marshall Space Flight Center.")
CLAIMS = "You can claim for goods lost in our care. Claims are handled by our Claims Coordinator, Ingrid Smit, within 30 days."


@pytest.mark.parametrize(("question", "text", "person"), [
    ("Who manages the Rotterdam site?", ATTENDEES, "Joost van Dijk"),  # the role in brackets after the name
    ("Who is the first aider on the Leeds night shift?", FIRST_AIDERS, "Peter Hale"),  # the label before it
    ("Who handles damage claims at Alder & Finch?", CLAIMS, "Ingrid Smit"),  # the words before it, handled/handles
    ("Who took the minutes?", ATTENDEES, None),  # one word of the question describes no one plainly
    ("Who is the first aider on the Bristol night shift?", FIRST_AIDERS, None),  # Bristol describes Maria Seddon
    ("Who supervises the site in Leeds?", ATTENDEES, None),  # "Leeds ... Manager" and "Site Supervisor": two words each
    ("Who is Joost van Dijk's deputy at the Rotterdam site?", ATTENDEES, None),  # the one the question names is no answer
    # A name the question uses is part of the description after it, not a person who ends it.
    ("Who was hired as deputy director of the Office of Manned Space Flight?", SHEA, "Joseph Shea"),
])
def test_the_person_a_passage_describes_as_the_question_does(question, text, person):
    assert described_person(question, text) == person


def test_a_name_answer_is_replaced_by_the_person_described_as_the_question_does():
    assert better_described("Dan Whitcombe", "Who manages the Rotterdam site?", ATTENDEES) == "Joost van Dijk"
    assert better_described("Joost van Dijk", "Who manages the Rotterdam site?", ATTENDEES) is None
    assert better_described("the site manager", "Who manages the Rotterdam site?", ATTENDEES) is None  # not a name alone
    # A role named after the person is no other person: "Fleur Jansen" stands as who the key user is.
    maintainer = "Maintained by: Fleur Jansen, Shop Manager Haarlem and SpokeDesk key user"
    assert better_described("Fleur Jansen", "Who is our SpokeDesk key user?", maintainer) is None
    # An answer the passage describes with the question's words stands, though another is described with more of them:
    # the reader chose between two fitting people.
    complaints = "Complaints are reviewed by Anouk Meijer. If the customer is still unhappy, it is reviewed again by Tom Hale."
    assert described_person("Who reviews a complaint from an unhappy customer?", complaints) == "Tom Hale"
    assert better_described("Anouk Meijer", "Who reviews a complaint from an unhappy customer?", complaints) is None


def test_a_who_question_the_readers_decline_is_answered_with_the_person_described_as_it_asks(tmp_path):
    claims = Passage(CLAIMS, "claims.html", "Damage claims", relevance=0.6)
    model = ScriptedChatModel([NO_ANSWER])
    manager = manager_over(model, tmp_path / "history.sqlite3", FakeKnowledgeStore([claims]), qa_options=QAOptions(),
                           reranker=ScriptedReranker({"claim for goods": 0.8}))  # the reranker likes the first sentence
    reply = manager.handle("c", "/ask Who handles damage claims?")
    assert reply.text == "Ingrid Smit [1]" and reply.notice == SHORTENED_NOTICE and len(model.calls) == 2


def test_a_name_the_reader_answers_is_replaced_by_the_person_described_as_the_question_asks(tmp_path):
    minutes = Passage(ATTENDEES, "minutes.md", "Operations meeting", relevance=0.6)
    reply = ask_over(tmp_path, [minutes], "Dan Whitcombe [1]", ScriptedReranker({"Rotterdam": 0.8}), "Who manages the Rotterdam site?")
    assert reply.text == "Joost van Dijk [1]" and not reply.declined and reply.sources[0].source == "minutes.md"


def test_a_second_reading_that_declines_is_replaced_by_the_one_phrase_of_the_kind_asked_for(tmp_path):
    leave = Passage("Unused days can be carried over. Carried-over days must be taken by 31 March 2026 or they are lost.",
                    "hr/leave.md", "Annual leave", relevance=0.6)
    model = ScriptedChatModel(lambda messages: "When do I have to use it by?" if messages[0]["content"] == SHORTEN_SYSTEM
                              else NO_ANSWER)
    manager = manager_over(model, tmp_path / "history.sqlite3", FakeKnowledgeStore([leave]), qa_options=QAOptions(),
                           reranker=ScriptedReranker({"must be taken by": 0.8}))
    reply = manager.handle("c", "/ask By when do I have to use the days I carried over?")
    assert reply.text == "31 March 2026 [1]" and reply.notice == SHORTENED_NOTICE and not reply.declined
    assert len(model.calls) == 2 and [p.source for p in reply.sources] == [leave.source]


def test_under_the_second_readings_score_the_one_phrase_of_the_kind_asked_for_answers_without_asking_again(tmp_path):
    contacts = Passage("HR: Claire Dobson, hr@example.com\n\nIT helpdesk: extension 4400\n\nPayroll: the last working day.",
                       "hr/onboarding.md", "Useful contacts")
    for phrases, expected in (({"extension 4400": 0.34}, "extension 4400 [1]"), ({"Payroll": 0.34}, NO_ANSWER)):
        model = ScriptedChatModel([NO_ANSWER])
        manager = manager_over(model, tmp_path / f"{len(phrases)}{expected[:3]}.sqlite3", FakeKnowledgeStore([contacts]),
                               reranker=ScriptedReranker(phrases))
        reply = manager.handle("c", "/ask What number do I ring for the IT helpdesk?")
        # 0.34 passes the gate (0.3) but not the second reading (`reread_score`, 0.5): the model is asked once.
        assert reply.text == expected and len(model.calls) == 1


def test_an_answer_is_completed_from_the_sentence_that_holds_it_not_from_a_heading_that_also_does():
    # The heading scores best for the question, but a heading answers nothing: the sentence under it completes the date.
    minutes = Passage("NEXT MEETING: 8 OCTOBER\n\nThe next meeting is on 8 October 2024 at the brewery.", "ops/minutes.txt", "Minutes")
    reranker = ScriptedReranker({"NEXT MEETING": 0.9, "brewery": 0.5})
    assert completed_reply("8 October [1]", "When is the next meeting?", minutes, reranker) == "8 October 2024 [1]"


@pytest.mark.parametrize(("question", "answer", "sentence", "expected"), [
    ("When is the next operations meeting?", "10:00", "Next meeting: 8 October 2024, 10:00, Barendrecht office.",
     "8 October 2024, 10:00"),
    ("When do the site leads meet next?", "10:00 in Leeds", "The site leads meet next on Tuesday 14 May 2024 at 10:00 in Leeds.",
     "Tuesday 14 May 2024 at 10:00 in Leeds"),
    # what time asks for the time alone; a time after no date stays as it is
    ("What time is the next meeting?", "10:00", "Next meeting: 8 October 2024, 10:00, Barendrecht office.", "10:00"),
    ("When does the night shift start?", "22:00", "From 1 March 2024 the night shift starts at 22:00.", "22:00"),
    # a deadline is a when; a "when" that opens a clause asks for no date
    ("What's the deadline for the timesheets?", "17:00", "Timesheets are due on Friday 14 March, 17:00.", "Friday 14 March, 17:00"),
    ("Which room do we meet in when the site leads meet?", "10:00", "Site leads: 14 May 2024, 10:00, room 2.", "10:00"),
])
def test_a_time_of_day_answering_when_comes_with_the_date_it_is_on(question, answer, sentence, expected):
    assert completed(answer, question, Passage(sentence, "ops/minutes.txt", "Minutes")) == expected
