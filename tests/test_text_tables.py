"""Tables in plain text, lined up with spaces: read as rows whose cells carry their headers; prose and lists of
labels and values stay as written."""

from __future__ import annotations

from pathlib import Path

from assistant.retrieval.document import LINES, PROSE
from assistant.retrieval.loaders import load_document
from assistant.retrieval.text_tables import fixed_width_rows

ACTIONS = """\
No. Action                                      Owner              Deadline      Status
1   Clear the walkway and mark a no-staging     Ruud Bakker        16 May 2024   Done
    zone
2   Repair blue spot on R-07; add blue spot     Jeroen Schouten    21 May 2024   Done
    to pre-use check list of all reach trucks   (Technical Service)
3   Replace light fittings at end of aisle 14   Facilities         31 May 2024   Open"""


def test_a_table_lined_up_with_spaces_is_a_row_per_record_with_wrapped_cells_joined():
    rows = fixed_width_rows(ACTIONS)
    assert rows == [
        ("No.: 1; Action: Clear the walkway and mark a no-staging zone; Owner: Ruud Bakker; Deadline: 16 May 2024; "
         "Status: Done", 1, 2),
        ("No.: 2; Action: Repair blue spot on R-07; add blue spot to pre-use check list of all reach trucks; "
         "Owner: Jeroen Schouten (Technical Service); Deadline: 21 May 2024; Status: Done", 3, 4),
        ("No.: 3; Action: Replace light fittings at end of aisle 14; Owner: Facilities; Deadline: 31 May 2024; "
         "Status: Open", 5, 5),
    ]


def test_a_header_of_two_words_over_one_column_stays_one_header():
    table = ("Code     Stock          Reorder point   Supplier\n"
             "GL-130   Gloss coated   20,000          Liffey Paper\n"
             "SI-170   Silk coated    30,000          Liffey Paper")
    rows = fixed_width_rows(table)
    assert rows is not None and rows[0][0] == "Code: GL-130; Stock: Gloss coated; Reorder point: 20,000; Supplier: Liffey Paper"


def test_right_aligned_numbers_and_a_rule_under_the_header():
    table = ("Item            Qty   Unit price   Total\n"
             "--------------  ---   ----------   -------\n"
             "Paper A4        10       €4.50     €45.00\n"
             "Toner black      2      €89.00    €178.00")
    assert [text for text, _, _ in fixed_width_rows(table) or []] == [
        "Item: Paper A4; Qty: 10; Unit price: €4.50; Total: €45.00",
        "Item: Toner black; Qty: 2; Unit price: €89.00; Total: €178.00"]


def test_labelled_notes_whose_words_line_up_by_chance_are_no_table():
    # Two lines have a long gap before "Owner:"; the others have words, single-spaced, where it ends.
    notes = ("DECISION: on after only before tests vet after rota before reason\n"
             "DECISION: for new of draft visit                  Owner: Ann Lee\n"
             "DECISION: may only be vet rota                    Owner: Rosa Brandt\n"
             "DECISION: labelled visit vets booked rota rota visits written")
    assert fixed_width_rows(notes) is None


def test_prose_numbered_lists_and_labels_with_values_are_no_table():
    assert fixed_width_rows("The picker crossed outside the walkway because the walkway was\n"
                            "blocked by pallets of returned goods. He did not notice the reach\n"
                            "truck in time because its blue warning spot was not shining.") is None
    assert fixed_width_rows("1. The returns staging area had been full since 10 May, and returned\n"
                            "   pallets were being placed on the walkway next to aisle 14.\n"
                            "2. The blue spot warning light on reach truck R-07 was defective. The\n"
                            "   fault was not noticed during the pre-use check because the check list\n"
                            "3. Two of the six light fittings at the end of aisle 14 were not\n"
                            "   working, which made it harder for the driver to see pedestrians.") is None
    assert fixed_width_rows("Report number:   NM-2024-017\nDate of event:   14 May 2024\nStatus:          Open") is None


def test_a_text_file_holds_its_table_as_one_block_per_row_with_its_lines(tmp_path: Path):
    path = tmp_path / "near-miss.txt"
    path.write_text(f"NEAR-MISS REPORT\n\nACTIONS\n\n{ACTIONS}\n\nLESSONS\n\nKeep walkways clear.\n", encoding="utf-8")
    blocks = load_document(path).blocks
    rows = [block for block in blocks if block.kind == LINES]
    assert [(block.line_start, block.line_end) for block in rows] == [(6, 7), (8, 9), (10, 10)]
    assert rows[2].text.endswith("Deadline: 31 May 2024; Status: Open")
    assert [block.text for block in blocks if block.kind == PROSE] == ["NEAR-MISS REPORT", "ACTIONS", "LESSONS", "Keep walkways clear."]
