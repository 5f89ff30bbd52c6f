"""The Experiments area: the runs table (filter, sort, marks), the launch form and live training.

Workers call the Workspace in a thread and post messages; the handlers below own the screen's
state (filter and sort in force, marked runs, the highlighted run, the training's cancel
token). Training runs in a thread worker too (LightGBM releases the GIL), reporting through
``CallbackProgress`` and ``on_iteration`` callbacks that post throttled messages, so keys keep
answering while it trains.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from ...errors import Cancelled, WorkbenchError
from ...progress import CallbackProgress, CancelToken
from ..widgets.loading import Spinner
from ..widgets.run_progress import TrainingPanel, fmt_duration
from .base import AreaScreen

if TYPE_CHECKING:
    from ...api import Workspace
    from ...experiments.runs import RunRecord
    from ..widgets.run_table import RunRows, RunTable
    from .train_form import SnapshotChoice, TrainRequest

__all__ = ["ExperimentsScreen", "EXPERIMENT_COMMANDS", "DEFAULT_SORT", "UPDATES_PER_SECOND"]

DEFAULT_SORT = "-id"
#: how often the training worker reports iterations to the UI at most
UPDATES_PER_SECOND = 5

EXPERIMENT_COMMANDS = (
    ("Train a model", "Open the launch form: snapshot, target, parameters", "train"),
    ("Cancel training", "Stop the running training (recorded as cancelled)", "cancel_training"),
    ("Compare marked runs", "Open Compare with the marked runs", "compare"),
    ("Mark run", "Mark or unmark the highlighted run for a comparison", "toggle_mark"),
    ("Clear run marks", "Unmark all runs", "clear_marks"),
    ("Filter runs", "Type a filter such as auc > 0.8 and num_leaves = 31", "focus_filter"),
    ("Sort runs by the next column", "Cycle the sort column", "next_sort"),
    ("Reverse the run order", "Flip the sort direction", "reverse_sort"),
    ("Refresh runs", "Reload the runs table from the workspace", "refresh"),
)
"""(title, help, action) of the Experiments screen's command-palette entries."""


@cache
def experiment_commands():
    """The Experiments screen's command provider (textual.command loads with the palette)."""
    from ..commands import ActionCommands

    class ExperimentCommands(ActionCommands):
        """Experiment actions for the command palette."""

        def commands(self) -> Iterable[tuple[str, str, str]]:
            return EXPERIMENT_COMMANDS

    return ExperimentCommands


# -- messages (posted by workers, handled on the UI thread) ---------------------------------


class RunsLoaded(Message):
    """The runs table was read with a filter and sort."""

    bubble = False  # for this screen only

    def __init__(self, rows: RunRows, token: int, where: str, sort: str) -> None:
        super().__init__()
        self.rows = rows
        self.token = token
        self.where = where
        self.sort = sort


class RunsRejected(Message):
    """The filter or sort could not be used (the parser's one-line reason)."""

    bubble = False  # for this screen only

    def __init__(self, error: str, where: str, sort: str) -> None:
        super().__init__()
        self.error = error
        self.where = where
        self.sort = sort


class RunDetailLoaded(Message):
    """One run's record (for the line under the table)."""

    bubble = False  # for this screen only

    def __init__(self, run: RunRecord) -> None:
        super().__init__()
        self.run = run


class LaunchReady(Message):
    """The snapshots the launch form offers were read."""

    bubble = False  # for this screen only

    def __init__(self, snapshots: list[SnapshotChoice]) -> None:
        super().__init__()
        self.snapshots = snapshots


class TrainingPhase(Message):
    """The training began a phase (loading, train, logging to MLflow)."""

    bubble = False  # for this screen only

    def __init__(self, task: str, total: float | None) -> None:
        super().__init__()
        self.task = task
        self.total = total


class TrainingIterations(Message):
    """Iterations done up to ``iteration``; ``valid`` holds the new validation values."""

    bubble = False  # for this screen only

    def __init__(self, iteration: int, valid: list[float]) -> None:
        super().__init__()
        self.iteration = iteration
        self.valid = valid


class TrainingEnded(Message):
    """The training ended: finished (``run``), cancelled or failed (``error``)."""

    bubble = False  # for this screen only

    def __init__(
        self,
        status: str,
        run: RunRecord | None = None,
        error: str | None = None,
        run_id: int | None = None,
    ) -> None:
        super().__init__()
        self.status = status
        self.run = run
        self.error = error
        self.run_id = run_id


class _IterationReporter:
    """``on_iteration`` for the worker thread: batches points, posts a few times a second."""

    def __init__(self, post, per_second: float = UPDATES_PER_SECOND) -> None:
        self._post = post
        self._interval = 1.0 / per_second
        self._last = 0.0
        self._iteration = 0
        self._pending: list[float] = []

    def __call__(self, iteration: int, train: float | None, valid: float | None) -> None:
        # Hand the GIL to the UI thread once per iteration. On small data an iteration is
        # mostly Python (callbacks, evaluation), and without this the UI thread waits up to
        # the 5 ms switch interval each time its event loop wakes: keys took seconds.
        time.sleep(0)
        self._iteration = iteration
        if valid is not None:
            self._pending.append(valid)
        now = time.monotonic()
        if now - self._last >= self._interval:
            self._last = now
            self.flush()

    def flush(self) -> None:
        """Post what is pending (at the end, so the last iterations are not lost)."""
        if self._iteration:
            self._post(TrainingIterations(self._iteration, self._pending))
            self._pending = []


