"""The Experiments screen: the runs table (filter, sort, marks), the launch form and training.

Workers (``workers.ExperimentsWorkers``, training included) call the Workspace in a thread and
post messages; the handlers below own the screen's state (filter and sort in force, marked
runs, the highlighted run, the training's cancel token).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Static

from ....progress import CancelToken
from ...palette import command_provider
from ...widgets.loading import Spinner
from ...widgets.run_progress import TrainingPanel, fmt_duration
from ..base import AreaScreen
from .commands import EXPERIMENT_COMMANDS
from .messages import (
    LaunchReady,
    RunDetailLoaded,
    RunsLoaded,
    RunsRejected,
    TrainingEnded,
    TrainingIterations,
    TrainingPhase,
)
from .workers import ExperimentsWorkers

if TYPE_CHECKING:
    from ....api import RunRecord
    from ...widgets.run_table import RunRows, RunTable
    from ..train_form import TrainRequest

__all__ = ["ExperimentsScreen", "DEFAULT_SORT"]

DEFAULT_SORT = "-id"


class ExperimentsScreen(ExperimentsWorkers, AreaScreen):
    """Training runs: list, filter, sort, mark for compare, launch, follow and cancel."""

    AREA_TITLE = "Experiments"
    CSS_PATH = "experiments.tcss"
    AUTO_FOCUS = ".runs-table"  # never the filter: it would swallow the area keys (1-7)
    COMMANDS = {command_provider(EXPERIMENT_COMMANDS)}
    HELP = """\
## Experiments

Every training run in the workspace, newest first: status, snapshot, target, task, the main
holdout metrics, key parameters, best iteration, duration, creation time and note.

- **n** opens the launch form (snapshot, target, task, parameters with their defaults).
  The training runs in the background with a live iteration bar, the latest validation
  metric, elapsed time and ETA and a growing learning curve; **x** cancels it (the run is
  recorded as cancelled). A failed training shows its reason and the run is listed as failed.
