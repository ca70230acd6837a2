"""The terminal UI's own slash commands (about this window), beside the ones every front-end has."""

from __future__ import annotations

from ..conversation.commands import COMMAND_HELP

TUI_COMMANDS = {
    "new": "Start a new conversation: /new [title].",
    "rename": "Rename this conversation: /rename <title>.",
    "delete": "Delete this conversation (asks first).",
    "export": "Save this conversation as Markdown: /export [file or folder].",
    "copy": "Copy the last answer to the clipboard.",
    "docs": "Open the knowledge base: add or remove documents.",
    "theme": "Switch between the light and the dark theme.",
    "quit": "Leave the assistant.",
}
ALL_COMMANDS = {**COMMAND_HELP, **TUI_COMMANDS}

TUI_HELP = """

In this window:
/new [title] — start a new conversation (ctrl+n)
/rename <title> — rename this conversation
/delete — delete this conversation
/export [file] — save this conversation as Markdown
/copy — copy the last answer (ctrl+r)
/summarize with nothing after it — summarize the last answer
/docs — add or remove documents (ctrl+g)
/theme — light or dark (ctrl+t)

Enter sends; shift+Enter or ctrl+j adds a line; Tab completes a command; Esc stops an answer.
Click a source (or ctrl+o) to read the passage; ctrl+b shows the conversations; ctrl+p lists every action."""
