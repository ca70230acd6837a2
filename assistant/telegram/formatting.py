"""Markdown from the model -> Telegram-safe HTML, cut into messages of at most 4,096 characters.

Telegram's HTML knows only a few tags (b, i, s, u, code, pre, a, blockquote, tg-spoiler) and
rejects anything else, so the model's Markdown is parsed (markdown-it) and rebuilt from those:
headings become bold lines, lists get bullets, tables become preformatted text, and every piece
of text is escaped. Long replies are cut between blocks first, then between lines and sentences;
a cut never falls inside a tag or an entity, and tags open at a cut are closed and reopened, so a
code block too long for one message continues as a code block in the next.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

from ..conversation.manager import format_sources
from ..conversation.types import Passage
from ..text import sentence_spans

MESSAGE_LIMIT = 4096  # Telegram's limit, in UTF-16 code units
SAFE_SCHEMES = ("http://", "https://", "tg://", "mailto:")

_markdown = MarkdownIt("commonmark", {"html": False}).enable(["strikethrough", "table"])
_INLINE_TAGS = {"strong": "b", "em": "i", "s": "s"}


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def markdown_to_html(text: str) -> str:
    """Telegram HTML for Markdown text; never raises, whatever the model wrote."""
    return _blocks(SyntaxTreeNode(_markdown.parse(text)).children, in_quote=False).strip()


def html_to_text(markup: str) -> str:
    """The plain text a piece of Telegram HTML shows, for when Telegram rejects the markup."""
    return html.unescape(re.sub(r"<[^>]*>", "", markup))


def reply_html(text: str, sources: Sequence[Passage] = (), notice: str = "") -> str:
    """A whole reply: the answer, then its sources as a short list, then a one-line notice."""
    parts = [markdown_to_html(text)]
    if sources:
        parts.append("<b>Sources</b>\n" + escape(format_sources(sources)))
    if notice:
        parts.append(f"<i>{escape(notice)}</i>")
    return "\n\n".join(part for part in parts if part)


# --- rendering ----------------------------------------------------------------------------

def _blocks(nodes: Sequence[SyntaxTreeNode], in_quote: bool, separator: str = "\n\n") -> str:
    return separator.join(filter(None, (_block(node, in_quote) for node in nodes)))


def _block(node: SyntaxTreeNode, in_quote: bool) -> str:
    kind = node.type
    if kind == "paragraph":
        return _inline(node.children[0]) if node.children else ""
    if kind == "heading":
        return f"<b>{_inline(node.children[0])}</b>" if node.children else ""
    if kind in ("fence", "code_block"):
        code = escape(node.content.rstrip("\n"))
        language = (node.info or "").split(maxsplit=1)[0] if kind == "fence" and node.info else ""
        if language:
            return f'<pre><code class="language-{html.escape(language)}">{code}</code></pre>'
        return f"<pre>{code}</pre>"
    if kind in ("bullet_list", "ordered_list"):
        return _list(node, in_quote)
    if kind == "blockquote":
        inner = _blocks(node.children, in_quote=True, separator="\n")
        # Telegram cannot nest quotes: an inner one is shown as its text.
        return inner if in_quote else f"<blockquote>{inner}</blockquote>"
    if kind == "hr":
        return "——————"
    if kind == "table":
        return _table(node)
    if kind == "html_block":
        return escape(node.content.strip())
    return _blocks(node.children, in_quote) if node.children else escape(node.content)


def _list(node: SyntaxTreeNode, in_quote: bool) -> str:
    ordered = node.type == "ordered_list"
    start = int(node.attrs.get("start", 1)) if ordered else 1
    lines = []
    for number, item in enumerate(node.children, start):
        marker = f"{number}." if ordered else "•"
        body = _blocks(item.children, in_quote, separator="\n")
        indent = " " * (len(marker) + 1)
        lines.append(f"{marker} " + body.replace("\n", "\n" + indent))
    return "\n".join(lines)


def _table(node: SyntaxTreeNode) -> str:
    rows = [[html_to_text(_inline(cell.children[0])) if cell.children else "" for cell in row.children]
            for section in node.children for row in section.children]
    widths = [max(len(row[i]) if i < len(row) else 0 for row in rows) for i in range(max(map(len, rows), default=0))]
    lines = [" | ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    if len(lines) > 1:
        lines.insert(1, "-+-".join("-" * width for width in widths))
    return f"<pre>{escape(chr(10).join(lines))}</pre>"


def _inline(node: SyntaxTreeNode) -> str:
    out = []
    for child in node.children:
        kind = child.type
        if kind == "text":
            out.append(escape(child.content))
        elif kind in ("softbreak", "hardbreak"):
            out.append("\n")
        elif kind == "code_inline":
            out.append(f"<code>{escape(child.content)}</code>")
        elif kind in _INLINE_TAGS:
            tag = _INLINE_TAGS[kind]
            out.append(f"<{tag}>{_inline(child)}</{tag}>")
        elif kind == "link":
            out.append(_link(str(child.attrs.get("href", "")), _inline(child)))
        elif kind == "image":
            alt = _inline(child) or "image"
            out.append(_link(str(child.attrs.get("src", "")), alt))
        elif child.children:
            out.append(_inline(child))
        else:
            out.append(escape(child.content))
    return "".join(out)


def _link(href: str, label: str) -> str:
    # Telegram rejects relative or odd URLs in <a>, and the whole message with them.
    if href.lower().startswith(SAFE_SCHEMES) and len(href) > 8:
        return f'<a href="{html.escape(href, quote=True)}">{label}</a>'
    return label


# --- splitting ----------------------------------------------------------------------------

_TOKEN = re.compile(r"<(/?)([a-zA-Z][\w-]*)[^>]*>|&#?\w+;|[^<&]")
_EMPTY_PAIR = re.compile(r"<([a-zA-Z][\w-]*)[^>]*></\1>")

# How good a place to cut is: between blocks, between lines, after a sentence, between words, anywhere.
BLOCK, LINE, SENTENCE, WORD, ANYWHERE = 4, 3, 2, 1, 0


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class _Cut:
    quality: int
    head_end: int  # the head is markup[:head_end]
    tail_start: int  # the tail is markup[tail_start:]
    size: int  # the head's length with its closing tags, in UTF-16 units
    open_tags: tuple[tuple[str, str], ...]  # (name, opening tag) open at the cut


def split_html(markup: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Cut Telegram HTML into well-formed pieces of at most ``limit`` UTF-16 units each."""
    pieces: list[str] = []
    rest = markup.strip()
    while utf16_len(rest) > limit:
        head, rest = _cut_once(rest, limit)
        if head.strip():
            pieces.append(head)
    if rest.strip():
        pieces.append(rest)
    return pieces


