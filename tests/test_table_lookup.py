"""Answers looked up in a table: the row the question names, the cell of the kind asked for or under the column the
question names; nothing looked up when a sentence answers better or no cell is plainly the one."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import ScriptedChatModel, ScriptedReranker, manager_over

from assistant.retrieval.base import Passage
from assistant.retrieval.fake import FakeKnowledgeStore
from assistant.retrieval.rerank import LazyReranker
from assistant.retrieval.tables import labelled, labelled_rows, row_cells
from assistant.skills.qa_options import QAOptions
from assistant.skills.table_lookup import (
    NoRow,
    Row,
    Swap,
    TableAnswer,
    answer_column,
    answer_row,
    swapped_cell,
    table_answer,
    table_rows,
    terms,
    units,
)


def answer_cell(question: str, row: Row) -> str | None:
    column = answer_column(question, row)
    return None if column is None else row.cells[column][1]


RATES = Passage(
    "Rates from 1 January 2024, excluding VAT.\n\n"
    "| Destination zone | Per pallet | Full truckload (FTL) | Transit time |\n"
    "|---|---|---|---|\n"
    "| Zone 1 – Rotterdam region | €38 | €410 | Next working day |\n"
    "| Zone 4 – Germany, Ruhr area | €71 | €890 | 1–2 working days |",
    "customers/rates.md", "Transport rates")
DIARY = Passage(
    "| Appointment type | Length | Colour in diary |\n|---|---|---|\n"
    "| New patient examination | 45 minutes | Dark blue |\n| Hygiene visit | 30 minutes | Green |\n"
    "| Emergency slot | 15 minutes | Red |",
    "clinic/diary.md", "Booking the diary")
# As the HTML loader writes a table's rows (retrieval.tables.labelled_rows).
INDUCTION = Passage(
    "Day: Day 1; What happens: Site tour and safety induction; With: Sanne Kuipers\n\n"
    "Day: Day 2; What happens: StockLine handheld training; With: Bram Dekker",
    "hr/induction.html", "Your first week")
SEVERITY = Passage(
    "Severity: SEV1; Example: App or API down for all customers; Acknowledge within: 5 minutes; Update customers every: 30 minutes\n\n"
    "Severity: SEV2; Example: Exports failing for some customers; Acknowledge within: 15 minutes; Update customers every: 1 hour",
    "eng/incidents.html", "Incident severities")
DEFECTS = Passage(
    "Category: Category A (off the road); Examples: Brake fault, steering fault; Action: Do not take the bus out.\n\n"
    "Category: Category B (fix within 24 hours); Examples: Wheelchair ramp fault, one saloon light out; Action: Report it.",
    "drivers/defects.html", "Defect categories")


CLASSES = Passage("| Class | Clinic | Day | Time | Places |\n|---|---|---|---|---|\n| Postnatal Pilates | Galway | Wednesday | 18:15 | 12 |\n"
                  "| Back care Pilates | Galway | Monday | 19:00 | 10 |", "clinics/classes.md", "Classes")


def scored_by_words(question: str, texts) -> list[float]:
    """A stand-in reranker: the share of the question's longer words a text holds."""
    words = {w.strip("?,.").lower() for w in question.split() if len(w) > 3}
    return [sum(w in text.lower() for w in words) / max(1, len(words)) for text in texts]


class WordReranker:
    name = "words"

    def score(self, question, texts):
        return scored_by_words(question, texts)


@pytest.mark.parametrize("question, passage, cell", [
    ("What do you charge for a full truckload to the Ruhr area?", RATES, "€890"),  # the column the question names
    ("How much is one pallet to the Ruhr area?", RATES, "€71"),
    ("How long is a hygiene visit in the diary?", DIARY, "30 minutes"),  # the one cell of the kind asked for
    ("How long should I book for a new patient examination?", DIARY, "45 minutes"),  # the row that names most
    ("Who does the StockLine handheld training?", INDUCTION, "Bram Dekker"),  # a person's name, for "who"
    ("During a SEV1, how often do we update customers?", SEVERITY, "30 minutes"),  # of two durations, the one its header names
    ("How fast must a SEV2 be acknowledged?", SEVERITY, "15 minutes"),
    # "customers" names the row (its Example cell), not the column "Update customers every".
    ("How quickly do I acknowledge a page when exports are failing for some customers?", SEVERITY, "15 minutes"),
    # "category" is in the cell asked for as well as in its header.
    ("What defect category is a broken wheelchair ramp?", DEFECTS, "Category B (fix within 24 hours)"),
    # A day is its name, not the class's time of day.
    ("What day is the postnatal Pilates class in Galway?", CLASSES, "Wednesday"),
    ("What time is the postnatal Pilates class in Galway?", CLASSES, "18:15"),
])
def test_the_cell_of_the_row_the_question_names(question, passage, cell):
    found = table_answer(WordReranker(), question, [passage])
    assert found is not None and found.cell == cell and found.row.passage is passage


