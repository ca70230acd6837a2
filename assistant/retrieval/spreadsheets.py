"""Spreadsheets (CSV, TSV, Excel workbooks) read as tables: a block per row, each cell with its column's header
when the first row names the columns ("Item: Nitrile gloves, medium; Price: £6.40"), as the HTML and Word loaders
write table rows, so a row read alone still says what each number is and the table lookup can read it."""

from __future__ import annotations

import csv
import datetime
import io
import re
from pathlib import Path
from typing import Any

from .document import LINES, Block, Document
from .tables import labelled_rows, table_header


def delimited_rows(text: str, tabs: bool = False) -> list[tuple[str, int, int]] | None:
    """A CSV file's rows (TSV with ``tabs``) after the header as labelled text, each with its first and last line,
    in the delimiter the file uses (a comma, a semicolon, a tab or a bar); None when the csv module cannot read it
    (a field longer than it reads)."""
    try:
        dialect: Any = csv.Sniffer().sniff(text[:8192], delimiters="\t" if tabs else ",;\t|")
    except csv.Error:  # one column, or no consistent delimiter
        dialect = csv.excel_tab if tabs else csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        rows, ends = [], []
        for row in reader:
            rows.append(row)
            ends.append(reader.line_num)  # a quoted cell may span lines: where the record ended
    except csv.Error:
        return None
    header = table_header(rows)
    spans = list(zip([0, *ends], ends))[1 if header else 0:]
    return [(line, previous + 1, end) for line, (previous, end) in zip(labelled_rows(rows, header), spans) if line]


def load_xlsx(path: Path, data: bytes) -> Document:
    """An Excel workbook: each sheet's rows under the sheet's name, the row number as the line, each value as the
    sheet shows it as far as its number format says (a currency sign, decimals, a percentage, a date)."""
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)  # data_only: a formula's last result
    blocks: list[Block] = []
    try:
        for sheet in book.worksheets:
            numbered = [(number, [shown(cell.value, cell.number_format) for cell in row])
                        for number, row in enumerate(sheet.iter_rows(), start=1)]
            numbered = [(number, cells) for number, cells in numbered if any(cells)]
            rows = [cells for _, cells in numbered]
            header = table_header(rows)
            for (number, _), line in zip(numbered[1:] if header else numbered, labelled_rows(rows, header)):
                if line:
                    blocks.append(Block(line, LINES, (sheet.title,), line_start=number, line_end=number))
    finally:
        book.close()
    return Document(path, path.stem, "xlsx", blocks)


# A currency sign in a number format: "£#,##0.00", or Excel's locale form "[$€-2] #,##0.00".
CURRENCY_SIGN = re.compile(r"\[\$([^\]-]+)|([$€£¥])")


def shown(value: Any, number_format: str | None = None) -> str:
    """A cell's value as text: "£6.40" for 6.4 formatted "£#,##0.00", "7%" for 0.07 formatted "0%", a date without
    its midnight, a whole number without ".0"."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return " ".join(str(value).split())
    form = (number_format or "General").split(";")[0]  # the format of a positive number
    if "%" in form:
        value = round(value * 100, 10)  # 0.07 * 100 is 7.000000000000001
    grouping = "," if "," in form else ""
    if places := re.search(r"\.(0+)", form):
        text = f"{value:{grouping}.{len(places[1])}f}"
    elif float(value).is_integer():
        text = f"{int(value):{grouping}d}"
    else:
        text = f"{value:.10g}"  # as Excel's General format shows it: 0.1 + 0.2 is 0.3
    sign = CURRENCY_SIGN.search(form)
    return f"{(sign[1] or sign[2]) if sign else ''}{text}{'%' if '%' in form else ''}"
