"""Read an HTML page into blocks: its content in reading order, without scripts, styling, navigation and
other page furniture; its tables as labelled rows (tables)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from .document import HEADING, LINES, PROSE, Block, Document, decode_text
from .tables import html_rows, is_layout

if TYPE_CHECKING:
    from bs4 import Tag

# Never visible text: code, styling, embedded media, forms and page furniture around the content.
_INVISIBLE = ["script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "head",
              "nav", "footer", "aside", "form", "button", "select", "dialog", "menu"]
_BOILERPLATE_ROLES = {"navigation", "banner", "contentinfo", "search", "complementary", "menu", "menubar"}
_BOILERPLATE_NAMES = re.compile(r"(^|[-_ ])(nav|navbar|menu|sidebar|breadcrumbs?|cookie|footer|skip-link|toc)([-_ ]|$)", re.I)
# A table is content whatever its class says, and a "menu" is a site's only when it is mostly links: a café's or a
# restaurant's ("<table class="menu">" of drinks and prices, "<div class="food-menu">") is what the page is about.
_TABLE_TAGS = {"table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption"}
# A table laid out with headings or tables in its cells is a page's layout: each cell is read as a block of its own.
_BLOCK_TAGS = {"p", "div", "section", "article", "main", "header", "li", "ul", "ol", "dl", "dt", "dd", "blockquote",
               "figure", "figcaption", "details", "summary", "address", "hr", "body", "html", "table", "tr", "td", "th"}


def fragment_text(fragment: str) -> str:
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
    if (tag.get("hidden") is not None or _attribute(tag, "aria-hidden") == "true"
            or _attribute(tag, "role").lower() in _BOILERPLATE_ROLES):
        return True
    named = {match[2].lower() for match in _BOILERPLATE_NAMES.finditer(_attribute(tag, "class") + " " + _attribute(tag, "id"))}
    if not named or tag.name in _TABLE_TAGS:
        return False
    return named != {"menu"} or _mostly_links(tag)


def _mostly_links(tag: Tag) -> bool:
    """Whether at least half of the tag's text is the text of links, as in a site's menu."""
    text = len("".join(tag.get_text().split()))
    linked = sum(len("".join(link.get_text().split())) for link in tag.find_all("a"))
    return linked * 2 >= text


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