- **/** focuses the filter. It uses the same language as `workbench runs list --where`:
  `auc > 0.8 and num_leaves = 31`, `status = failed or status = cancelled`,
  `snapshot = churn@v1 and not tag.owner = 'ana'`. **enter** applies it, an empty filter
  shows all runs, **escape** returns to the table.
- **s** sorts by the next column and **S** reverses the order (or click a column header).
- **space** marks runs; **c** opens Compare with the marked runs (two or more).
- **p** shows or hides the training panel; **r** reloads. Runs added by other processes
  (`workbench train` in another terminal) appear by themselves.
"""
    BINDINGS = [
        Binding("n", "train", "Train", id="experiments.train",
                tooltip="Open the launch form to train a model on a snapshot"),
        Binding("x", "cancel_training", "Cancel training", id="experiments.cancel",
                tooltip="Stop the running training; the run is recorded as cancelled"),
        Binding("space", "toggle_mark", "Mark", id="experiments.mark",
                tooltip="Mark or unmark the highlighted run for a comparison"),
        Binding("c", "compare", "Compare", id="experiments.compare",
                tooltip="Compare the marked runs (two or more) in the Compare area"),
        Binding("slash", "focus_filter", "Filter", id="experiments.filter", key_display="/",
                tooltip="Filter runs: auc > 0.8 and num_leaves = 31"),
        Binding("s", "next_sort", "Sort", id="experiments.sort",
                tooltip="Sort by the next column"),
        Binding("S", "reverse_sort", "Reverse", id="experiments.reverse", show=False,
                tooltip="Reverse the sort order"),
        Binding("p", "toggle_panel", "Progress", id="experiments.panel", show=False,
                tooltip="Show or hide the training panel"),
        Binding("r", "refresh", "Refresh", id="experiments.refresh", show=False,
                tooltip="Reload the runs table"),
        Binding("u", "clear_marks", "Clear marks", id="experiments.clear-marks", show=False,
                tooltip="Unmark all runs"),
        Binding("escape", "focus_table", "Table", id="experiments.table", show=False,
                tooltip="Leave the filter and go back to the table"),
    ]  # fmt: skip

    def __init__(self) -> None:
        super().__init__()
        self.rows: RunRows | None = None
        self._table: RunTable | None = None
        self.loaded_token: int | None = None
        self.where = ""
        """The filter in force (the last one that parsed)."""
        self.sort = DEFAULT_SORT
        """The sort in force: one field, ``-`` for descending."""
        self.highlighted_id: int | None = None
        self._preloading = False  # LightGBM and MLflow are loaded once the form first opens
        self._reasons: dict[int, str | None] = {}
        """Why each ended run failed or was cancelled, once loaded."""
        self.marked: list[int] = []
        """Marked run ids, in marking order (the first is the comparison's baseline)."""
        self.cancel_token: CancelToken | None = None
        """Set while a training runs."""
        self.filter_error: str | None = None

    def compose_body(self) -> ComposeResult:
        yield Input(placeholder="filter: auc > 0.8 and num_leaves = 31   (/ to type, enter applies)",
                    id="runs-filter")  # fmt: skip
        with Vertical(id="runs-pane", classes="pane") as pane:
            pane.border_title = "Runs"
            yield Spinner("Loading the workspace…", id="runs-loading")
        yield Static("", id="runs-status")
        yield Static("", id="run-detail")
        panel = TrainingPanel(id="training-panel")
        panel.border_title = "Training"
        panel.display = False
        yield panel

    def on_mount(self) -> None:
        super().on_mount()
        self.follow_workspace()
        self._show_status()

    def on_unmount(self) -> None:
        # Quitting the app while a training runs: stop it so it is recorded as cancelled.
        if self.cancel_token is not None:
            self.cancel_token.cancel()

    @property
    def table(self) -> RunTable | None:
        """The runs table in place (during a reload, the new one is mounted beside it)."""
        return self._table

    @property
    def training(self) -> bool:
        """A training is running."""
        return self.cancel_token is not None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_training":
            return self.training
        return True

    # -- starting workers (they are in ``workers.ExperimentsWorkers``) -----------------------

    def reload(self) -> None:
        """Reload the table with the filter and sort in force."""
        self.refresh_runs()

    def refresh_runs(self, where: str | None = None, sort: str | None = None) -> None:
        """Reload the table with a filter and sort (default: the ones in force)."""
        if self.workspace is not None:
            where = self.where if where is None else where
            sort = self.sort if sort is None else sort
            self.load_runs(
                self.workspace, self.workbench.change_token, where, sort, set(self.marked)
            )

    # -- handlers: table ---------------------------------------------------------------------

    @on(RunsLoaded)
    async def _runs_loaded(self, event: RunsLoaded) -> None:
        from ...widgets.run_table import RunTable

        # Mount the new table beside the old one (the pane never flickers empty), then swap
        # them with no await in between: while it mounts, the old table keeps its rows and
        # the focus; after, the new one has both, so focus never passes through the filter,
        # where a key typed during a reload would land.
        rows = event.rows
        table = RunTable(rows, classes="runs-table")
        pane = self.query_one("#runs-pane")
        await pane.mount(table)
        old, self._table = self._table, table
        # `self.focused`, not `old.has_focus`: under a modal (the launch form closing, help)
        # the table has no focus but is still the screen's focused widget to return to.
        # `set_focus` at once: `table.focus()` waits for the app's next turn, and removing the
        # focused old table before then hands the focus to the filter.
        if old is None or self.focused in (None, old):
            self.set_focus(table)
        self.rows, self.loaded_token = rows, event.token
        self.where, self.sort = event.where, event.sort
        self.filter_error = None
        known = set(rows.ids)
        self.marked = [i for i in self.marked if i in known or self.where]
        await pane.remove_children([w for w in pane.children if w is not table])
        pane.border_title = f"Runs ({len(rows.ids):,})"
        pane.border_subtitle = f"sort {self.sort}" + (
            f" · where {self.where}" if self.where else ""
        )
        if self._select_on_load is not None:
            self.highlighted_id, self._select_on_load = self._select_on_load, None
        row = rows.row_of(self.highlighted_id)
        if row is not None:
            table.move_cursor(row=row, animate=False)
            self._highlight(row)  # the row may be new under an unmoved cursor
        elif rows.ids:
            self._highlight(0)
        else:
            self.highlighted_id = None
            self._show_detail()
        self._show_status()

    @on(RunsRejected)
    def _runs_rejected(self, event: RunsRejected) -> None:
        self._select_on_load = None
        self.filter_error = event.error
        self._show_status()

    def on_data_table_row_highlighted(self, event) -> None:
        # textual-fastdatatable's RowHighlighted (its class is imported only after start-up).
        # A late event from a table a reload has just replaced carries a row index of the old
        # rows: it would highlight the wrong run, so only the table in place is listened to.
        # While a reload that must land on a chosen run is pending, an echo of an earlier
        # cursor move would overwrite that choice, so it waits for the reload.
        if event.data_table is self.table and self._select_on_load is None:
            self._highlight(event.cursor_row)

    def on_data_table_header_selected(self, event) -> None:
        """Clicking a column header sorts by it (again: reverses)."""
        if self.rows is None:
            return
        field = self.rows.fields[event.column_index]
        if field is not None:
            self._sort_by(field)

    def _highlight(self, row: int) -> None:
        if self.rows is None or not 0 <= row < len(self.rows.ids):
            return
        self.highlighted_id = self.rows.ids[row]
        self._show_detail()
        if (
            self.rows.statuses[row] in ("failed", "cancelled")
            and self.highlighted_id not in self._reasons
            and self.workspace is not None
        ):
            self.load_detail(self.workspace, self.highlighted_id)

    def _show_detail(self, run: RunRecord | None = None) -> None:
        detail = self.query_one("#run-detail", Static)
        if run is not None:
            self._reasons[run.id] = run.reason
        if self.highlighted_id is None or self.rows is None:
            detail.update("No runs yet. Press n to train a model." if not self.where else "")
            return
        reason = self._reasons.get(self.highlighted_id)
        row = self.rows.row_of(self.highlighted_id)
        status = self.rows.statuses[row] if row is not None else "?"
        text = Text(f"run {self.highlighted_id} ", style="bold")
        text.append(status)
        # Remembered per run: a table reload re-highlights the row and must not blank the
        # reason until the detail worker answers again.
        if reason:
            text.append(f": {reason}", style="italic")
        detail.update(text)

    @on(RunDetailLoaded)
    def _detail_loaded(self, event: RunDetailLoaded) -> None:
        if event.run.id == self.highlighted_id:
            self._show_detail(event.run)

    def _show_status(self) -> None:
        status = self.query_one("#runs-status", Static)
        if self.filter_error:
            status.update(Text(f"filter: {self.filter_error}", style="bold red"))
            status.set_class(True, "error")
            return
        status.set_class(False, "error")
        if not self.marked:
            status.update("space marks runs; mark two or more and press c to compare them")
        else:
            ids = ", ".join(str(i) for i in self.marked)
            more = "; c compares them" if len(self.marked) >= 2 else "; mark one more to compare"
            status.update(f"marked runs {ids}{more}")

    # -- handlers: launch and training -------------------------------------------------------

    @on(LaunchReady)
    def _launch_ready(self, event: LaunchReady) -> None:
        from ..train_form import TrainForm

        if not event.snapshots:
            self.notify("No snapshots yet: import data in the Data area first.", severity="warning")
            return
        self.app.push_screen(TrainForm(event.snapshots), self._form_closed)

    def _form_closed(self, request: TrainRequest | None) -> None:
        if request is not None:
            self.start_training(request)

    def start_training(self, request: TrainRequest) -> None:
        """Start a training in a worker and show its progress."""
        if self.workspace is None:
            return
        if self.training:
            self.notify("A training is running; press x to cancel it first.", severity="warning")
            return
        self.cancel_token = CancelToken()
        panel = self.query_one(TrainingPanel)
        panel.display = True
        panel.begin(
            f"training on {request.ref}" + (f" → {request.target}" if request.target else "")
        )
        self.refresh_bindings()
        self.run_training(self.workspace, request, self.cancel_token)

    @on(TrainingPhase)
    def _training_phase(self, event: TrainingPhase) -> None:
        self.query_one(TrainingPanel).phase_started(event.task, event.total)

    @on(TrainingIterations)
    def _training_iterations(self, event: TrainingIterations) -> None:
        self.query_one(TrainingPanel).iterations(event.iteration, event.valid)

    @on(TrainingEnded)
    def _training_ended(self, event: TrainingEnded) -> None:
        self.cancel_token = None
        self.refresh_bindings()
        panel = self.query_one(TrainingPanel)
        name = f"run {event.run_id}" if event.run_id is not None else "the run"
        if event.status == "finished" and event.run is not None:
            summary = _metric_summary(event.run)
            took = fmt_duration(event.run.duration_s)
            panel.end(f"finished {name} in {took}  {summary}")
            self.notify(f"{name} finished in {took}. {summary}", title="Training finished")
        elif event.status == "cancelled":
            panel.end(f"cancelled {name}")
            self.notify(f"{name} was cancelled.", title="Training cancelled")
        else:
            panel.end(f"{name} failed: {event.error}")
            self.notify(event.error or "unknown error", title="Training failed", severity="error",
                        timeout=15)  # fmt: skip
        if event.run_id is not None:
            self.highlighted_id = self._select_on_load = event.run_id
        if self.workspace is not None:
            self.workbench.change_token = self.workspace.change_token()
        self.refresh_runs()

    # -- actions -----------------------------------------------------------------------------

    def action_train(self) -> None:
        """Open the launch form."""
        if self.workspace is None:
            self.notify("The workspace is still loading.", severity="warning")
            return
        if self.training:
            self.notify("A training is running; press x to cancel it first.", severity="warning")
            return
        self.load_launch(self.workspace)
        if not self._preloading:
            self._preloading = True
            self.preload_training(self.workspace)

    def action_cancel_training(self) -> None:
        """Ask the running training to stop (it ends as cancelled at its next iteration)."""
        if self.cancel_token is None:
            return
        self.cancel_token.cancel()
        self.query_one(TrainingPanel).phase = "cancelling"

    def action_toggle_mark(self) -> None:
        """Mark or unmark the run under the cursor."""
        table, rows = self.table, self.rows
        # The table's cursor, not ``highlighted_id``: after fast keys (space, down, space) the
        # RowHighlighted messages may still be queued, and the mark would land on the last row.
        if table is None or rows is None or not 0 <= table.cursor_row < len(rows.ids):
            return
        row = table.cursor_row
        run_id = rows.ids[row]
        if run_id in self.marked:
            self.marked.remove(run_id)
            table.set_mark(row, False)
        else:
            self.marked.append(run_id)
            table.set_mark(row, True)
        self._show_status()

    def action_clear_marks(self) -> None:
        """Unmark every run."""
        table, rows = self.table, self.rows
        if table is not None and rows is not None:
            for run_id in self.marked:
                row = rows.row_of(run_id)
                if row is not None:
                    table.set_mark(row, False)
        self.marked = []
        self._show_status()

    async def action_compare(self) -> None:
        """Open the Compare area with the marked runs."""
        if len(self.marked) < 2:
            self.notify("Mark two or more runs with space first.", severity="warning")
            return
        from ..compare import CompareScreen

        ids = list(self.marked)
        await self.app.switch_mode("compare")
        for screen in self.app.screen_stack:
            if isinstance(screen, CompareScreen):
                screen.compare(ids)

    def action_focus_filter(self) -> None:
        """Focus the filter input."""
        self.query_one("#runs-filter", Input).focus()

    def action_focus_table(self) -> None:
        """Back to the table."""
        if self.table is not None:
            self.table.focus()

    @on(Input.Submitted, "#runs-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.refresh_runs(where=event.value.strip())
        self.action_focus_table()

    def _sort_by(self, field: str) -> None:
        current, descending = self.sort.lstrip("-"), self.sort.startswith("-")
        if field == current:
            self.refresh_runs(sort=field if descending else f"-{field}")
        else:
            self.refresh_runs(sort=f"-{field}")

    def action_next_sort(self) -> None:
        """Sort by the next column (descending first)."""
        if self.rows is None:
            return
        fields = [f for f in self.rows.fields if f is not None]
        current = self.sort.lstrip("-")
        nxt = fields[(fields.index(current) + 1) % len(fields)] if current in fields else fields[0]
        self.refresh_runs(sort=f"-{nxt}")

    def action_reverse_sort(self) -> None:
        """Flip the sort direction."""
        field = self.sort.lstrip("-")
        self.refresh_runs(sort=field if self.sort.startswith("-") else f"-{field}")

    def action_toggle_panel(self) -> None:
        """Show or hide the training panel."""
        panel = self.query_one(TrainingPanel)
        panel.display = not panel.display

    def action_refresh(self) -> None:
        """Reload the runs table now."""
        self.refresh_runs()


def _metric_summary(run: RunRecord) -> str:
    """The run's main metrics in one short line."""
    from ...widgets.run_table import MAIN_METRICS

    shown = [f"{m} {run.metrics[m]:.4f}" for m in MAIN_METRICS if m in run.metrics][:3]
    return "  ".join(shown)