RENTS = Passage(
    "| Home size | 2025-26 | 2026-27 |\n|---|---|---|\n| 1 bedroom | £82.45 | £86.41 |\n| 2 bedrooms | £93.60 | £98.09 |",
    "tenancy/rents.md", "Average weekly rents")


def test_numbers_name_rows_and_columns_however_they_are_written():
    # "two-bedroom" names the row of "2 bedrooms", "2026-27" its column; "4.2" is a version, not a 2 or a 4.
    found = table_answer(WordReranker(), "What's the average weekly rent on a two-bedroom home for 2026-27?", [RENTS])
    assert found is not None and found.cell == "£98.09"
    assert terms("SEV1 on 4.2, 8% of pay, 250gsm, 1,200 NOK") == ["sev1", "pay", "250gsm", "nok", "4.2", "8", "1,200"]


def test_of_rows_naming_as_many_of_the_questions_words_the_one_it_names_by_its_name_is_looked_up():
    centres = Passage("| Centre | Monday–Thursday | Friday | Saturday |\n|---|---|---|---|\n"
                      "| Ottawa, 214 Bank Street | 8:30–20:30 | 8:30–17:00 | 9:00–13:00 |\n"
                      "| Halifax, 1590 Barrington Street | 9:00–20:00 | 9:00–16:00 | closed |", "centres.md", "Opening hours")
    # "close" is in Halifax's "closed" as "Ottawa" is in Ottawa's name: the row's name says which row it is.
    found = table_answer(ScriptedReranker({"Halifax": 0.86, "Ottawa": 0.83}), "What time does the Ottawa centre close on a Friday?",
                         [centres])
    assert found is not None and found.cell == "8:30–17:00"


def test_a_time_of_day_names_its_row_on_either_clock():
    late = Passage("| Late check-out | Charge |\n|---|---|\n| Until 13:00 | £20 |\n| Until 15:00 | £40 |\n| After 18:00 | "
                   "Full night's rate |", "front-desk.md", "Arrival and departure times")
    reranker = ScriptedReranker({"15:00": 0.8, "13:00": 0.7})  # liking the wrong row for "1pm"
    assert [table_answer(reranker, f"What's the charge for late check-out until {time}?", [late]).cell  # type: ignore[union-attr]
            for time in ("1pm", "1 p.m.", "13:00", "3 PM")] == ["£20", "£20", "£20", "£40"]
    # An hour alone after "until" is one on either half of the clock: "until 6" for 18:00, the only 6 o'clock there is.
    late = Passage(late.text.replace("After 18:00 | Full night's rate", "Until 18:00 | 50% of the room rate"), late.source, late.title)
    assert table_answer(reranker, "What's the charge for late check-out until 6?", [late]).cell == "50% of the room rate"  # type: ignore[union-attr]
    assert "18:00" not in terms("How much for 6 nights?") and terms("Open until 12?")[-1] == "12:00"
    assert terms("Open 9.30am-5:45 pm, 12 am, 12:15 pm") == ["open", "09:30", "17:45", "00:00", "12:15"]


def test_no_lookup_when_a_sentence_answers_better_than_any_row():
    passage = Passage(RATES.text + "\n\nA full truckload to the Ruhr area costs €950 from 1 July.", "customers/rates.md")
    reranker = ScriptedReranker({"costs €950": 0.9, "Ruhr area": 0.6})
    assert table_answer(reranker, "What does a full truckload to the Ruhr area cost?", [passage]) is None


