"""Table rows as text that can be read one row at a time: each cell with its column's header.

A passage may hold rows without the table's header, and a small reader copies its answer from one row:
"Pro | 600 | 100,000 | 10" does not say which number is the limit per minute, "Plan: Pro; Requests per
minute: 600; Requests per day: 100,000; Concurrent requests: 10" does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bs4 import Tag


def labelled_rows(rows: Sequence[Sequence[str]], header: bool) -> list[str]:
    """The rows after the first as "Header: value; Header: value" when ``header`` (the first row names the columns),
    else every row's cells joined by " | ", one text per row ("" for an empty row). Empty cells are left out; a row
    whose cells do not line up with the header (merged cells) is joined by " | " too."""
    names = [" ".join(name.split()).rstrip(":") for name in rows[0]] if header and rows else []
    lines = []
    for cells in rows[1:] if names else rows:
        cells = [" ".join(cell.split()) for cell in cells]
        if not any(cells):
            lines.append("")
        elif names and len(cells) == len(names):
            lines.append(labelled(zip(names, cells)))
        else:
            lines.append(" | ".join(cell for cell in cells if cell))
    return lines


def table_header(cells: Sequence[Sequence[str]]) -> bool:
    """Whether the first row names the columns, for a table that does not mark its header (Word, CSV): a first row
    of names (no empty cell, no number) above other rows."""
    return len(cells) > 1 and bool(cells[0]) and all(cell.strip() and not re.search(r"\d", cell) for cell in cells[0])


def word_rows(cells: Sequence[Sequence[str]]) -> str:
    """A Word table's rows as labelled_rows writes them, one a line (table_header decides the header)."""
    return "\n".join(row for row in labelled_rows(cells, table_header(cells)) if row)


def labelled(cells: Iterable[tuple[str, str]]) -> str:
    """A row's (header, cell) pairs as "Header: value; Header: value": a cell without a header, or that is its own
    header, alone; empty cells left out."""
    return "; ".join(f"{name}: {cell}" if name and name != cell else cell for name, cell in cells if cell)


# A header is short, and its brackets close ("Child (5-15)"; not "The Amazon rainforest (Portuguese"); a time of day
# may be in it ("After 18:00", "Weekend (Fri 17:00 to Mon 09:00)"): a colon with no space after it.
LABELLED_CELL = re.compile(r"^((?:[^:;()]|:(?=\d)|\((?:[^:;()]|:(?=\S))*\)){1,40}):\s+(.+)$")


def row_cells(text: str) -> list[tuple[str, str]] | None:
    """The (header, cell) pairs of a row as ``labelled`` writes it, when ``text`` is one (two labelled cells or more);
    else None."""
    parts = text.strip().rstrip(".").split("; ")
    cells = [LABELLED_CELL.match(part) for part in parts]
    if len(parts) < 2 or not all(cells):
        return None
    return [(match[1].strip(), match[2].strip()) for match in cells if match]


def is_layout(table: Tag) -> bool:
    """A table that lays out a page rather than holding data: marked so (role="presentation"), or with headings
    or other tables in its cells."""
    return table.get("role") in ("presentation", "none") or table.find(["h1", "h2", "h3", "h4", "h5", "h6", "table"]) is not None


def html_rows(table: Tag) -> list[tuple[str, int | None]]:
    """A table's caption and rows (labelled_rows; the header is a first row of <th> cells, or in <thead>), each with
    the line of the page it starts on. Rows of a table inside a cell are that cell's text."""
    rows = [row for row in table.find_all("tr") if row.find_parent("table") is table]
    cells = [row.find_all(["td", "th"], recursive=False) for row in rows]
    header = bool(cells) and bool(cells[0]) and (rows[0].find_parent("thead") is not None or all(c.name == "th" for c in cells[0]))
    texts = labelled_rows([[cell.get_text(" ") for cell in row] for row in cells], header)
    caption = " ".join(table.caption.get_text(" ").split()) if table.caption else ""
    return [(caption, table.sourceline)] * bool(caption) + [
        (text, row.sourceline) for text, row in zip(texts, rows[1:] if header else rows) if text]

