"""A conversation as a Markdown file, with each answer's sources listed under it."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path

from ..conversation.types import Turn


def conversation_markdown(title: str, conversation_id: str, turns: Sequence[Turn]) -> str:
    lines = [f"# {title or 'Conversation'}", "",
             f"*Exported from assistant on {time.strftime('%Y-%m-%d %H:%M')} · conversation {conversation_id}*", ""]
    for turn in turns:
        if turn.role == "user":
            lines += ["## You", "", turn.content.strip(), ""]
            continue
        lines += ["## Assistant", "", turn.content.strip(), ""]
        if turn.sources:
            lines += ["Sources:", ""]
            lines += [f"{i}. {passage.location}" for i, passage in enumerate(turn.sources, 1)]
            lines.append("")
    return "\n".join(lines)


def export_path(target: str, title: str, folder: Path) -> Path:
    """Where ``/export [target]`` writes: the file named, or a dated name inside a folder."""
    if target:
        path = Path(target).expanduser()
        if not path.is_absolute():
            path = folder / path
        if not path.is_dir():
            return path if path.suffix else path.with_suffix(".md")
        folder = path
    slug = re.sub(r"[^\w]+", "-", title.lower()).strip("-")[:40] or "conversation"
    return folder / f"{slug}-{time.strftime('%Y%m%d-%H%M%S')}.md"