SLA = Passage("| Priority | Meaning | Essentials | Business | Business Plus |\n|---|---|---|---|---|\n"
              "| P1 – Critical | Server down | 2 hours | 1 hour | 30 minutes |\n"
              "| P2 – High | Several users affected | 4 hours | 2 hours | 1 hour |\n\n"
              "96.2% of P1 and P2 tickets met their response target.", "customers/sla.md", "Priorities and response times")


def test_a_cell_named_by_its_row_and_its_column_is_looked_up_though_a_sentence_scores_higher():
    question = "What's the response time for a P2 ticket on Essentials?"
    reranker = ScriptedReranker({"96.2%": 0.74, "P2 – High": 0.72, "P1 – Critical": 0.5})
    found = table_answer(reranker, question, [SLA])
    assert isinstance(found, TableAnswer) and found.cell == "4 hours"
    # However low the reranker scores the row: it reads a row as a sentence, a person by its row and its column.
    found = table_answer(ScriptedReranker({"96.2%": 0.95, "P2 – High": 0.05}), question, [SLA])
    assert isinstance(found, TableAnswer) and found.cell == "4 hours"
    # Not with no column named, nor with two rows named, nor one named by a situation the question tells first.
    assert table_answer(reranker, "What's the response time for a P2 ticket?", [SLA]) is None
    assert table_answer(reranker, "What's the response time for P1 and P2 tickets on Essentials?", [SLA]) is None
    assert table_answer(reranker, "I'm not on Essentials. What's the response time for a P2 ticket?", [SLA]) is None
    # A sentence scoring higher that names the same row and column is about that cell: the reader answers.
    changed = Passage(SLA.text + "\n\nFrom May, P2 tickets on Essentials get a response within 3 hours.", "customers/sla.md")
    assert table_answer(ScriptedReranker({"From May": 0.9, "P2 – High": 0.72}), question, [changed]) is None


def test_no_lookup_when_no_row_names_what_the_question_asks_about():
    # "full" is a header's word, not a cell's: no row is about the warehouse, however the reranker likes them.
    reranker = ScriptedReranker({"Zone 1": 0.8})
    assert table_answer(reranker, "How full was the Barendrecht warehouse last quarter?", [RATES]) is None


def test_rows_of_a_csv_file_are_looked_up(tmp_path):
    from assistant.retrieval.loaders import load_document

    (tmp_path / "prices.csv").write_text('Item,Supplier,Price (ex VAT)\n"Nitrile gloves, medium",Carrick Medical,£6.40\n'
                                         '"Sterilisation pouches, 90 x 230 mm",Pennine Dental,£7.20\n', encoding="utf-8")
    prices = Passage("\n\n".join(b.text for b in load_document(tmp_path / "prices.csv").blocks), str(tmp_path / "prices.csv"))
    found = table_answer(WordReranker(), "How much is a box of sterilisation pouches?", [prices])
    assert found is not None and found.cell == "£7.20"


def test_no_lookup_for_a_question_that_wants_a_yes_or_a_no():
    # The row names the Ruhr area and holds a transit time, but no cell says whether next-day delivery is possible.
    assert table_answer(WordReranker(), "Can you deliver to the Ruhr area the next working day?", [RATES]) is None
    found = table_answer(WordReranker(), "I'm new at reception. How long is a hygiene visit in the diary?", [DIARY])
    assert found is not None and found.cell == "30 minutes"  # the asking sentence says which kind of cell


def test_with_no_cell_that_says_the_kind_plainly_the_header_decides():
    # "How much" sick pay is said in days, not money: the column the question names holds it.
    row = Row(RATES, (("Length of service", "Over 2 years"), ("Company sick pay per year", "20 days at full pay")))
    assert answer_cell("I've been here three years. How much full sick pay can I get a year?", row) == "20 days at full pay"


def test_a_rows_number_is_no_answer():
    # The action list's "No." is a bare number, as a price may be; what the replacement cost is in no cell.
    row = Row(RATES, (("No.", "1"), ("Action", "Replace all gas hoses and fittings"), ("Status", "Done (28 Aug)")))
    assert answer_cell("How much did it cost to replace the gas hoses?", row) is None
    assert answer_cell("How many gas hoses were replaced?", Row(RATES, (("#", "1"), ("Hoses replaced", "6")))) == "6"


