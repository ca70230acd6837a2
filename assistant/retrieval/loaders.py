"""Read one file into blocks of text in reading order, each with its heading path and page or lines.

A file that is not a document (an image, an archive, an unknown type) raises ``Skipped`` with the
reason; a file that is a document but cannot be read raises another exception, reported as failed.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .inline import plain_lines
from .tables import html_rows, is_layout, word_rows
from .text_tables import fixed_width_rows

if TYPE_CHECKING:
    from bs4 import Tag

PROSE = "prose"  # split by sentences
LINES = "lines"  # code, lists, tables, records: split by lines
HEADING = "heading"  # part of the reading text, carried by the chunks that follow as their heading path


class Skipped(Exception):
    """This file is not something the knowledge base reads; the message says why."""


class Unreadable(Exception):
    """A file of a type the knowledge base reads that cannot be read (damaged, or misnamed); the
    message says so in words a person understands, the original error is its ``__cause__``."""


@dataclass
class Block:
    text: str
    kind: str = PROSE
    headings: tuple[str, ...] = ()
    page: int | None = None
    line_start: int | None = None
    line_end: int | None = None


@dataclass
class Document:
    path: Path
    title: str
    format: str
    blocks: list[Block] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The whole document in reading order, headings included."""
        return "\n\n".join(block.text for block in self.blocks if block.text.strip())


