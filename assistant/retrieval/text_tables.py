"""Tables in plain text: columns lined up with spaces, as reports, e-mails and exports write them.

    No. Action                                      Owner              Deadline      Status
    1   Clear the walkway and mark a no-staging     Ruud Bakker        16 May 2024   Done
        zone
    3   Replace light fittings at end of aisle 14   Facilities         31 May 2024   Open

read as rows whose cells carry their column's header ("No.: 3; Action: Replace light fittings at end of aisle 14;
Owner: Facilities; Deadline: 31 May 2024; Status: Open", retrieval.tables), so that a row read alone still says
which date is the deadline. A column starts after a gap that every line has (most of them two spaces wide) and
has a header; a line with nothing in the first column goes on the row above (a wrapped cell).
"""

from __future__ import annotations

import re

from .tables import labelled_rows

MIN_COLUMNS = 3  # two columns are a list of labels and values ("Report number:   NM-2024-017"), kept as written
MIN_ROWS = 2
RULE = re.compile(r"[-=+| ]+")


def column_starts(lines: list[str]) -> list[int]:
    """Where the columns start: 0, and each position after a gap, a space in every line that starts a row (a wrapped
    line, indented, may run into the gap), two in most of those with a cell there (cells are padded to their column)."""
    width = max(len(line) for line in lines)
    starting = [line for line in lines if not line[:1].isspace()]
    spaced = [all(p >= len(line) or line[p] == " " for line in starting) for p in range(width)]

    def padded(p: int) -> bool:  # of the lines with a cell there, most have two spaces before it
        cells = [line for line in starting if p < len(line) and line[p] != " "]
        return 2 * sum(line[p - 2 : p] == "  " for line in cells) >= len(cells)

    return [0] + [p for p in range(2, width) if spaced[p - 1] and not spaced[p] and padded(p)]


def fixed_width_rows(paragraph: str) -> list[tuple[str, int, int]] | None:
    """The paragraph's rows after the header as labelled text, each with its first and last line (0 is the
    paragraph's first), when it is a table of at least MIN_COLUMNS columns and MIN_ROWS rows lined up with spaces;
    else None."""
    lines = [line.rstrip() for line in paragraph.expandtabs().splitlines()]
    if len(lines) < MIN_ROWS + 1 or any(not line.strip() for line in lines):
        return None
    starts = column_starts(lines)
    if len(starts) < MIN_COLUMNS:
        return None
    bounds = list(zip(starts, [*starts[1:], None]))
    rows: list[list[str]] = []
    spans: list[list[int]] = []  # each row's first and last line
    for number, line in enumerate(lines):
        if RULE.fullmatch(line):  # "-------  ------" under the header
            continue
        cells = [line[start:end].strip() for start, end in bounds]
        if len(rows) > 1 and not cells[0]:  # a wrapped line: its cells go on the row above
            rows[-1] = [f"{above} {cell}".strip() for above, cell in zip(rows[-1], cells)]
            spans[-1][1] = number
        else:
            rows.append(cells)
            spans.append([number, number])
    # A column needs a header and something under it: a header word with nothing under it ("Reorder point" over
    # "20,000") goes with the column before, as does a right-aligned number that starts before its header.
    empty = [i for i in range(1, len(bounds)) if not rows[0][i] or not any(row[i] for row in rows[1:])]
    for i in reversed(empty):
        for row in rows:
            row[i - 1] = f"{row[i - 1]} {row[i]}".strip()
            del row[i]
    if len(rows[0]) < MIN_COLUMNS or len(rows) < MIN_ROWS + 1 or not all(rows[0]):
        return None
    return [(text, first, last) for text, (first, last) in zip(labelled_rows(rows, header=True), spans[1:]) if text]