def test_a_word_another_cell_holds_in_passing_still_names_its_column():
    # "deposit" is in the lost-keg charge too; only the row's name and a cell holding two of the question's words
    # (an example the question retells) name the row rather than a column.
    row = Row(RATES, (("Container", "30 L steel keg"), ("Deposit", "€45"), ("Coupler", "S-type"),
                      ("Lost container charge", "€75 plus the deposit")))
    assert answer_cell("How much is the deposit on a 30 L steel keg?", row) == "€45"


def test_a_cell_that_says_no_more_than_the_question_is_no_answer():
    # The row's name sits under "Allowance", the header the question names: the amount is the answer.
    row = Row(RATES, (("Allowance", "On-call, Saturday or Sunday"), ("Amount", "$180 per day")))
    assert answer_cell("What's the on-call allowance for a Saturday or Sunday?", row) == "$180 per day"
    # A bare share says more than the years the question states.
    row = Row(RATES, (("Years of service", "6 or more"), ("Vacation pay", "6%")))
    assert answer_cell("I've been a teacher here for 6 years. What percentage vacation pay do I get?", row) == "6%"
    # A share asked for is the cell that says one, not the money it comes to.
    row = Row(RATES, (("Course", "Online French"), ("Amount", "$690"), ("Part", "80%")))
    assert answer_cell("I have to pull out of online French. What share of the tuition do I get back?", row) == "80%"


@pytest.mark.parametrize("question", [
    "What is the rate for the Ruhr area?",  # no kind, and no header names what is asked: three cells could answer
    "How much does it cost for the Ruhr area?",  # two amounts, and the question names neither column
])
def test_no_cell_when_none_is_plainly_the_one(question):
    row = [unit for unit in units(RATES) if isinstance(unit, Row)][1]
    assert answer_cell(question, row) is None


def test_a_table_without_its_header_row_gives_its_cells_unnamed():
    cut = Passage("| Fluoride varnish | Pennine Dental | PDS-3310 | 35 single doses | £46.75 |\n"
                  "| Gloves, medium | Carrick Medical | CM-GL-M | Box of 200 | £6.40 |", "clinic/prices.md")
    rows = [unit for unit in units(cut) if isinstance(unit, Row)]
    assert [name for name, _ in rows[0].cells] == [""] * 5
    found = table_answer(WordReranker(), "How much is the fluoride varnish?", [cut])
    assert found is not None and found.cell == "£46.75"


def test_a_follow_up_swapping_the_row_of_a_table_without_its_header_row_reads_the_same_column():
    cut = Passage("| Fluoride varnish | Pennine Dental | PDS-3310 | £46.75 | 35 single doses |\n"
                  "| Gloves, medium | Carrick Medical | CM-GL-M | £6.40 | Box of 200 |", "clinic/prices.md")
    asked = "How much is the fluoride varnish?"
    row, column = answer_row(asked, "£46.75 [1]", table_rows(cut)) or (None, 0)
    assert row is not None and row.cells[0][1] == "Fluoride varnish" and column == 3  # every header is ""
    found = swapped_cell(Swap("and the gloves", asked, "£46.75 [1]", cut))
    assert found is not None and found.cell == "£6.40"


def test_rows_of_a_word_table_one_a_line_are_rows_each():
    table = Passage("Site: Bristol; Go-live date: 25 March\nSite: Rotterdam; Go-live date: 2 April", "it/rollout.docx")
    assert [unit.text for unit in units(table) if isinstance(unit, Row)] == table.text.splitlines()
    found = table_answer(WordReranker(), "When did Rotterdam go live?", [table])
    assert found is not None and found.cell == "2 April"


