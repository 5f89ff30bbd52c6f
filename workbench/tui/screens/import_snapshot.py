"""The import form: a file becomes the next version of a snapshot, with progress and cancel."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, ProgressBar

from ...errors import Cancelled, WorkbenchError
from ...progress import CancelToken
from ..worker_progress import posting_progress

if TYPE_CHECKING:
    from ...api import AddResult, Workspace

__all__ = ["ImportScreen", "ImportRequest"]


@dataclass(frozen=True)
class ImportRequest:
    """What the form asks the workspace to import."""

    path: Path
    name: str
    target: str | None = None
    time_column: str | None = None
    key: str | None = None
    message: str | None = None


class PhaseStarted(Message):
    """The import began a phase (reading, writing)."""

    def __init__(self, task: str, total: float | None) -> None:
        super().__init__()
        self.task = task
        self.total = total


class Advanced(Message):
    """Work done in the current phase."""

    def __init__(self, amount: float) -> None:
        super().__init__()
        self.amount = amount


class ImportFinished(Message):
    """The import ended: with a result, cancelled, or with an error."""

    def __init__(self, result: AddResult | None = None, error: str | None = None) -> None:
        super().__init__()
        self.result = result
        self.error = error


def _optional(text: str) -> str | None:
    return text.strip() or None


class ImportScreen(ModalScreen["AddResult | None"]):
    """Import a CSV or Parquet file as a snapshot; escape cancels."""

    CSS_PATH = "import_snapshot.tcss"

    HELP = """\
## Import a file

Import a CSV or Parquet file as the next version of a named snapshot. A relative path is
taken from the workspace folder. Target, time column and key are optional column roles
(they carry over from the previous version when left empty). A file whose content equals an
existing version makes no new version.

**enter** imports, **escape** cancels (a running import stops and leaves nothing behind).
"""
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="import.cancel",
                tooltip="Cancel the import (or close the form)"),
    ]  # fmt: skip

    def __init__(self, workspace: Workspace, default_name: str = "") -> None:
        super().__init__()
        self.workspace = workspace
        self.default_name = default_name
        self.cancel_token: CancelToken | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="import-form") as form:
            form.border_title = "Import a file as a snapshot"
            yield Label("File (CSV or Parquet)")
            yield Input(placeholder="data/new_batch.csv", id="import-path")
            yield Label("Snapshot name")
            yield Input(self.default_name, placeholder="churn", id="import-name")
            with Horizontal(classes="import-roles"):
                with Vertical():
                    yield Label("Target (optional)")
                    yield Input(placeholder="column", id="import-target")
                with Vertical():
                    yield Label("Time column (optional)")
                    yield Input(placeholder="column", id="import-time")
                with Vertical():
                    yield Label("Key (optional)")
                    yield Input(placeholder="column", id="import-key")
            yield Label("Message (optional)")
            yield Input(placeholder="what is new in this version", id="import-message")
            with Horizontal(id="import-progress-row"):
                yield Label("", id="import-task")
                yield ProgressBar(show_eta=False, id="import-progress")
            with Horizontal(id="import-buttons"):
                yield Button("Import", variant="primary", id="import-run")
                yield Button("Cancel", id="import-cancel")

    def on_mount(self) -> None:
        self.query_one("#import-path", Input).focus()

    @property
    def running(self) -> bool:
        return self.cancel_token is not None

    def _request(self) -> ImportRequest | None:
        def value(widget_id: str) -> str | None:
            return _optional(self.query_one(f"#{widget_id}", Input).value)

        path, name = value("import-path"), value("import-name")
        if path is None or name is None:
            self.notify("Give a file and a snapshot name.", severity="warning")
            return None
        file = Path(path).expanduser()
        if not file.is_absolute():
            file = self.workspace.root / file
        return ImportRequest(
            file, name, value("import-target"), value("import-time"), value("import-key"),
            value("import-message"),
        )  # fmt: skip

    @on(Button.Pressed, "#import-run")
    @on(Input.Submitted)
    def _submit(self) -> None:
        if self.running:
            return
        request = self._request()
        if request is None:
            return
        self.cancel_token = CancelToken()
        self._set_running(True)
        self.run_import(request, self.cancel_token)

    @on(Button.Pressed, "#import-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def action_cancel(self) -> None:
        """Stop a running import, or close the form."""
        if self.cancel_token is not None:
            self.cancel_token.cancel()
            self.query_one("#import-task", Label).update("cancelling…")
        else:
            self.dismiss(None)

    def _set_running(self, running: bool) -> None:
        for widget in self.query(Input):
            widget.disabled = running
        self.query_one("#import-run", Button).disabled = running
        self.query_one("#import-progress-row").display = running
        if running:
            self.query_one("#import-task", Label).update("starting…")
            self.query_one("#import-cancel", Button).focus()

    @work(thread=True, exclusive=True, exit_on_error=False, group="import",
          description="importing a file")  # fmt: skip
    def run_import(self, request: ImportRequest, token: CancelToken) -> None:
        progress = posting_progress(self.post_message, PhaseStarted, Advanced, token)
        try:
            result = self.workspace.add_snapshot(
                request.path, request.name, target=request.target,
                time_column=request.time_column, key=request.key, message=request.message,
                progress=progress,
            )  # fmt: skip
        except Cancelled:
            self.post_message(ImportFinished())
        except WorkbenchError as exc:
            self.post_message(ImportFinished(error=str(exc)))
        except Exception as exc:  # a bug in the core must not take the UI down
            self.post_message(ImportFinished(error=f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(ImportFinished(result))

    @on(PhaseStarted)
    def _phase_started(self, event: PhaseStarted) -> None:
        self.query_one("#import-task", Label).update(event.task)
        self.query_one(ProgressBar).update(total=event.total, progress=0)

    @on(Advanced)
    def _advanced(self, event: Advanced) -> None:
        self.query_one(ProgressBar).advance(event.amount)

    @on(ImportFinished)
    def _finished(self, event: ImportFinished) -> None:
        token, self.cancel_token = self.cancel_token, None
        if event.error is not None:
            self._set_running(False)
            self.app.notify(event.error, title="Import failed", severity="error", timeout=10)
            return
        if event.result is None:
            cancelled = token is not None and token.cancelled
            self.app.notify("Import cancelled; nothing was added." if cancelled else "Import stopped.",
                            title="Import")  # fmt: skip
        self.dismiss(event.result)
