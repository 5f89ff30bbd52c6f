"""``WorkbenchApp``: the shell (areas, help, palette, workspace loading, change polling).

The first paint must come within a second, and ``workbench.api`` pulls Polars, DuckDB and
pydantic-settings (~0.8 s). So this module imports only Textual and the light
``workbench.locate``/``errors``; the workspace opens in a thread worker after the first paint,
and screens show a loading indicator until ``workspace_ready`` is published.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.signal import Signal
from textual.worker import Worker, WorkerState

from ..errors import WorkbenchError
from .areas import AREA_COMMANDS, AREAS, screen_factory
from .messages import WorkspaceFailed, WorkspaceOpened
from .palette import command_provider

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel

    from ..api import Workspace

__all__ = ["WorkbenchApp", "run_app", "FIRST_PAINT_ENV", "EXIT_WHEN_READY_ENV"]

FIRST_PAINT_ENV = "WORKBENCH_TUI_TIMING"
"""When set to a file path, the app appends ``paint <epoch>`` and ``ready <epoch>`` lines."""
EXIT_WHEN_READY_ENV = "WORKBENCH_TUI_EXIT_WHEN_READY"
"""When set, the app exits as soon as the workspace is loaded (for the start-up benchmark)."""

_AREAS_GROUP = Binding.Group("Areas", compact=True)


class WorkbenchApp(App[None]):
    """The workbench terminal UI over one workspace."""

    TITLE = "workbench"
    CSS_PATH = "app.tcss"
    MODES = {area.mode: screen_factory(area) for area in AREAS}
    DEFAULT_MODE = "data"
    COMMANDS = App.COMMANDS | {command_provider(AREA_COMMANDS)}
    BINDINGS = [
        *(
            Binding(
                area.key,
                f"switch_area('{area.mode}')",
                area.title,
                id=f"area.{area.mode}",
                tooltip=f"Go to the {area.title} area",
                group=_AREAS_GROUP,
            )
            for area in AREAS
        ),
        Binding("question_mark", "help", "Help", id="app.help", key_display="?",
                tooltip="Help for this screen and the focused widget"),
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Quit the workbench"),
    ]  # fmt: skip

    def __init__(
        self, root: Path, poll_interval: float | None = None, actor: str | None = None
    ) -> None:
        super().__init__()
        self.actor = actor
        """The name to act under (``workbench --as NAME``); None: the OS account's."""
        self.root = Path(root)
        self.workspace: Workspace | None = None
        """Set once the workspace has loaded (screens wait for ``workspace_ready``)."""
        self.change_token: int = 0
        """The workspace's change token as last seen by the poll."""
        self.workspace_ready: Signal[Workspace] = Signal(self, "workspace_ready")
        self.workspace_changed: Signal[int] = Signal(self, "workspace_changed")
        self._poll_interval = poll_interval
        self._timing_file = os.environ.get(FIRST_PAINT_ENV)
        self.sub_title = self.root.name

    # -- start-up ----------------------------------------------------------------------------

    def on_mount(self) -> None:
        # Paint first; load the heavy libraries only after the first frame is out.
        self.call_after_refresh(self._after_first_paint)

    def _after_first_paint(self) -> None:
        self._record_timing("paint")
        self.open_workspace()

    def _record_timing(self, event: str) -> None:
        if self._timing_file:
            with open(self._timing_file, "a", encoding="utf-8") as fh:
                fh.write(f"{event} {time.time():.6f}\n")

    @work(thread=True, exclusive=True, exit_on_error=False, group="workspace",
          description="opening the workspace")  # fmt: skip
    def open_workspace(self) -> None:
        """Import the core and open the workspace off the UI thread."""
        try:
            from ..api import Workspace

            ws = Workspace.open(self.root, actor=self.actor)
            token = ws.change_token()
            # Warm the table widget's import (pyarrow) here rather than on the UI thread.
            import textual_fastdatatable.data_table  # noqa: F401
        except WorkbenchError as exc:
            self.post_message(WorkspaceFailed(str(exc)))
            return
        self.post_message(WorkspaceOpened(ws, token))

    @on(WorkspaceOpened)
    def _workspace_opened(self, event: WorkspaceOpened) -> None:
        self.workspace = event.workspace
        self.change_token = event.token
        interval = self._poll_interval or event.workspace.settings.poll_interval
        self.set_interval(interval, self._poll_changes, name="poll-changes")
        self.workspace_ready.publish(event.workspace)
        self._record_timing("ready")
        if os.environ.get(EXIT_WHEN_READY_ENV):
            self.exit()

    @on(WorkspaceFailed)
    def _workspace_failed(self, event: WorkspaceFailed) -> None:
        self.notify(event.error, title="Cannot open the workspace", severity="error", timeout=30)

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        # Workers catch WorkbenchError themselves; anything reaching here is a bug, but the
        # app keeps running and says so.
        error = event.worker.error
        if event.state == WorkerState.ERROR and error is not None:
            self.show_error(error, title=f"Failed: {event.worker.description or event.worker.name}")

    def _poll_changes(self) -> None:
        """Notice writes by any process (one stat) and tell the screens."""
        if self.workspace is None:
            return
        token = self.workspace.change_token()
        if token != self.change_token:
            self.change_token = token
            self.workspace_changed.publish(token)

    # -- actions -----------------------------------------------------------------------------

    def action_switch_area(self, mode: str) -> None:
        """Show an area (each keeps its own screen stack)."""
        self.switch_mode(mode)

    def action_help(self) -> None:
        """Help for the current screen and focused widget, with the active keys."""
        from .screens.help import HelpScreen

        self.push_screen(HelpScreen.for_screen(self.screen))

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Notifications show their text as written, never as markup.

        Messages carry file names, filters and settings such as ``[roles]`` or ``[registry]``,
        which Textual's markup took for style tags and dropped ("an admin can set  bob = ...").
        Screens' ``notify`` passes ``markup=True`` explicitly, so it is ignored here; no
        workbench notification styles its text.
        """
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def show_error(self, error: BaseException, title: str = "Error") -> None:
        """Show a core error as a notification (the app keeps running)."""
        self.notify(str(error), title=title, severity="error", timeout=10)


def run_app(root: Path, actor: str | None = None) -> None:
    """Open the terminal UI on the workspace at ``root`` (acting as ``actor``, if given)."""
    WorkbenchApp(root, actor=actor).run()