def test_labelled_rows_read_back_as_their_cells():
    rows = labelled_rows([["Plan", "Requests per minute", "Requests per day"], ["Pro", "600", "100,000"]], header=True)
    assert rows == ["Plan: Pro; Requests per minute: 600; Requests per day: 100,000"]
    assert row_cells(rows[0]) == [("Plan", "Pro"), ("Requests per minute", "600"), ("Requests per day", "100,000")]
    assert labelled(row_cells(rows[0]) or []) == rows[0]
    # A sentence with a colon and a semicolon is no row.
    assert row_cells("Assembly points: at Ridderkerk, car park P2; at Barendrecht, the flagpoles.") is None
    assert row_cells("Note: one labelled part is no row.") is None
    assert row_cells("The Amazon rainforest (Portuguese: Floresta Amazônica; Spanish: Selva Amazónica), also known") is None
    assert row_cells("Ticket: Day; Child (5-15): £4.00") == [("Ticket", "Day"), ("Child (5-15)", "£4.00")]
    # A time of day in a header is no label's end.
    assert row_cells("Van: Medium panel van; Full day: £69; Weekend (Fri 17:00 to Mon 09:00): £119; After 18:00: £20") == [
        ("Van", "Medium panel van"), ("Full day", "£69"), ("Weekend (Fri 17:00 to Mon 09:00)", "£119"), ("After 18:00", "£20")]


def test_the_qa_skill_answers_from_the_row_without_asking_the_model(tmp_path):
    model = ScriptedChatModel(["€71 [1]"])  # what a small reader copies: the price per pallet
    reranker = ScriptedReranker({"Ruhr area": 0.85, "Rates from": 0.4})
    manager = manager_over(model, tmp_path / "history.sqlite3", FakeKnowledgeStore([RATES]), reranker=reranker)
    reply = manager.handle("c", "/ask What do you charge for a full truckload to the Ruhr area?")
    assert reply.text == "€890 [1]" and reply.sources[0].source == RATES.source and not reply.declined
    assert reply.notice == "Answered from a row of a table in your documents." and model.calls == []


def test_the_qa_skill_looks_up_the_cell_named_by_its_row_and_column(tmp_path):
    question = "/ask What's the response time for a P2 ticket on Essentials?"
    model = ScriptedChatModel(["2 hours [1]", "2 hours [1]"])  # the cell beside the one asked for
    reranker = ScriptedReranker({"96.2%": 0.74, "P2 – High": 0.1})
    manager = manager_over(model, tmp_path / "history.sqlite3", FakeKnowledgeStore([SLA]), reranker=reranker)
    reply = manager.handle("c", question)
    assert reply.text == "4 hours [1]" and reply.notice == "Answered from a row of a table in your documents." and model.calls == []
    # With the lookups off, the reader reads the table.
    off = manager_over(model, tmp_path / "off.sqlite3", FakeKnowledgeStore([SLA]), reranker=reranker,
                       qa_options=QAOptions(table_lookup=False))
    assert off.handle("c", question).text != "4 hours [1]" and len(model.calls) == 1


def test_the_qa_skill_asks_the_model_when_the_table_gives_no_plain_cell(tmp_path):
    model = ScriptedChatModel(["€71 per pallet and €890 for a full truckload [1]"])
    reranker = ScriptedReranker({"Ruhr area": 0.85})
    manager = manager_over(model, tmp_path / "history.sqlite3", FakeKnowledgeStore([RATES]), reranker=reranker)
    reply = manager.handle("c", "/ask What are the rates for the Ruhr area?")
    assert len(model.calls) == 1 and reply.text.startswith("€71 per pallet")


def test_with_table_lookup_off_the_model_reads_the_table(tmp_path):
    model = ScriptedChatModel(["€890 [1]"])
    reranker = ScriptedReranker({"Ruhr area": 0.85})
    manager = manager_over(model, tmp_path / "history.sqlite3", FakeKnowledgeStore([RATES]), reranker=reranker,
                           qa_options=QAOptions(table_lookup=False))
    reply = manager.handle("c", "/ask What do you charge for a full truckload to the Ruhr area?")
    assert len(model.calls) == 1 and reply.text == "€890 [1]" and reply.notice == "Answered from your documents."


SHIPPED = Path(__file__).resolve().parents[1] / "rerankers"


@pytest.mark.real_model
def test_the_shipped_reranker_finds_the_row_and_the_cell_is_looked_up(tmp_path):
    reranker = LazyReranker.from_setting("auto", SHIPPED)
    assert reranker is not None
    found = table_answer(reranker, "How long is a hygiene appointment in the diary?", [DIARY])
    assert found is not None and found.cell == "30 minutes"
    found = table_answer(reranker, "What do you charge for a full truckload to the Ruhr area?", [RATES])
    assert found is not None and found.cell == "€890"


