"""The knowledge base screen: the indexed documents, adding a file or folder, removing one."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.suggester import Suggester
from textual.widgets import Button, DataTable, Footer, Input, Label, ProgressBar

from ..errors import AssistantError
from ..humanize import human_size
from .dialogs import ConfirmDialog
from .events import DocumentsChanged
from .threads import on_ui_thread
from .widgets import plural, short_path

if TYPE_CHECKING:
    from ..conversation.documents import DocumentInfo, Documents, IngestReport
    from ..runtime import Runtime

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


class KnowledgeScreen(Screen):
    BINDINGS = [
        Binding("escape,ctrl+g", "app.pop_screen", "Back to chat"),
        Binding("delete", "remove", "Remove document"),
        Binding("ctrl+r", "reload", "Reload"),
    ]

    def __init__(self, runtime: Runtime) -> None:
        super().__init__()
        self.runtime = runtime

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

    def _documents(self) -> Documents:
        documents = self.runtime.documents  # the knowledge base alone: the model need not be loaded
        if documents is None:
            raise AssistantError("This setup has no knowledge base.")
        return documents

    @work(thread=True, group="kb-read", exclusive=True, exit_on_error=False)
    def action_reload(self) -> None:
        try:
            known = self._documents()
            documents, stats = known.documents(), known.stats()
        except AssistantError as error:
            on_ui_thread(self.app, self._failed, str(error))
            return
        except Exception:
            log.exception("cannot list the knowledge base")
            on_ui_thread(self.app, self._failed, "Cannot read the knowledge base; the details are in the log.")
            return
        on_ui_thread(self.app, self._show, documents, stats)

    def _show(self, documents: list[DocumentInfo], stats: dict[str, Any]) -> None:
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
            report = self._documents().add([path], progress=lambda done, total: on_ui_thread(
                self.app, self._progress, done, total))
        except AssistantError as error:
            on_ui_thread(self.app, self._added, None, str(error))
            return
        except Exception:
            log.exception("adding %s to the knowledge base failed", path)
            on_ui_thread(self.app, self._added, None, "Adding failed; the details are in the log.")
            return
        on_ui_thread(self.app, self._added, report, "")

    def _progress(self, done: int, total: int) -> None:
        self.query_one(ProgressBar).update(total=max(total, 1), progress=done)
        self.query_one("#progress-label", Label).update(f"{done}/{total} files")

    def _added(self, report: IngestReport | None, error: str) -> None:
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
        self.post_message(DocumentsChanged())

    # --- removing ---------------------------------------------------------------------------

    def action_remove(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            self.notify("The knowledge base is empty.", severity="warning")
            return
        path = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if path is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._remove(path)

        self.app.push_screen(ConfirmDialog(f"Remove {short_path(path)} from the knowledge base?", "Remove"), answered)

    @work(thread=True, group="kb-write", exit_on_error=False)
    def _remove(self, path: str) -> None:
        try:
            removed = self._documents().remove([path])
        except AssistantError as error:
            on_ui_thread(self.app, self.notify, str(error), severity="error")
            return
        except Exception:
            log.exception("removing %s from the knowledge base failed", path)
            on_ui_thread(self.app, self.notify, "Removing failed; the details are in the log.", severity="error")
            return
        on_ui_thread(self.app, self.notify, f"Removed {short_path(path)} ({plural(removed, 'document')}).")
        on_ui_thread(self.app, self.action_reload)
        self.post_message(DocumentsChanged())

    def system_commands(self) -> Iterable[SystemCommand]:
        """The command palette's entries on this screen."""
        yield SystemCommand("Back to chat", "Leave the knowledge base (Esc)", self.app.pop_screen)
        yield SystemCommand("Remove document", "Remove the selected document (Delete)", self.action_remove)
        yield SystemCommand("Reload documents", "Read the document list again (ctrl+r)", self.action_reload)
