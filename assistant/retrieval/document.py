"""A file read as blocks of text: what every loader returns, and text decoded from bytes in any encoding."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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