PLANS = Passage(
    "| | Starter | Pro | Business |\n|---|---|---|---|\n"
    "| Monthly price | €9 | €29 | €79 |\n"
    "| Price per month, billed annually | €7.20 | €23.20 | €63.20 |\n"
    "| Users included | 1 | 5 | 20 |",
    "product/plans.md", "Plans and prices")


@pytest.mark.parametrize("question, cell", [
    ("How much is the Pro plan a month?", "€29"),  # "Monthly price" says least besides what is asked
    ("How much is the Pro plan a month, billed annually?", "€23.20"),  # the row that names most
    ("What does the Business plan cost per month if we pay for the year up front?", "€63.20"),  # "annually" is "the year"
])
def test_of_rows_naming_as_much_the_one_whose_name_says_least_besides(question, cell):
    reranker = ScriptedReranker({"billed annually": 0.8, "Monthly price": 0.6})  # liking the annual row best
    found = table_answer(reranker, question, [PLANS])
    assert found is not None and found.cell == cell


LEAVE_TYPES = Passage(
    "| Type | Company pay |\n|---|---|\n| Maternity leave | 16 weeks at full pay, then statutory pay |\n"
    "| Paternity leave | 2 weeks at full pay |", "hr/leave.md", "Family leave")


BIKES = Passage(
    "| Bike | 1 day | Deposit |\n|---|---|---|\n| Tandem | €45 | €150 |\n| Children's bike (20\" or 24\") | €10 | €50 |",
    "rental.md", "Rental prices")
BROWSERS = Passage(
    "| Browser | Version |\n|---|---|\n| Google Chrome | 120 or later |\n| Mozilla Firefox | version 121 or later |", "it/browsers.md",
    "Browsers for live classes")
TOP_UPS = Passage("| Year | Hourly top-up |\n|---|---|\n| First year | $1.00 |\n| Third year | $2.50 |", "hr/apprentices.md",
                  "Apprentice top-ups")
PATCHING = Passage(
    "| What | Deadline |\n|---|---|\n| Critical vulnerabilities (CVSS 9.0 or higher) | within 48 hours |\n"
    "| Other security updates | within 14 days |", "it/patching.md", "Patching")


@pytest.mark.parametrize("question, table, found", [
    ("How much paternity leave is paid at full pay?", LEAVE_TYPES, "2 weeks at full pay"),
    ("How much adoption leave is paid at full pay?", LEAVE_TYPES, "no row: Paternity"),  # another leave than the table's
    ("How much leave do new fathers get at full pay?", LEAVE_TYPES, "2 weeks at full pay"),  # names no other kind of leave
    # A bracket qualifies a row's name and is not its kind: the children's bike is no recumbent bike.
    ("How much is the deposit for a recumbent bike?", BIKES, "no row: Children"),
    ("How much is the deposit for a children's bike?", BIKES, "€50"),
    # "Oldest" says which version, not what kind of Firefox (no cell is plainly the one: the reader reads the row); "3rd"
    # is the row "Third year", "2nd" another year's.
    ("What's the oldest Firefox I can use for live classes?", BROWSERS, None),
    ("What's the hourly top-up for a 3rd year apprentice?", TOP_UPS, "$2.50"),
    ("What's the hourly top-up for a 2nd year apprentice?", TOP_UPS, "no row: Third"),
])
def test_a_row_named_for_another_thing_of_the_kind_asked_is_no_row_for_it(question, table, found):
    reranker = ScriptedReranker({"Paternity": 0.9, "Maternity": 0.5, "Children": 0.9, "Tandem": 0.5, "Firefox": 0.9, "Chrome": 0.4,
                                 "Third": 0.9, "First": 0.5})
    answer = table_answer(reranker, question, [table])
    if found and found.startswith("no row: "):
        assert isinstance(answer, NoRow) and found.removeprefix("no row: ") in answer.row.text
    else:
        assert (answer.cell if isinstance(answer, TableAnswer) else answer) == found


