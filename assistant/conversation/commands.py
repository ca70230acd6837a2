"""Slash commands, parsed once: every front-end and the manager read a message with ``parse``."""

from __future__ import annotations

import re
from dataclasses import dataclass

# /name, optionally /name@bot (how Telegram groups address one bot among several), then the text.
COMMAND = re.compile(r"^/(\w+)(?:@(\w+))?(?=\s|$)(.*)$", re.S)

# The commands a person can send to any front-end, with one line each for menus and hints.
COMMAND_HELP = {
    "ask": "Answer a question from your documents, with sources.",
    "translate": "Translate text: /translate [to] <language> <text>.",
    "summarize": "Summarize text, a document, or the message you reply to.",
    "sources": "Show the sources of the last answer.",
    "reset": "Forget this conversation.",
    "help": "What I can do.",
}


@dataclass(frozen=True)
class Request:
    """One message: a command (lower case, "" for free text), its text, and for commands sent as
    options rather than typed (``assistant translate --to fr``) the target language or summary style."""

    command: str
    text: str
    bot: str = ""  # the bot a /command@bot names; "" when none is named
    target: str = ""  # /translate: the language, when given apart from the text
    style: str = ""  # /summarize: short, bullets or detailed, when given apart from the text
    attachment_name: str = ""  # /summarize: what the attached text is (a file's name); "" for a message replied to

    @property
    def message(self) -> str:
        """The message as a person would type it, for the history and the logs."""
        if not self.command:
            return self.text
        words = [f"/{self.command}", self.target if self.command == "translate" else self.style, self.text]
        return " ".join(word for word in words if word)


def parse(message: str) -> Request:
    match = COMMAND.match(message.strip())
    if not match:
        return Request("", message.strip())
    return Request(match.group(1).lower(), match.group(3).strip(), bot=match.group(2) or "")