def decode_text(data: bytes) -> str:
    """Text from bytes in whatever encoding they are in; binary content is Skipped."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16")
    elif b"\x00" in data[:8192]:
        raise Skipped("binary content")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = _mostly_utf8(data) or _legacy(data)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _legacy(data: bytes) -> str:
    """Text in a legacy code page, as charset-normalizer reads it."""
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    if not len(matches):
        raise Skipped("binary content or an unknown text encoding") from None
    # Short texts fit several code pages equally well; Windows-1252, the commonest legacy
    # encoding, wins such ties (charset-normalizer alone reads "crème" as cp1250 "crčme").
    lowest = min(match.chaos for match in matches)
    western = [m for m in matches if m.encoding in ("cp1252", "latin_1", "iso8859_15") and m.chaos <= lowest + 0.05]
    return str(western[0] if western else matches.best())


def _mostly_utf8(data: bytes) -> str | None:
    """The text as UTF-8 with its bad bytes replaced, when it is overwhelmingly UTF-8: at least as
    many valid multi-byte characters as invalid bytes. A legacy code page (Windows-1252 "crème")
    almost never forms a valid multi-byte UTF-8 sequence by chance, so its texts have none; a UTF-8
    file with one damaged byte has them all. None when it is not UTF-8."""
    text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
    invalid = text.count("\ufffd") - data.count("\ufffd".encode("utf-8"))
    valid = sum(1 for char in text if ord(char) > 127 and char != "\ufffd")
    return text if valid and valid >= invalid else None


# ---------------------------------------------------------------- plain text and source code


def _spans(text: str, first_line: int = 1) -> Iterator[tuple[str, int, int]]:
    """Blank-line separated paragraphs as (text, first line, last line), lines counted from ``first_line``."""
    lines = text.split("\n")
    start = None
    for number, line in enumerate(lines + [""]):
        if line.strip() and start is None:
            start = number
        elif not line.strip() and start is not None:
            yield "\n".join(lines[start:number]).strip("\n"), first_line + start, first_line + number - 1
            start = None


def _paragraphs(text: str, kind: str, first_line: int = 1, **where: Any) -> Iterator[Block]:
    """Blank-line separated paragraphs with their 1-based line spans; in prose, a table lined up with spaces is a
    block per row, its cells labelled with their headers (text_tables)."""
    for body, start, end in _spans(text, first_line):
        rows = fixed_width_rows(body) if kind == PROSE else None
        yield from [Block(body, kind, line_start=start, line_end=end, **where)] if rows is None else [
            Block(row, LINES, line_start=start + first, line_end=start + last, **where) for row, first, last in rows]


def load_text(path: Path, data: bytes) -> Document:
    return Document(path, path.stem, "text", list(_paragraphs(decode_text(data), PROSE)))


def load_code(path: Path, data: bytes) -> Document:
    return Document(path, path.name, "code", list(_paragraphs(decode_text(data), LINES)))


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
            body = _html_fragment_text(body)
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


# ---------------------------------------------------------------- HTML


# Never visible text: code, styling, embedded media, forms and page furniture around the content.
_INVISIBLE = ["script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "head",
              "nav", "footer", "aside", "form", "button", "select", "dialog", "menu"]
_BOILERPLATE_ROLES = {"navigation", "banner", "contentinfo", "search", "complementary", "menu", "menubar"}
_BOILERPLATE_NAMES = re.compile(r"(^|[-_ ])(nav|navbar|menu|sidebar|breadcrumbs?|cookie|footer|skip-link|toc)([-_ ]|$)", re.I)
# A table laid out with headings or tables in its cells is a page's layout: each cell is read as a block of its own.
_BLOCK_TAGS = {"p", "div", "section", "article", "main", "header", "li", "ul", "ol", "dl", "dt", "dd", "blockquote",
               "figure", "figcaption", "details", "summary", "address", "hr", "body", "html", "table", "tr", "td", "th"}


def _html_fragment_text(fragment: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(fragment, "html.parser")
    for tag in soup(_INVISIBLE):
        tag.decompose()
    return " ".join(soup.get_text(" ").split())


def _attribute(tag: Tag, name: str) -> str:
    """An attribute as one string (a multi-valued one such as class joined by spaces); "" when absent."""
    value = tag.get(name)
    return " ".join(value) if isinstance(value, list) else value or ""


def _is_boilerplate(tag: Tag) -> bool:
    return (tag.get("hidden") is not None or _attribute(tag, "aria-hidden") == "true"
            or _attribute(tag, "role").lower() in _BOILERPLATE_ROLES
            or bool(_BOILERPLATE_NAMES.search(_attribute(tag, "class") + " " + _attribute(tag, "id"))))


def load_html(path: Path, data: bytes) -> Document:
    from bs4 import BeautifulSoup, Comment, Declaration, Doctype, NavigableString, ProcessingInstruction, Tag

    soup = BeautifulSoup(decode_text(data), "html.parser")
    page_title = " ".join(soup.title.get_text(" ").split()) if soup.title else ""
    for tag in soup(_INVISIBLE):
        tag.decompose()
    for tag in [t for t in soup.find_all(True) if t.attrs is not None and _is_boilerplate(t)]:
        if not tag.decomposed:
            tag.decompose()
    root = soup.find("main") or soup.find("article") or soup.body or soup

    blocks: list[Block] = []
    stack: list[str] = []
    buffer: list[str] = []
    lines: list[int] = []

    def flush(kind: str = PROSE) -> None:
        text = " ".join("".join(buffer).split())
        if text:
            start = min(lines) if lines else None
            blocks.append(Block(text, kind, tuple(stack), line_start=start, line_end=max(lines) if lines else None))
        buffer.clear()
        lines.clear()

    def walk(node: Tag) -> None:
        nonlocal stack
        for child in node.children:
            if isinstance(child, (Comment, Declaration, Doctype, ProcessingInstruction)):
                continue
            if isinstance(child, NavigableString):
                buffer.append(str(child))
                continue
            if not isinstance(child, Tag):
                continue  # no other kind of node holds text
            name = child.name
            if child.sourceline is not None:
                lines.append(child.sourceline)
            if name in ("h1", "h2", "h3", "h4", "h5", "h6"):
                flush()
                heading = " ".join(child.get_text(" ").split())
                if heading:
                    level = int(name[1])
                    stack = stack[: level - 1] + [""] * max(0, level - 1 - len(stack)) + [heading]
                    stack = [h for h in stack if h]
                    blocks.append(Block(heading, HEADING, tuple(stack), line_start=child.sourceline, line_end=child.sourceline))
            elif name == "pre":
                flush()
                text = child.get_text().strip("\n")
                if text.strip():
                    start = child.sourceline
                    blocks.append(Block(text, LINES, tuple(stack), line_start=start,
                                        line_end=start + text.count("\n") if start else None))
            elif name == "br":
                buffer.append(" ")
            elif name == "table" and not is_layout(child):
                flush()
                blocks.extend(Block(row, LINES, tuple(stack), line_start=line, line_end=line) for row, line in html_rows(child))
            elif name in _BLOCK_TAGS:
                flush()
                walk(child)
                flush(LINES if name in ("li", "dt", "dd") else PROSE)
            else:
                walk(child)

    walk(root)
    flush()
    first_h1 = next((b.text for b in blocks if b.kind == HEADING and len(b.headings) == 1), "")
    return Document(path, page_title or first_h1 or path.stem, "html", blocks)


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
    ".txt": load_text, ".text": load_text, ".log": load_text, ".csv": load_code, ".tsv": load_code,
    ".md": load_markdown, ".markdown": load_markdown, ".mdx": load_markdown,
    ".rst": load_rst,
    ".html": load_html, ".htm": load_html, ".xhtml": load_html,
    ".pdf": load_pdf,
    ".docx": load_docx,
    ".json": load_json,
    ".jsonl": load_jsonl, ".ndjson": load_jsonl,
    **{suffix: load_code for suffix in _CODE_SUFFIXES},
}


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
