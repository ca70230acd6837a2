"""Read one file into blocks of text in reading order, each with its heading path and page or lines.

A file that is not a document (an image, an archive, an unknown type) raises ``Skipped`` with the
reason; a file that is a document but cannot be read raises another exception, reported as failed.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .base import SHEETS
from .document import HEADING, LINES, PROSE, Block, Document, Skipped, Unreadable, decode_text
from .html_loader import fragment_text, load_html
from .inline import plain_lines
from .spreadsheets import delimited_rows, load_xlsx
from .tables import word_rows
from .text_tables import fixed_width_rows

# ---------------------------------------------------------------- plain text and source code


def _spans(text: str) -> Iterator[tuple[str, int, int]]:
    """Blank-line separated paragraphs as (text, first line, last line), lines counted from 1."""
    lines = text.split("\n")
    start = None
    for number, line in enumerate(lines + [""]):
        if line.strip() and start is None:
            start = number
        elif not line.strip() and start is not None:
            yield "\n".join(lines[start:number]).strip("\n"), 1 + start, number
            start = None


def load_text(path: Path, data: bytes) -> Document:
    """Paragraphs of prose; a table lined up with spaces is a block per row, its cells labelled with their headers
    (text_tables)."""
    blocks = []
    for body, start, end in _spans(decode_text(data)):
        rows = fixed_width_rows(body)
        blocks += [Block(body, PROSE, line_start=start, line_end=end)] if rows is None else [
            Block(row, LINES, line_start=start + first, line_end=start + last) for row, first, last in rows]
    return Document(path, path.stem, "text", blocks)


def load_table(path: Path, data: bytes) -> Document:
    """A spreadsheet exported as CSV or TSV: a block per row, each cell with its column's header when the first row
    names the columns (spreadsheets.delimited_rows); a file the csv module cannot read is read as code is."""
    rows = delimited_rows(decode_text(data), tabs=path.suffix.lower() == ".tsv")
    if rows is None:
        return load_code(path, data)
    return Document(path, path.stem, "table", [Block(row, LINES, line_start=first, line_end=last) for row, first, last in rows])


def load_code(path: Path, data: bytes) -> Document:
    blocks = [Block(body, LINES, line_start=start, line_end=end) for body, start, end in _spans(decode_text(data))]
    return Document(path, path.name, "code", blocks)


# ---------------------------------------------------------------- Markdown and reStructuredText


_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n(?:---|\.\.\.)\n", re.DOTALL)


def load_markdown(path: Path, data: bytes) -> Document:
    from markdown_it import MarkdownIt

    text = decode_text(data)
    title = ""
    offset = 0  # lines taken by YAML front matter, which Markdown would misread as a heading
    front = _FRONT_MATTER.match(text)
    if front:
        found = re.search(r"^title:\s*['\"]?(.+?)['\"]?\s*$", front.group(1), re.MULTILINE)
        title = found.group(1) if found else ""
        offset = front.group(0).count("\n")
        text = text[front.end() :]
    lines = text.split("\n")
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    blocks: list[Block] = []
    stack: list[str] = []
    for position, token in enumerate(tokens):
        if token.level != 0 or token.map is None or token.nesting == -1:
            continue
        start, end = token.map
        span = {"line_start": offset + start + 1, "line_end": offset + end}
        if token.type == "heading_open":
            heading = plain_lines(tokens[position + 1].content.strip())
            level = int(token.tag[1])
            stack = stack[: level - 1] + [""] * max(0, level - 1 - len(stack)) + [heading]
            title = title or (heading if level == 1 else "")
            blocks.append(Block(heading, HEADING, tuple(h for h in stack if h), **span))
            continue
        body = "\n".join(lines[start:end]).strip()
        if token.type == "html_block":
            body = fragment_text(body)
        elif token.type not in ("fence", "code_block"):
            body = plain_lines(body)
        if not body:
            continue
        kind = PROSE if token.type in ("paragraph_open", "blockquote_open") else LINES
        blocks.append(Block(body, kind, tuple(h for h in stack if h), **span))
    return Document(path, title or path.stem, "markdown", blocks)


_ADORNMENT = re.compile(r"^([=\-~^\"'`*+#:._])\1{2,}\s*$")


def load_rst(path: Path, data: bytes) -> Document:
    """Sections from underlined (and overlined) titles; the order styles first appear gives the level."""
    lines = decode_text(data).split("\n")
    styles: list[str] = []
    stack: list[str] = []
    blocks: list[Block] = []
    title = ""
    for text, line_start, line_end in _spans("\n".join(lines)):
        rows = text.split("\n")
        heading = None
        if len(rows) >= 2 and _ADORNMENT.match(rows[1]) and not _ADORNMENT.match(rows[0]):
            heading, style, rest = rows[0].strip(), rows[1][0], rows[2:]
        elif len(rows) >= 3 and _ADORNMENT.match(rows[0]) and _ADORNMENT.match(rows[2]):
            heading, style, rest = rows[1].strip(), rows[0][0] * 2, rows[3:]
        if heading is None:
            indented = all(row.startswith((" ", "\t")) for row in rows)
            blocks.append(Block(text, LINES if indented or text.startswith("..") else PROSE,
                                tuple(stack), line_start=line_start, line_end=line_end))
            continue
        if style not in styles:
            styles.append(style)
        level = styles.index(style)
        stack = stack[:level] + [heading]
        title = title or heading
        blocks.append(Block(heading, HEADING, tuple(stack), line_start=line_start, line_end=line_start))
        if rest:
            body = "\n".join(rest).strip()
            first = line_end - len(rest) + 1
            blocks.append(Block(body, PROSE, tuple(stack), line_start=first, line_end=line_end))
    return Document(path, title or path.stem, "rst", blocks)


# ---------------------------------------------------------------- PDF and Word


def _reflow(page_text: str) -> list[str]:
    """PDF text comes one printed line at a time: join lines into paragraphs, undo hyphenation."""
    paragraphs = re.split(r"\n\s*\n", page_text)
    flowed = []
    for para in paragraphs:
        para = re.sub(r"(\w)-\n(\w)", r"\1\2", para)
        para = " ".join(para.split())
        if para:
            flowed.append(para)
    return flowed


def load_pdf(path: Path, data: bytes) -> Document:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted and not reader.decrypt(""):
        raise Skipped("encrypted PDF (a password is needed)")
    blocks = []
    for number, page in enumerate(reader.pages, start=1):
        for para in _reflow(page.extract_text() or ""):
            blocks.append(Block(para, PROSE, page=number))
    if not blocks:
        raise Skipped("no text in this PDF (scanned pages need OCR first)")
    meta_title = ""
    try:
        meta_title = (reader.metadata.title or "").strip() if reader.metadata else ""
    except Exception:  # malformed metadata must not cost the text
        meta_title = ""
    return Document(path, meta_title or path.stem, "pdf", blocks)


def load_docx(path: Path, data: bytes) -> Document:
    import docx
    from docx.table import Table

    document = docx.Document(io.BytesIO(data))
    blocks: list[Block] = []
    stack: list[str] = []
    title = (document.core_properties.title or "").strip()
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            text = word_rows([[cell.text for cell in row.cells] for row in item.rows])
            if text:
                blocks.append(Block(text, LINES, tuple(stack)))
            continue
        text = item.text.strip()
        if not text:
            continue
        style = (item.style.name if item.style is not None else "") or ""
        level = 1 if style == "Title" else int(style.split()[-1]) if re.fullmatch(r"Heading \d", style) else 0
        if level:
            stack = stack[: level - 1] + [text]
            title = title or text
            blocks.append(Block(text, HEADING, tuple(stack)))
        else:
            kind = LINES if style.startswith("List") else PROSE
            blocks.append(Block(text, kind, tuple(stack)))
    return Document(path, title or path.stem, "docx", blocks)


# ---------------------------------------------------------------- JSON and JSON Lines


def _text_fields(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """(key path, text) for every string in a JSON value; long unbroken strings (ids, base64) are not text."""
    if isinstance(value, str):
        text = value.strip()
        if text and not (len(text) > 100 and " " not in text):
            yield key, text
    elif isinstance(value, dict):
        for name, item in value.items():
            yield from _text_fields(item, f"{key}.{name}" if key else str(name))
    elif isinstance(value, list):
        for number, item in enumerate(value):
            yield from _text_fields(item, f"{key}[{number}]")


def _record_block(record: Any, **where: Any) -> Block | None:
    fields = list(_text_fields(record))
    if not fields:
        return None
    heading = ""
    if isinstance(record, dict):
        heading = next((str(record[k]).strip() for k in ("title", "name", "subject") if isinstance(record.get(k), str)), "")
    text = "\n".join(f"{key}: {value}" if key else value for key, value in fields)
    return Block(text, LINES, (heading,) if heading else (), **where)


def load_json(path: Path, data: bytes) -> Document:
    value = json.loads(decode_text(data))
    records = value if isinstance(value, list) else [value]
    blocks = [block for record in records if (block := _record_block(record)) is not None]
    return Document(path, path.stem, "json", blocks)


def load_jsonl(path: Path, data: bytes) -> Document:
    blocks = []
    bad = 0
    for number, line in enumerate(decode_text(data).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            bad += 1
            continue
        block = _record_block(record, line_start=number, line_end=number)
        if block is not None:
            blocks.append(block)
    if bad and not blocks:
        raise ValueError(f"none of its lines is valid JSON ({bad} tried)")
    return Document(path, path.stem, "jsonl", blocks)


# ---------------------------------------------------------------- dispatch

Loader = Callable[[Path, bytes], Document]

_CODE_SUFFIXES = (
    ".py .pyi .js .mjs .cjs .ts .tsx .jsx .java .kt .kts .scala .go .rs .c .h .cc .cpp .cxx .hpp .hh .cs .swift "
    ".m .rb .php .pl .pm .lua .r .jl .sh .bash .zsh .fish .ps1 .bat .sql .css .scss .less .vue .svelte .toml .ini "
    ".cfg .conf .yaml .yml .xml .proto .graphql .tf .gradle .cmake .mk .el .clj .ex .exs .erl .hs .ml .dart .nim .zig"
).split()
_TEXT_NAMES = {"readme", "license", "licence", "copying", "authors", "changelog", "changes", "notice", "todo",
               "makefile", "dockerfile", "containerfile", "gemfile", "rakefile", "procfile", "justfile"}

LOADERS: dict[str, Loader] = {
    ".txt": load_text, ".text": load_text, ".log": load_text, ".csv": load_table, ".tsv": load_table,
    ".md": load_markdown, ".markdown": load_markdown, ".mdx": load_markdown,
    ".rst": load_rst,
    ".html": load_html, ".htm": load_html, ".xhtml": load_html,
    ".pdf": load_pdf,
    ".docx": load_docx,
    **{suffix: load_xlsx for suffix in SHEETS},
    ".json": load_json,
    ".jsonl": load_jsonl, ".ndjson": load_jsonl,
    **{suffix: load_code for suffix in _CODE_SUFFIXES},
}


# Which reading of its format a document was indexed with: a change to a loader that gives a format's files other text
# or other blocks takes the next number here, and `index add` and `sync` read the documents indexed with an earlier one
# again, changed or not (writer.ingest), so that a fix reaches the indexes people already have. A format not named is at
# its first reading.
READINGS = {
    "html": 2,  # 2: a table named "menu" is the page's content, not its navigation (html_loader)
}


def reading(format: str) -> int:
    """The number of the reading this version gives files of ``format`` (Document.format)."""
    return READINGS.get(format, 1)


def loader_for(path: Path) -> Loader | None:
    suffix = path.suffix.lower()
    if suffix in LOADERS:
        return LOADERS[suffix]
    if not suffix and path.name.lower() in _TEXT_NAMES:
        return load_text
    return None


# What a damaged or misnamed file of these types is, in a person's words (the libraries raise
# KeyError, BadZipFile, PdfStreamError and the like).
_DAMAGED = {
    load_pdf: "not a readable PDF: it is damaged or not a PDF",
    load_docx: "not a readable Word file: it is damaged or not a .docx",
    load_xlsx: "not a readable Excel file: it is damaged or not a .xlsx",
}


def load_document(path: Path, data: bytes | None = None) -> Document:
    """Read a supported file; Skipped for files the knowledge base does not read, Unreadable for a
    damaged one."""
    loader = loader_for(path)
    if loader is None:
        raise Skipped(f"unsupported file type {path.suffix.lower() or '(no extension)'}")
    if data is None:
        data = path.read_bytes()
    if not data.strip():
        raise Skipped("empty file")
    try:
        document = loader(path, data)
    except json.JSONDecodeError as error:
        raise Unreadable(f"not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})") from error
    except (Skipped, Unreadable):
        raise
    except Exception as error:
        if loader not in _DAMAGED:
            raise
        raise Unreadable(_DAMAGED[loader]) from error
    if not any(block.text.strip() and block.kind != HEADING for block in document.blocks):
        raise Skipped("no text found")
    return document
