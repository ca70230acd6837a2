"""The knowledge base screen: the indexed documents, adding a file or folder, removing one."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.suggester import Suggester
from textual.widgets import Button, DataTable, Footer, Input, Label, ProgressBar

from ..errors import AssistantError
from .dialogs import ConfirmDialog
from .widgets import plural, short_path

if TYPE_CHECKING:
    from .app import AssistantApp

log = logging.getLogger(__name__)


class PathSuggester(Suggester):
    """Completes file and folder names as they are typed, like a shell's Tab."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if not value.strip():
            return None
        typed = Path(value).expanduser()
        folder, start = (typed, "") if value.endswith(("/", os.sep)) else (typed.parent, typed.name)
        hidden = start.startswith(".")  # dot files only when a dot is typed, as in a shell
        try:
            names = sorted(entry.name for entry in folder.iterdir()
                           if entry.name.startswith(start) and (hidden or not entry.name.startswith(".")))
        except OSError:
            return None
        if not names or names[0] == start:
            return None
        suffix = "/" if (folder / names[0]).is_dir() else ""
        return value + names[0][len(start):] + suffix


def human_size(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"


class KnowledgeScreen(Screen):
    BINDINGS = [
        Binding("escape,ctrl+g", "app.pop_screen", "Back to chat"),
        Binding("delete", "remove", "Remove document"),
        Binding("ctrl+r", "reload", "Reload"),
    ]

    @property
    def assistant(self) -> AssistantApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Label("Knowledge base", classes="screen-title")
        yield Label("Loading…", id="kb-stats")
        with Horizontal(id="add-row"):
            yield Input(placeholder="File or folder to add, e.g. docs/ or ~/notes/plan.pdf",
                        suggester=PathSuggester(), id="add-path")
            yield Button("Add", variant="primary", id="add")
        with Horizontal(id="progress-row"):
            yield ProgressBar(id="progress", show_eta=False)
            yield Label("", id="progress-label")
        yield DataTable(id="documents", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Document", "Title", "Chunks", "Size", "Indexed")
        self.query_one("#progress-row").display = False
        self.query_one("#add-path", Input).focus()
        self.action_reload()

    # --- reading ----------------------------------------------------------------------------

    def _knowledge(self):
        knowledge = self.assistant.runtime.manager.knowledge  # waits while the model loads
        if knowledge is None:
            raise AssistantError("This setup has no knowledge base.")
        return knowledge

    @work(thread=True, group="kb-read", exclusive=True, exit_on_error=False)
    def action_reload(self) -> None:
        try:
            knowledge = self._knowledge()
            documents, stats = knowledge.documents(), knowledge.stats()
        except AssistantError as error:
            self.assistant.from_worker(self._failed, str(error))
            return
        except Exception:
            log.exception("cannot list the knowledge base")
            self.assistant.from_worker(self._failed, "Cannot read the knowledge base; the details are in the log.")
            return
        self.assistant.from_worker(self._show, documents, stats)

    def _show(self, documents: list, stats: dict) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for doc in documents:
            indexed = time.strftime("%Y-%m-%d %H:%M", time.localtime(doc.indexed_at)) if doc.indexed_at else ""
            title = doc.title if len(doc.title) <= 40 else doc.title[:39] + "…"
            table.add_row(short_path(doc.path), title, doc.chunks, human_size(doc.size), indexed, key=doc.path)
        folder = stats.get("folder", "")
        summary = f"{plural(stats.get('documents', 0), 'document')}, {plural(stats.get('chunks', 0), 'chunk')}"
        if stats.get("embedder"):
            summary += f" · embedder {stats['embedder']}"
        self.query_one("#kb-stats", Label).update(f"{summary} · in {folder}" if folder else summary)

    def _failed(self, message: str) -> None:
        self.query_one("#kb-stats", Label).update(message)
        self.notify(message, severity="error")

    # --- adding -----------------------------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._start_add(event.value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "add":
            self._start_add(self.query_one("#add-path", Input).value)

    def _start_add(self, value: str) -> None:
        path = value.strip()
        if not path:
            self.notify("Type the path of a file or folder to add.", severity="warning")
            return
        if not Path(path).expanduser().exists():
            self.notify(f"No such file or folder: {path}", severity="error")
            return
        if self.query_one("#progress-row").display:
            self.notify("Already adding documents; wait for it to finish.", severity="warning")
            return
        self.query_one("#progress-row").display = True
        self.query_one(ProgressBar).update(total=None, progress=0)
        self.query_one("#progress-label", Label).update(f"Reading {path}…")
        self._add(str(Path(path).expanduser()))

    @work(thread=True, group="kb-write", exit_on_error=False)
    def _add(self, path: str) -> None:
        try:
            progress = lambda done, total: self.assistant.from_worker(self._progress, done, total)  # noqa: E731
            report = self._knowledge().add([path], progress=progress)
        except AssistantError as error:
            self.assistant.from_worker(self._added, None, str(error))
            return
        except Exception:
            log.exception("adding %s to the knowledge base failed", path)
            self.assistant.from_worker(self._added, None, "Adding failed; the details are in the log.")
            return
        self.assistant.from_worker(self._added, report, "")

    def _progress(self, done: int, total: int) -> None:
        self.query_one(ProgressBar).update(total=max(total, 1), progress=done)
        self.query_one("#progress-label", Label).update(f"{done}/{total} files")

    def _added(self, report, error: str) -> None:
        self.query_one("#progress-row").display = False
        if report is None:
            self.notify(error, title="Could not add", severity="error")
            return
        self.query_one("#add-path", Input).value = ""
        nothing = not report.changed and (report.skipped or report.failed)
        self.notify(report.summary(), title="Nothing added" if nothing else "Added",
                    severity="warning" if nothing else "information")
        for path, why in (report.failed + report.skipped)[:5]:
            self.notify(f"{short_path(path)}: {why}", severity="warning" if (path, why) in report.skipped else "error")
        self.action_reload()
        self.assistant.refresh_status()

    # --- removing ---------------------------------------------------------------------------

    def action_remove(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            self.notify("The knowledge base is empty.", severity="warning")
            return
        path = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

        def answered(yes: bool | None) -> None:
            if yes:
                self._remove(path)

        self.app.push_screen(ConfirmDialog(f"Remove {short_path(path)} from the knowledge base?", "Remove"), answered)

    @work(thread=True, group="kb-write", exit_on_error=False)
    def _remove(self, path: str) -> None:
        try:
            removed = self._knowledge().remove([path])
        except AssistantError as error:
            self.assistant.from_worker(self.notify, str(error), severity="error")
            return
        except Exception:
            log.exception("removing %s from the knowledge base failed", path)
            self.assistant.from_worker(self.notify, "Removing failed; the details are in the log.", severity="error")
            return
        self.assistant.from_worker(self.notify, f"Removed {short_path(path)} ({plural(removed, 'document')}).")
        self.assistant.from_worker(self.action_reload)
        self.assistant.from_worker(self.assistant.refresh_status)
