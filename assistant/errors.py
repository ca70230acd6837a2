"""The assistant's own exception types.

Every error a person can cause or fix is one of these, with a message that names the fix.
Front-ends show ``str(error)`` as one line; the traceback goes to the log only.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base class: a problem a user can act on. ``exit_code`` is what the CLI returns."""

    exit_code = 1


class UsageError(AssistantError):
    """Bad input from the person: an empty prompt, a missing argument."""

    exit_code = 2


class ConfigError(AssistantError):
    """A configuration file or value that cannot be used."""

    exit_code = 2


class ModelError(AssistantError):
    """A model that cannot be found or loaded."""

    exit_code = 3


class ModelTooLargeError(ModelError):
    """The model would not fit in the memory this machine has free."""


class AdapterError(AssistantError):
    """A LoRA adapter that is missing, corrupt, or made for another base model."""

    exit_code = 4


class KnowledgeBaseError(AssistantError):
    """The knowledge base index cannot be read or written."""

    exit_code = 5


class HistoryError(AssistantError):
    """The conversation history store cannot be read or written."""

    exit_code = 6


class Cancelled(AssistantError):
    """The person cancelled a generation in progress."""

    exit_code = 130


def first_line(text: object, limit: int = 300) -> str:
    """The first line of a message from a library or a server, cut to ``limit`` characters, for a one-line error."""
    line = str(text).strip().splitlines()[0] if str(text).strip() else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."
