"""The Drift screen: compare a reference snapshot with a current one, column by column.

Workers (``workers.DriftWorkers``) call the Workspace in a thread and post messages; the
handlers below own the screen's state (which pair is shown, the report, the highlighted column,
the running computation). A computation reports progress through ``CallbackProgress`` and
stops at its next check when the user presses escape; a newer request cancels an older one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.widgets import (
    DataTable,
    Label,
    ProgressBar,
    Select,
    Static,
    TabbedContent,
    TabPane,
)

from ....presentation import batch_label, default_pair
from ....progress import CancelToken
from ...palette import command_provider
from ...widgets.drift_charts import DistributionPlot, DriftSharePlot
from ..base import AreaScreen
from .commands import DRIFT_COMMANDS
from .messages import (
    BatchesComputed,
    DistributionLoaded,
    DriftAdvanced,
    DriftComputed,
    DriftPhase,
    DriftStopped,
    ExportFinished,
    RefsLoaded,
    ReportSaved,
    WindowsComputed,
)
from .workers import DriftWorkers

if TYPE_CHECKING:
    import polars as pl

    from ....presentation import ColumnDrift, DriftReport

__all__ = ["DriftScreen", "export_path"]


def export_path(root: Path, reference: str, current: str) -> Path:
    """Where the Evidently report for a pair goes: ``<project>/reports/drift_<a>_vs_<b>.html``."""
    safe = [s.replace("@", "_").replace("/", "_") for s in (reference, current)]
    return root / "reports" / f"drift_{safe[0]}_vs_{safe[1]}.html"


def _fmt(value: float | None) -> str:
    if value is None or value != value:  # None or NaN
        return "–"
    return f"{value:.4g}"


def _times(severity: float) -> str:
    """A severity as "how many times the threshold"."""
    return f"{severity:,.0f}x" if severity >= 100 else f"{severity:.3g}x"


_SHORT_TYPES = {"numerical": "num", "categorical": "cat"}


def _mark(c: ColumnDrift) -> str:
    if c.drifted:
        return "[b $error]●[/]"
    if c.status in ("error", "missing", "new"):
        return "[b $warning]![/]"
    return ""


class DriftScreen(DriftWorkers, AreaScreen):
    """Drift between a reference and a current snapshot, per column and over time."""

    AREA_TITLE = "Drift"
    CSS_PATH = "drift.tcss"
    COMMANDS = {command_provider(DRIFT_COMMANDS)}
    HELP = """\
## Drift

Choose a **reference** (usually the training snapshot) and a **current** snapshot (a
production batch); every column is compared with the test Evidently would use, and the
numbers equal Evidently's. The table lists drifted columns first (strongest first, marked
●), then columns that could not be tested (marked !), then the rest. The target column is
reported separately as target drift.

The pane on the right shows the highlighted column's reference and current distributions,
the method, score and threshold, and what they mean.

- **Over time**: drift share per day/week/month window of the current snapshot (by its
  time column).
- **Batches** (**m**): the reference against every `prod-*` batch, one row per batch with its
  drift share and data-quality flags (a null-share jump, values moving by many standard
  deviations): this is how a broken feed stands out. **enter** on a batch shows its columns.