def test_a_row_the_question_names_by_its_bracket_is_not_refused():
    # No cell is plainly of a kind "how fast" is checked for, so the reader reads the row: it is not "no row for it".
    answer = table_answer(ScriptedReranker({"Critical": 0.9, "Other": 0.3}), "How fast do we have to patch a CVSS 9.5 vulnerability?",
                          [PATCHING])
    assert not isinstance(answer, NoRow)


PAY_SCALE = Passage(
    "| Role | Starting rate | After 12 months | After 24 months |\n|---|---|---|---|\n"
    "| Bar staff | €13.20 | €13.60 | €14.10 |\n| Senior bar staff | €14.50 | €15.00 | €15.60 |",
    "hr/pay.md", "Hourly pay")


@pytest.mark.parametrize("question, cell", [
    ("I've been senior bar staff for just over a year now. What should my hourly rate be?", "€15.00"),
    ("I've been senior bar staff for three years. What's my hourly rate?", "€15.60"),  # the band starting latest
    ("I've been senior bar staff for 18 months. What's my hourly rate?", "€15.00"),
    ("What's the starting rate for senior bar staff?", "€14.50"),  # no quantity stated: the header's words decide
])
def test_the_column_whose_band_holds_the_quantity_the_question_states(question, cell):
    found = table_answer(ScriptedReranker({"Senior": 0.9}), question, [PAY_SCALE])
    assert isinstance(found, TableAnswer) and found.cell == cell


ON_CALL = Passage(
    "| Week | Dates | Manager on call |\n|---|---|---|\n| Week 35 | 25–31 August 2025 | Joost Brinkhuis |\n"
    "| Week 36 | 1–7 September 2025 | Ilse Dekkerman |", "ops/on-call.md", "Manager on call")
LATE_PAYMENT = Passage(
    "| Day | Action | Fee added |\n|---|---|---|\n| 3 | Second payment attempt, SMS reminder | none |\n"
    "| 14 | Late fee and letter | £25 |\n| 28 | Lock cut notice | £50 |", "ops/late-payment.md", "Late payment")


@pytest.mark.parametrize("question, table, found", [
    ("Who is the manager on call in week 37?", ON_CALL, None),  # "Week 35" is another week
    ("Who is the manager on call in week 36?", ON_CALL, "Ilse Dekkerman"),
    ("What's the second late payment fee at 21 days?", LATE_PAYMENT, None),  # "3" under "Day" is day 3
    ("What fee is added at 14 days?", LATE_PAYMENT, "£25"),
])
def test_a_row_numbered_as_another_of_the_things_asked_about_is_no_row_for_it(question, table, found):
    answer = table_answer(ScriptedReranker({"Week 35": 0.9, "Week 36": 0.5, "Second payment": 0.9, "Late fee": 0.5}),
                          question, [table])
    assert isinstance(answer, NoRow) if found is None else (isinstance(answer, TableAnswer) and answer.cell == found)


def test_a_cell_that_mentions_nothing_is_no_price():
    checks = Passage("| Item | Standard | If not met |\n|---|---|---|\n"
                     "| Windscreen | no chip larger than 2 cm, nothing in the driver's view | Book a glass repair |",
                     "ops/checks.md", "Vehicle checks")
    question = "What do we charge for repairing a stone chip in the windscreen?"
    assert table_answer(ScriptedReranker({"Windscreen": 0.9}), question, [checks]) is None  # the reader reads on


EVENTS = Passage("| Hotel | Room | Ceremony | Wedding breakfast | Evening reception |\n|---|---|---|---|---|\n"
                 "| Wool Exchange | Mill Hall | 200 | 180 | 220 |\n| The Thornbury | The Orangery | 100 | 90 | 120 |\n"
                 "| The Saltings | Harbour Room | 80 | 70 | 100 |", "events/spaces.md", "Our event spaces")
GASES = Passage("| Gas | Safe for entry | Alarm level |\n|---|---|---|\n| Oxygen | 19.5% to 23.5% | Below 19.5% or above 23.5% |\n"
                "| Carbon monoxide (CO) | Below 25 ppm | 30 ppm |", "safety/confined-spaces.md", "Atmosphere testing")
RECEPTION = "How many people can the Orangery hold for an evening reception?"


