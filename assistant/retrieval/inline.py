"""Markdown's inline markup as the text a reader sees: "**Save**" is "Save", "[the portal](https://x.example)"
is "the portal (https://x.example)"; a `code span` keeps its backticks, which mark a literal to type.

Passages are read by a small model and quoted to people: asterisks and link syntax are noise to both (the
reader copies "email.**" into an answer), and a link's address may be the answer ("Where do I book?").
Each line is rendered apart, so a block keeps its lines, list markers and table pipes as written.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token


@cache
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark")


def plain_lines(text: str) -> str:
    """``text`` with the inline markup of each line rendered, its indentation kept."""
    return "\n".join(_plain_line(line) for line in text.split("\n"))


def _plain_line(line: str) -> str:
    content = line.lstrip()
    if not content:
        return line
    tokens = _parser().parseInline(content)
    return line[: len(line) - len(content)] + _rendered((tokens[0].children or []) if tokens else [])


def _rendered(tokens: list[Token]) -> str:
    out: list[str] = []
    links: list[tuple[str, int]] = []  # (address, where its text starts in `out`) of the links open
    for token in tokens:
        if token.type == "text":
            out.append(token.content)
        elif token.type == "code_inline":  # a literal to type: its backticks say where it starts and ends
            out.append(f"{token.markup}{token.content}{token.markup}")
        elif token.type in ("softbreak", "hardbreak"):
            out.append(" ")
        elif token.type == "image":
            out.append(token.content)  # its alt text
        elif token.type == "link_open":
            links.append((str(token.attrs.get("href", "")), len(out)))
        elif token.type == "link_close" and links:
            address, start = links.pop()
            shown = "".join(out[start:])
            target = address.removeprefix("mailto:")
            if ":" in address and target not in shown:  # an address people can follow, not already the text
                out.append(f" ({target})")
        # emphasis, strong and inline HTML tags add no words
    return "".join(out)