**e** exports Evidently's own HTML report for the pair (slow), **s** stores the shown report
(`workbench drift list`), **r** recomputes, **escape** cancels a running computation.
"""
    BINDINGS = [
        Binding("r", "recompute", "Compare", id="drift.recompute",
                tooltip="Recompute drift for the chosen pair"),
        Binding("m", "batches", "Batches", id="drift.batches",
                tooltip="Compare the reference with every prod-* batch (the months view)"),
        Binding("e", "export", "Export HTML", id="drift.export",
                tooltip="Write Evidently's HTML drift report for the pair (slow)"),
        Binding("s", "save", "Save", id="drift.save",
                tooltip="Store the shown report in the workspace"),
        Binding("escape", "cancel", "Cancel", id="drift.cancel",
                tooltip="Cancel the running drift computation"),
    ]  # fmt: skip

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str]] = []
        self.has_time: dict[str, bool] = {}
        self.pair: tuple[str, str] | None = None
        """The (reference, current) pair the report is for (or is being computed for)."""
        self.report: DriftReport | None = None
        self.rows: list[ColumnDrift] = []
        """Columns in table order (features by severity, then the target)."""
        self.column: str | None = None
        self.windows: pl.DataFrame | None = None
        self.batches: pl.DataFrame | None = None
        self.batches_reference: str | None = None
        self.run = 0
        """Number of the newest computation; messages from older ones are ignored."""
        self.tokens: dict[int, CancelToken] = {}
        """Cancel tokens of running computations, by run number."""
        self.exporting = False

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="drift-pickers"):
            yield Label("Reference", classes="drift-picker-label")
            yield Select([], prompt="reference", id="drift-reference", allow_blank=True)
            yield Label("Current", classes="drift-picker-label")
            yield Select([], prompt="current", id="drift-current", allow_blank=True)
        yield Static("Loading the workspace…", id="drift-summary")
        with Horizontal(id="drift-progress-row"):
            yield Label("", id="drift-task")
            yield ProgressBar(show_eta=False, id="drift-progress")
        with TabbedContent(id="drift-tabs"):
            with (
                TabPane("Columns", id="drift-columns-tab"),
                Horizontal(id="drift-columns-body"),
            ):
                yield DataTable(id="drift-table", cursor_type="row", zebra_stripes=True)
                with Vertical(id="drift-detail"):
                    yield DistributionPlot(id="drift-histogram")
                    yield Static("", id="drift-explain")
            with TabPane("Over time", id="drift-time-tab"):
                yield DriftSharePlot("no time column", id="drift-time-chart")
                yield Static("", id="drift-time-note")
            with TabPane("Batches", id="drift-batches-tab"):
                yield DataTable(id="drift-batches", cursor_type="row")
                yield DriftSharePlot("press m to compare every batch", id="drift-batches-chart")

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one("#drift-table", DataTable)
        table.add_columns(" ", "column", "type", "method", "score", "thresh", "nulls")
        batches = self.query_one("#drift-batches", DataTable)
        batches.add_columns(" ", "batch", "rows", "drifted", "share", "strongest", "flags")
        self.query_one("#drift-progress-row").display = False
        self.follow_workspace()  # no loaded token: every change reloads the pickers

    @property
    def running(self) -> bool:
        """True while a drift computation (not an export) is running."""
        return bool(self.tokens)

    # -- starting and stopping (the workers are in ``workers.DriftWorkers``) ------------------

    def reload(self) -> None:
        """Reload the snapshot references for the pickers."""
        if self.workspace is not None:
            self.load_refs(self.workspace)

    def _new_run(self) -> tuple[int, CancelToken]:
        for token in self.tokens.values():
            token.cancel()
        self.run += 1
        token = CancelToken()
        self.tokens[self.run] = token
        return self.run, token

    def _chosen(self) -> tuple[str, str] | None:
        ref = self.query_one("#drift-reference", Select).value
        cur = self.query_one("#drift-current", Select).value
        if isinstance(ref, str) and isinstance(cur, str):
            return ref, cur
        return None

    def start_compare(self, force: bool = False) -> None:
        """Compute drift for the chosen pair (unless it is already shown or running)."""
        pair = self._chosen()
        if pair is None or self.workspace is None:
            return
        if pair == self.pair and not force:
            return
        self.pair = pair
        run, token = self._new_run()
        self.report, self.rows, self.column, self.windows = None, [], None, None
        self.query_one("#drift-table", DataTable).clear()
        self.query_one(DistributionPlot).show(None, "computing…")
        self.query_one("#drift-explain", Static).update("")
        self._summary(f"Comparing [b]{pair[1]}[/b] with [b]{pair[0]}[/b]…")
        self._show_progress("starting", None)
        self.compute(self.workspace, run, token, *pair, self.has_time.get(pair[1], False))

    def _show_progress(self, task: str, total: float | None) -> None:
        self.query_one("#drift-progress-row").display = True
        self.query_one("#drift-task", Label).update(task)
        self.query_one("#drift-progress", ProgressBar).update(total=total, progress=0)

    def _hide_progress(self) -> None:
        self.query_one("#drift-progress-row").display = False

    def _summary(self, text: str) -> None:
        self.query_one("#drift-summary", Static).update(text)

    def _finish(self, run: int) -> None:
        self.tokens.pop(run, None)
        if not self.tokens:
            self._hide_progress()

    # -- handlers ----------------------------------------------------------------------------

    @on(RefsLoaded)
    def _refs_loaded(self, event: RefsLoaded) -> None:
        self.has_time = event.time_columns
        if event.refs == self.refs:
            return
        self.refs = event.refs
        options = [(ref, ref) for ref, _ in event.refs]
        chosen = self._chosen()
        reference, current = chosen if chosen else default_pair(event.refs)
        known = {ref for ref, _ in event.refs}
        ref_select = self.query_one("#drift-reference", Select)
        cur_select = self.query_one("#drift-current", Select)
        with self.prevent(Select.Changed):
            ref_select.set_options(options)
            cur_select.set_options(options)
            if reference in known:
                ref_select.value = reference
            if current in known:
                cur_select.value = current
        if not event.refs:
            self._summary("No snapshots yet: import one in the Data area (1).")
            return
        if self.pair is None:
            self.start_compare()

    @on(Select.Changed)
    def _pair_changed(self, event: Select.Changed) -> None:
        self.start_compare()

    @on(DriftPhase)
    def _phase(self, event: DriftPhase) -> None:
        if event.run in self.tokens and event.task:
            self._show_progress(event.task, event.total)

    @on(DriftAdvanced)
    def _advanced(self, event: DriftAdvanced) -> None:
        if event.run in self.tokens:
            self.query_one("#drift-progress", ProgressBar).advance(event.amount)

    @on(DriftStopped)
    def _stopped(self, event: DriftStopped) -> None:
        self._finish(event.run)
        if event.error is not None:
            self.notify(event.error, title=f"Failed: {event.what}", severity="error", timeout=10)
        elif event.run == self.run:
            self.notify(f"Cancelled {event.what}.", severity="warning")
        if event.run == self.run and self.report is None:
            self.pair = None  # so the same pair can be asked for again
            self._summary("No report: " + ("cancelled" if event.error is None else "failed")
                          + ". Press r to compare again.")  # fmt: skip

    @on(DriftComputed)
    def _computed(self, event: DriftComputed) -> None:
        if event.run != self.run:
            return
        if not self.has_time.get(event.report.current or "", False):
            self._finish(event.run)
            self._show_windows(None)
        self.report = event.report
        self._show_report(event.report)

    @on(WindowsComputed)
    def _windows_computed(self, event: WindowsComputed) -> None:
        self._finish(event.run)
        if event.run == self.run:
            self.windows = event.frame
            self._show_windows(event.frame, event.every)

    @on(BatchesComputed)
    def _batches_computed(self, event: BatchesComputed) -> None:
        self._finish(event.run)
        if event.run != self.run:
            return
        self.batches, self.batches_reference = event.frame, event.reference
        self._show_batches(event.frame, event.reference)

    @on(DistributionLoaded)
    def _distribution_loaded(self, event: DistributionLoaded) -> None:
        if event.column != self.column:
            return
        plot = self.query_one(DistributionPlot)
        if event.dist is None:
            plot.show(None, f"{event.column}: no distribution to draw")
        else:
            plot.show(event.dist)

    @on(ExportFinished)
    def _exported(self, event: ExportFinished) -> None:
        self.exporting = False
        if not self.tokens:
            self._hide_progress()
        if event.error is not None:
            self.notify(event.error, title="Evidently export failed", severity="error", timeout=10)
        else:
            self.notify(f"Evidently report written to {event.path}", title="Export", timeout=10)

    @on(ReportSaved)
    def _saved(self, event: ReportSaved) -> None:
        if event.error is not None:
            self.notify(event.error, title="Saving failed", severity="error", timeout=10)
        else:
            self.notify(f"Saved as drift report {event.report_id}.", title="Drift")

    @on(DataTable.RowHighlighted, "#drift-table")
    def _column_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if 0 <= event.cursor_row < len(self.rows):
            self._show_column(self.rows[event.cursor_row])

    @on(DataTable.RowSelected, "#drift-batches")
    def _batch_selected(self, event: DataTable.RowSelected) -> None:
        if self.batches is None or not 0 <= event.cursor_row < self.batches.height:
            return
        current = self.batches["current"][event.cursor_row]
        self.query_one("#drift-current", Select).value = current
        self.query_one(TabbedContent).active = "drift-columns-tab"
        self.query_one("#drift-table", DataTable).focus()

    # -- drawing -----------------------------------------------------------------------------

    def _show_report(self, report: DriftReport) -> None:
        from ....presentation import by_severity, quality_flags

        self.rows = by_severity(report.columns)
        if report.target is not None:
            self.rows.append(report.target)
        if report.prediction is not None:
            self.rows.append(report.prediction)
        table = self.query_one("#drift-table", DataTable)
        table.clear()
        for c in self.rows:
            name = c.column if c.role == "feature" else f"{c.column} ({c.role})"
            nulls = f"{c.null_share_ref:.0%}→{c.null_share_cur:.0%}"
            table.add_row(
                _mark(c), name, _SHORT_TYPES.get(c.column_type, c.column_type), c.method or c.status, _fmt(c.score),
                _fmt(c.threshold), nulls, key=c.column,
            )  # fmt: skip
        verdict = "[b $error]DATASET DRIFT[/]" if report.dataset_drifted else "no dataset drift"
        cmp = ">=" if report.share >= report.options.drift_share else "<"
        text = (
            f"[b]{report.current}[/b] vs [b]{report.reference}[/b]: {report.n_drifted}/"
            f"{report.n_tested} columns drifted, share {report.share:.2f} {cmp} "
            f"{report.options.drift_share:g}: {verdict}"
        )
        if report.failed:  # a column missing from the current data, or nothing tested
            text += f"\n[b $error]FAILED:[/] {escape('; '.join(report.failures))}"
        if report.target is not None:
            t = report.target
            state = "[b $error]drifted[/]" if t.drifted else "no drift"
            text += f"  ·  target {t.column}: {state}"
        flags = quality_flags(report)
        if flags:
            text += f"\n[b $warning]data quality:[/] {'; '.join(flags)}"
        self._summary(text)
        if self.rows:
            table.move_cursor(row=0)
            self._show_column(self.rows[0])

    def _show_column(self, c: ColumnDrift) -> None:
        from ....presentation import explain

        if self.column == c.column:
            return
        self.column = c.column
        lines = []
        if c.tested:
            verdict = "[b $error]DRIFT[/]" if c.drifted else "[b $success]no drift[/]"
            lines.append(
                f"[b]{c.column}[/b] ({c.column_type})  method [b]{c.stattest_name or c.method}"
                f"[/b]  score [b]{_fmt(c.score)}[/b]  threshold {_fmt(c.threshold)}  {verdict}"
            )
        lines.append(explain(c))
        if abs(c.null_share_cur - c.null_share_ref) >= 0.005:
            lines.append(f"Nulls: {c.null_share_ref:.1%} in the reference, "
                         f"{c.null_share_cur:.1%} in the current data.")  # fmt: skip
        self.query_one("#drift-explain", Static).update("\n".join(lines))
        plot = self.query_one(DistributionPlot)
        if not c.tested or self.pair is None or self.workspace is None:
            plot.show(None, f"{c.column}: not tested")
            return
        plot.show(None, f"loading {c.column}…")
        self.load_distribution(self.workspace, *self.pair, c.column, c.column_type)

    def _show_windows(self, frame: pl.DataFrame | None, every: str = "") -> None:
        chart = self.query_one("#drift-time-chart", DriftSharePlot)
        note = self.query_one("#drift-time-note", Static)
        threshold = self.report.options.drift_share if self.report else 0.5
        cur = self.pair[1] if self.pair else "the current snapshot"
        if frame is None or frame.is_empty():
            chart.show([], [], threshold, "Drift share over time")
            note.update(f"{cur} has no time column: compare batches with m instead.")
            return
        labels = [str(v)[:10] for v in frame["window_start"].to_list()]
        shares = frame["drift_share"].to_list()
        chart.show(labels, shares, threshold, f"Drift share per {every} of {cur}")
        worst = max(range(len(shares)), key=shares.__getitem__)
        note.update(f"{len(labels)} {every} windows; highest share {shares[worst]:.2f} "
                    f"from {labels[worst]}.")  # fmt: skip

    def _show_batches(self, frame: pl.DataFrame, reference: str) -> None:
        table = self.query_one("#drift-batches", DataTable)
        table.clear()
        for r in frame.iter_rows(named=True):
            mark = (
                "[b $warning]![/]"
                if r["flagged"]
                else ("[b $error]●[/]" if r["dataset_drifted"] else "")
            )
            strongest = (
                f"{r['top_column']} ({_times(r['top_severity'])})" if r["top_column"] else ""
            )
            table.add_row(
                mark, r["current"], f"{r['rows']:,}", f"{r['n_drifted']}/{r['n_tested']}",
                f"{r['drift_share']:.2f}", strongest, r["flags"], key=r["current"],
            )  # fmt: skip
        table.focus()
        labels = [batch_label(c) for c in frame["current"].to_list()]
        threshold = self.report.options.drift_share if self.report else 0.5
        self.query_one("#drift-batches-chart", DriftSharePlot).show(
            labels, frame["drift_share"].to_list(), threshold,
            f"Drift share of each batch vs {reference}", frame["flagged"].to_list(),
        )  # fmt: skip
        flagged = frame.filter(frame["flagged"])["current"].to_list()
        if flagged:
            self.notify(f"Data-quality flags on {', '.join(flagged)}.", title="Batches",
                        severity="warning")  # fmt: skip

    # -- actions -----------------------------------------------------------------------------

    def action_recompute(self) -> None:
        """Recompute drift for the chosen pair."""
        self.start_compare(force=True)

    def action_batches(self) -> None:
        """Compare the reference with every prod-* batch and show the months view."""
        ref = self.query_one("#drift-reference", Select).value
        if self.workspace is None or not isinstance(ref, str):
            self.notify("Choose a reference first.", severity="warning")
            return
        self.query_one(TabbedContent).active = "drift-batches-tab"
        run, token = self._new_run()
        self.pair = None  # the columns view recomputes when asked again
        self._show_progress("drift per batch", None)
        self.compute_batches(self.workspace, run, token, ref)

    def action_export(self) -> None:
        """Write Evidently's HTML report for the chosen pair (in a worker)."""
        pair = self._chosen()
        if self.workspace is None or pair is None:
            self.notify("Choose a reference and a current snapshot first.", severity="warning")
            return
        if self.exporting:
            self.notify("An export is already running.", severity="warning")
            return
        self.exporting = True
        path = export_path(self.workspace.root, *pair)
        self.notify(f"Rendering Evidently's report for {pair[1]} (this takes a while)…",
                    title="Export")  # fmt: skip
        self._show_progress("rendering the Evidently report", None)
        self.export_html(self.workspace, *pair, path)

    def action_save(self) -> None:
        """Store the shown report (as `workbench drift` would)."""
        if self.workspace is None or self.report is None or self.pair is None:
            self.notify("Nothing to save yet.", severity="warning")
            return
        self.save_report(self.workspace, *self.pair)

    def action_cancel(self) -> None:
        """Cancel the running computation (it stops at its next check)."""
        if not self.tokens:
            self.notify("Nothing is running.", severity="information", timeout=2)
            return
        for token in self.tokens.values():
            token.cancel()
        self.query_one("#drift-task", Label).update("cancelling…")