@pytest.mark.parametrize("swap, cell", [
    # The same row's cell under the column the part names.
    (Swap("for the ceremony itself", RECEPTION, "120 [1]", EVENTS), "100"),
    # Of the columns the part names ("Business", "Business Plus"), the one it names by more words.
    (Swap("Business Plus", "What's the response time for a P2 ticket on Essentials?", "4 hours [1]", SLA), "1 hour"),
    # The same column's cell in the row the part names, by all its words or by all of the part's.
    (Swap("carbon monoxide", "What oxygen level is safe for entry?", "19.5% to 23.5% [1]", GASES), "Below 25 ppm"),
    # The row it names by all its words rather than the one whose name holds it and more.
    (Swap("the standard one", "How much is the premium plan?", "€30 [1]",
          Passage("| Plan | Price |\n|---|---|\n| Premium | €30 |\n| Standard Plus | €20 |\n| Standard | €10 |", "p.md", "Plans")),
     "€10"),
    (Swap("the large one", "How much is a small service?", "€59 [1]",
          Passage("| Service | Price |\n|---|---|\n| Small service | €59 |\n| Large service | €119 |", "prices.md", "Services")),
     "€119"),
])
def test_a_follow_up_that_swaps_a_part_reads_the_cell_it_names_in_the_table_that_answered(swap, cell):
    found = swapped_cell(swap)
    assert found is not None and found.cell == cell


@pytest.mark.parametrize("swap", [
    Swap("for a birthday party", RECEPTION, "120 [1]", EVENTS),  # names no column or row of the table
    Swap("for the ceremony", RECEPTION, "about 120 guests [1]", EVENTS),  # the answer is no cell
    Swap("for the ceremony", "How many people can the Harbour Room hold?", "100 [1]", EVENTS),  # two cells say 100
    Swap("and the breakfast", RECEPTION, "120 [1]",  # the cell is no count, which the question asks for
         Passage("| Room | Breakfast | Evening reception |\n|---|---|---|\n| The Orangery | served from 7:00 | 120 |", "e.md", "E")),
    Swap("for the ceremony", RECEPTION, "120 [1]", Passage("The Orangery holds 120 for a reception.", "e.md", "E")),  # no table
])
def test_no_swapped_cell_unless_the_answer_and_the_part_each_name_one_plainly(swap):
    assert swapped_cell(swap) is None


def test_the_row_that_answered_is_the_one_whose_cell_the_question_asks_for_says_the_answer():
    asked = "What's the response time for a P2 ticket on Essentials?"
    row, column = answer_row(asked, "4 hours [1]", table_rows(SLA)) or (None, 0)
    assert row is not None and row.cells[0] == ("Priority", "P2 – High") and row.cells[column][0] == "Essentials"
    assert answer_row(asked, "1 hour [1]", table_rows(SLA)) is None  # in two rows
    assert answer_row(asked, "P2 – High", table_rows(SLA)) is None  # a row's name is no cell that answers
    # A reader's answer from another column than the one the question asks for: what follows is not read there.
    assert answer_row("What's the response time for a P2 ticket on Business?", "4 hours [1]", table_rows(SLA)) is None


def test_a_follow_up_swapping_a_column_is_answered_from_the_table_the_answer_before_came_from(tmp_path):
    # Read alone, "... for the ceremony itself?" scores the table under the gate: the reranker has no "reception" to go on.
    reranker = ScriptedReranker({"Evening reception": 0.8})
    model = ScriptedChatModel(["I don't know. [1]"])
    manager = manager_over(model, tmp_path / "history.sqlite3", FakeKnowledgeStore([EVENTS]), reranker=reranker)
    assert manager.handle("c", f"/ask {RECEPTION}").text == "120 [1]"
    reply = manager.handle("c", "/ask And for the ceremony itself?")
    assert reply.text == "100 [1]" and reply.sources[0].source == EVENTS.source and model.calls == []
    assert reply.notice == "Answered from a row of a table in your documents."
    # With table lookups off, the follow-up is left to the reranker and the reader: here "I don't know".
    off = manager_over(model, tmp_path / "off.sqlite3", FakeKnowledgeStore([EVENTS]), reranker=reranker,
                       qa_options=QAOptions(table_lookup=False))
    off.handle("c", f"/ask {RECEPTION}")
    assert off.handle("c", "/ask And for the ceremony itself?").declined