class ExperimentsScreen(AreaScreen):
    """Training runs: list, filter, sort, mark for compare, launch, follow and cancel."""

    AREA_TITLE = "Experiments"
    AUTO_FOCUS = ".runs-table"  # never the filter: it would swallow the area keys (1-7)
    COMMANDS = {experiment_commands}
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
        with Vertical(id="runs-pane") as pane:
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
        app = self.app
        app.workspace_ready.subscribe(self, lambda _ws: self.refresh_runs())
        app.workspace_changed.subscribe(self, self._workspace_changed)
        if app.workspace is not None:
            self.refresh_runs()
        self._show_status()

    def on_unmount(self) -> None:
        # Quitting the app while a training runs: stop it so it is recorded as cancelled.
        if self.cancel_token is not None:
            self.cancel_token.cancel()

    def on_screen_resume(self) -> None:
        if self.loaded_token is not None and self.app.change_token != self.loaded_token:
            self.refresh_runs()

    def _workspace_changed(self, token: int) -> None:
        if token != self.loaded_token:
            self.refresh_runs()

    @property
    def workspace(self) -> Workspace | None:
        return self.app.workspace

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

    # -- workers -----------------------------------------------------------------------------

    def refresh_runs(self, where: str | None = None, sort: str | None = None) -> None:
        """Reload the table with a filter and sort (default: the ones in force)."""
        if self.workspace is not None:
            where = self.where if where is None else where
            sort = self.sort if sort is None else sort
            self.load_runs(self.workspace, self.app.change_token, where, sort, set(self.marked))

    @work(thread=True, exclusive=True, exit_on_error=False, group="runs-table",
          description="loading runs")  # fmt: skip
    def load_runs(self, ws: Workspace, token: int, where: str, sort: str, marked: set[int]) -> None:
        from ..widgets.run_table import run_rows

        try:
            frame = ws.runs(where=where or None, sort=sort)
        except WorkbenchError as exc:
            self.post_message(RunsRejected(str(exc), where, sort))
            return
        rows = run_rows(frame, marked, sort)
        if not get_current_worker().is_cancelled:
            self.post_message(RunsLoaded(rows, token, where, sort))

    @work(thread=True, exclusive=True, exit_on_error=False, group="run-detail",
          description="loading the run")  # fmt: skip
    def load_detail(self, ws: Workspace, run_id: int) -> None:
        try:
            run = ws.run(run_id)
        except WorkbenchError:
            return  # deleted meanwhile; the next reload drops the row
        if not get_current_worker().is_cancelled:
            self.post_message(RunDetailLoaded(run))

    @work(thread=True, exclusive=True, exit_on_error=False, group="train-form",
          description="reading snapshots")  # fmt: skip
    def load_launch(self, ws: Workspace) -> None:
        from .train_form import SnapshotChoice

        choices = [
            SnapshotChoice(s.ref, s.target, list(s.schema), s.time_column) for s in ws.snapshots()
        ]
        self.post_message(LaunchReady(choices))

    @work(thread=True, exit_on_error=False, group="preload",
          description="loading LightGBM and MLflow")  # fmt: skip
    def preload_training(self, ws: Workspace) -> None:
        """While the user fills the launch form: the first training then starts at once."""
        ws.preload_training()

    @work(thread=True, exclusive=True, exit_on_error=False, group="training",
          description="training")  # fmt: skip
    def run_training(self, ws: Workspace, request: TrainRequest, token: CancelToken) -> None:
        post = self.post_message
        reporter = _IterationReporter(post)
        progress = CallbackProgress(
            on_start=lambda task, total: post(TrainingPhase(task, total)), cancel=token
        )
        try:
            run = ws.train(
                request.ref, request.target, task=request.task, params=request.params,
                split=request.split, test_size=request.test_size, seed=request.seed,
                note=request.note, progress=progress, on_iteration=reporter,
                mlflow=request.mlflow,
            )  # fmt: skip
        except Cancelled as exc:
            reporter.flush()
            post(TrainingEnded("cancelled", run_id=getattr(exc, "run_id", None)))
        except WorkbenchError as exc:
            reporter.flush()
            post(TrainingEnded("failed", error=str(exc), run_id=getattr(exc, "run_id", None)))
        except Exception as exc:  # a bug in the core must not take the UI down
            first = (str(exc).strip().splitlines() or [""])[0]
            post(TrainingEnded("failed", error=f"{type(exc).__name__}: {first}",
                               run_id=getattr(exc, "run_id", None)))  # fmt: skip
        else:
            reporter.flush()
            post(TrainingEnded("finished", run=run, run_id=run.id))

    # -- handlers: table ---------------------------------------------------------------------

    @on(RunsLoaded)
    async def _runs_loaded(self, event: RunsLoaded) -> None:
        from ..widgets.run_table import RunTable

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
        reason = self._reasons.get(self.highlighted_id)
        if self.highlighted_id is None or self.rows is None:
            detail.update("No runs yet. Press n to train a model." if not self.where else "")
            return
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
        from .train_form import TrainForm

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
            self.app.change_token = self.workspace.change_token()
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
        from .compare import CompareScreen

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
    from ..widgets.run_table import MAIN_METRICS

    shown = [f"{m} {run.metrics[m]:.4f}" for m in MAIN_METRICS if m in run.metrics][:3]
    return "  ".join(shown)