def _closing(tags: Sequence[tuple[str, str]]) -> str:
    return "".join(f"</{name}>" for name, _ in reversed(tags))


def _cut_once(markup: str, limit: int) -> tuple[str, str]:
    cut = _best_cut(_cuts(markup, limit), limit)
    head = _drop_empty_pairs(markup[: cut.head_end] + _closing(cut.open_tags)).rstrip()
    tail = "".join(opening for _, opening in cut.open_tags) + markup[cut.tail_start:].lstrip("\n")
    return head, _drop_empty_pairs(tail)


def _cuts(markup: str, limit: int) -> list[_Cut]:
    """Every place the markup could be cut so that the head fits, best places marked as such."""
    cuts: list[_Cut] = []
    stack: list[tuple[str, str]] = []
    size = 0
    breaks = _sentence_breaks(markup)
    for match in _TOKEN.finditer(markup):
        token, start, end = match.group(0), match.start(), match.end()
        if size + utf16_len(_closing(stack)) > limit:
            break
        if match.group(2):  # a tag: never cut inside one
            name = match.group(2).lower()
            if match.group(1):
                while stack and stack.pop()[0] != name:
                    pass
            else:
                stack.append((name, token))
            size += utf16_len(token)
            continue
        fits = size + utf16_len(_closing(stack)) <= limit
        if fits and start > 0:
            quality = ANYWHERE
            tail_start = start
            if token == "\n":
                quality, tail_start = LINE, end
                if not stack and markup.startswith("\n", end):
                    quality = BLOCK
            elif token.isspace():
                quality, tail_start = (SENTENCE if start in breaks else WORD), end
            cuts.append(_Cut(quality, start, tail_start, size + utf16_len(_closing(stack)), tuple(stack)))
        size += utf16_len(token)
    return cuts


def _sentence_breaks(markup: str) -> set[int]:
    """The offsets in the markup of the white space between two sentences of the text it shows
    (text.sentence_spans: "Dr. Smith" is not a place to cut), tags and entities seen through."""
    shown: list[str] = []
    where: list[int] = []  # for each character shown, the offset of its token in the markup
    for match in _TOKEN.finditer(markup):
        if match.group(2):
            continue
        text = html.unescape(match.group(0))
        shown.append(text)
        where.extend([match.start()] * len(text))
    spans = sentence_spans("".join(shown))
    return {where[i] for (_, end), (start, _) in zip(spans, spans[1:]) for i in range(end, start)}


def _best_cut(cuts: list[_Cut], limit: int) -> _Cut:
    """The latest cut of the best quality that leaves a head of at least a third of the limit,
    so that a message is not cut down to a line just because a better boundary is near its start."""
    if not cuts:
        raise ValueError("cannot split: a single tag is longer than the message limit")
    chosen = max(cuts, key=lambda cut: (cut.quality, cut.head_end))
    for quality in (BLOCK, LINE, SENTENCE, WORD, ANYWHERE):
        good = [cut for cut in cuts if cut.quality >= quality and cut.size >= limit // 3]
        if good:
            chosen = max(good, key=lambda cut: cut.head_end)
            break
    # A code block is cut only when it cannot fit in a message of its own.
    if chosen.quality < BLOCK and any(name == "pre" for name, _ in chosen.open_tags):
        before = [cut for cut in cuts if cut.quality == BLOCK]
        if before:
            return max(before, key=lambda cut: cut.head_end)
    return chosen


def _drop_empty_pairs(markup: str) -> str:
    while True:
        shorter = _EMPTY_PAIR.sub("", markup)
        if shorter == markup:
            return markup
        markup = shorter
