"""The Monitor screen: the served model's windows as a timeline with sparklines, its open
alerts (acknowledge with ``a``), the shadow/canary verdicts, a window's detail (its drift
view, ``enter``), a check now (``c``) and a retraining proposal filed by hand (``p``).

Workers (``workers.py``) call the Workspace in a thread and post one message; the handlers
below own what is shown.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Sparkline, Static

from ...palette import command_provider
from ..base import AreaScreen
from .detail import WindowDetail
from .messages import MonitorActed, MonitorFailed, MonitorLoaded, MonitorView
from .workers import MonitorWorkers

__all__ = ["MonitorScreen", "MONITOR_COMMANDS"]

MONITOR_COMMANDS = (
    ("Window detail", "Drift per feature, data quality and performance of the window", "detail"),
    ("Acknowledge alert", "Acknowledge the highlighted open alert", "acknowledge"),
    ("Run a monitoring check", "Judge new windows and raise or resolve alerts now", "check"),
    ("Propose retraining", "File a retraining proposal for the champion by hand", "propose"),
    ("Refresh monitor", "Read the prediction log and alerts again", "refresh"),
)  # fmt: skip
"""(title, help, action) of the Monitor screen's command-palette entries."""

TIMELINE_COLUMNS = ("window", "role", "version", "rows", "labelled", "drift", "pred drift",
                    "new cat", "AUC real", "AUC est", "p99 ms", "errors", "breaches")  # fmt: skip
ALERT_COLUMNS = ("id", "severity", "policy", "subject", "window", "ack", "message")
#: sparklines: (label, figure per champion window)
SPARKS = (
    ("drift share", lambda w: w.drift_share),
    ("realized", lambda w: w.performance(_metric(w))[0] if w.labelled else None),
    ("estimated", lambda w: (w.estimated.get(_metric(w)) or {}).get("value")),
    ("volume", lambda w: float(w.rows)),
)


def _metric(w: Any) -> str:
    return "roc_auc" if "roc_auc" in w.estimated else "rmse"


def _num(value: Any, fmt: str = ".3f") -> str:
    return "-" if value is None else format(value, fmt)


class MonitorScreen(MonitorWorkers, AreaScreen):
    """Windows, alerts and verdicts of the served model."""

    AREA_TITLE = "Monitor"
    CSS_PATH = "monitor.tcss"
    COMMANDS = {command_provider(MONITOR_COMMANDS)}
    HELP = """\
## Monitor

The served model's prediction log cut into windows (the settings' `[monitoring] window`),
oldest first: rows, labelled rows, drift share against the champion's training data,
prediction drift, new categories, realized AUC where labels arrived and CBPE's estimate where
they have not, p99 latency, errors, and the policies the window breached. Shadow and canary
versions show beside the champion. The sparklines follow the champion's drift share,
realized and estimated performance, and volume.

- **enter** opens the highlighted window's detail: every feature's drift score, nulls and
  unseen categories, and its performance with the estimate's band.
- **a** acknowledges the highlighted open alert (in the lower left pane).
- **c** runs a monitoring check now (`workbench monitor check`).
- **p** files a retraining proposal for the champion by hand (an approver decides it in the
  Decisions area).

The lower right pane shows each shadow or canary verdict (agreement, the difference with its
interval, McNemar's test, labelled rows still needed) and the canary's traffic share.
"""
    BINDINGS = [
        Binding("enter", "detail", "Window detail", id="monitor.detail", show=False,
                tooltip="Drift per feature, data quality and performance of the window"),
        Binding("a", "acknowledge", "Acknowledge", id="monitor.ack",
                tooltip="Acknowledge the highlighted open alert"),
        Binding("c", "check", "Check now", id="monitor.check",
                tooltip="Judge new windows and raise or resolve alerts now"),
        Binding("p", "propose", "Propose retrain", id="monitor.propose",
                tooltip="File a retraining proposal for the champion by hand"),
        Binding("r", "refresh", "Refresh", id="monitor.refresh",
                tooltip="Read the prediction log and alerts again"),
    ]  # fmt: skip

    def __init__(self) -> None:
        super().__init__()
        self.view: MonitorView | None = None

    def compose_body(self) -> ComposeResult:
        yield Static("Loading the workspace…", id="monitor-summary")
        with Horizontal(id="monitor-sparks"):
            for label, _ in SPARKS:
                with Vertical(classes="monitor-spark-box"):
                    yield Static(label, classes="monitor-spark-label")
                    yield Sparkline([], classes="monitor-spark", id=f"spark-{label.split()[0]}")
        with Vertical(id="monitor-timeline-pane") as pane:
            pane.border_title = "Windows"
            yield DataTable(id="monitor-timeline", cursor_type="row")
            yield Static("", id="monitor-empty")
        with Horizontal(id="monitor-lower"):
            with Vertical(id="monitor-alerts-pane") as alerts:
                alerts.border_title = "Open alerts"
                yield DataTable(id="monitor-alerts", cursor_type="row")
            with Vertical(id="monitor-verdict-pane") as verdicts:
                verdicts.border_title = "Shadow and canary"
                yield Static("", id="monitor-verdicts")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#monitor-timeline", DataTable).add_columns(*TIMELINE_COLUMNS)
        self.query_one("#monitor-alerts", DataTable).add_columns(*ALERT_COLUMNS)
        self.follow_workspace()

    def reload(self) -> None:
        """Read the windows, alerts and verdicts again."""
        if self.workspace is not None:
            self.load_monitor(self.workspace, self.workbench.change_token)

    # -- handlers ----------------------------------------------------------------------------

    @on(MonitorLoaded)
    def _loaded(self, event: MonitorLoaded) -> None:
        view = self.view = event.view
        self.loaded_token = view.token
        timeline = self.query_one("#monitor-timeline", DataTable)
        timeline.clear()
        empty = self.query_one("#monitor-empty", Static)
        report = view.report
        if view.model is None or report is None or not report.windows:
            empty.display = True
            empty.update(
                "No served model yet. Register a model, make it champion and log predictions "
                "(workbench serve, or ws.log_batch), then its windows show here."
                if view.model is None
                else f"{view.model}: no logged predictions yet."
            )
            self.query_one("#monitor-summary", Static).update(f"Monitor: {view.model or '-'}")
            self._alerts(view)
            self._verdicts(view)
            return
        empty.display = False
        min_rows = self._min_rows()
        for i, w in enumerate(report.windows):
            metric = _metric(w)
            breaches = report.breaches.get(w.window_key, []) if w.role == "champion" else []
            # Statistical figures of a window under min_rows are shown dimmed: the policies do
            # not judge them (2 requests can show a drift share of 1.00).
            few = w.rows < min_rows

            def stat(text: str, few: bool = few) -> str | Text:
                return Text(text, style="dim") if few and text != "-" else text

            timeline.add_row(
                w.window_key, w.role, f"v{w.version}", f"{w.rows:,}", f"{w.labelled:,}",
                stat(_num(w.drift_share, ".2f")), stat(_num(w.prediction_drift)),
                stat(_num(w.new_category_share, ".1%")), _num(w.realized.get(metric)),
                stat(_num((w.estimated.get(metric) or {}).get("value"))),
                _num(w.latency_p99_ms, ".1f"), _num(w.error_rate, ".1%"),
                ", ".join(b.policy for b in breaches), key=str(i),
            )  # fmt: skip
        champ = report.champion_windows()
        judged = [w for w in champ if w.rows >= min_rows]
        for label, figure in SPARKS:
            # Windows without the figure (no labels yet) are left out, not drawn as zero, and
            # so are windows too small to judge (volume excepted).
            windows = champ if label == "volume" else judged
            values = [v for v in (figure(w) for w in windows) if v is not None]
            self.query_one(f"#spark-{label.split()[0]}", Sparkline).data = values
        last = champ[-1] if champ else report.windows[-1]
        drift = (
            f"drift share {_num(last.drift_share, '.2f')}"
            if last.rows >= min_rows
            else f"too few rows to judge (under {min_rows:,})"
        )
        self.query_one("#monitor-summary", Static).update(
            f"[b]{report.model}[/b]: champion v{report.champion}, {len(report.keys())} "
            f"{report.window} windows; newest {last.window_key}: {last.rows:,} rows, {drift}, "
            f"{len(view.alerts)} open alert(s)"
        )
        timeline.focus()
        self._alerts(view)
        self._verdicts(view)

    def _min_rows(self) -> int:
        """The rows a window needs before the policies judge its statistical figures."""
        ws = self.workspace
        return int(ws.settings.monitoring.min_rows) if ws is not None else 0

    def _alerts(self, view: MonitorView) -> None:
        table = self.query_one("#monitor-alerts", DataTable)
        table.clear()
        for a in view.alerts:
            table.add_row(
                str(a.id), a.severity, a.policy, a.subject, a.window_key or "-",
                a.acknowledged_by or "", a.message, key=str(a.id),
            )  # fmt: skip
        self.query_one("#monitor-alerts-pane").border_title = f"Open alerts ({len(view.alerts)})"

    def _verdicts(self, view: MonitorView) -> None:
        lines = []
        for v in view.verdicts:
            lines.append(f"[b]{v.role}[/b] {v.challenger}: {v.decision}")
            if v.agreement is not None:
                lines.append(f"  agreement {v.agreement:.1%} on {v.paired_rows:,} requests")
            if v.difference is not None:
                lines.append(f"  {v.metric} {v.difference:+.4f} [{v.ci_low:+.4f}, "
                             f"{v.ci_high:+.4f}] on {v.labelled:,} labelled")  # fmt: skip
            if v.mcnemar_p is not None:
                lines.append(f"  McNemar p = {v.mcnemar_p:.3g}")
            if v.rows_needed:
                lines.append(f"  ~{v.rows_needed:,} more labelled rows to decide")
        canary = view.canary
        if canary is not None and canary.value:
            c = canary.value
            lines.append(
                f"canary v{c.get('version')}: {c.get('fraction', 0):g}% ({c.get('state')})"
            )
        self.query_one("#monitor-verdicts", Static).update(
            "\n".join(lines) or "No shadow or canary has served yet."
        )

    @on(MonitorFailed)
    def _failed(self, event: MonitorFailed) -> None:
        self.notify(event.error, title=f"Failed: {event.what}", severity="error", timeout=10)

    @on(MonitorActed)
    def _acted(self, event: MonitorActed) -> None:
        self.notify(event.text, timeout=8)
        self.reload()

    # -- actions -----------------------------------------------------------------------------

    def _highlighted(self, table_id: str) -> str | None:
        table = self.query_one(table_id, DataTable)
        if not table.row_count:
            return None
        key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return key.value

    def action_detail(self) -> None:
        """Open the highlighted window's detail."""
        key = self._highlighted("#monitor-timeline")
        if key is None or self.view is None or self.view.report is None:
            return
        figures = self.view.report.windows[int(key)]
        breaches = self.view.report.breaches.get(figures.window_key, [])
        self.app.push_screen(WindowDetail(figures, breaches if figures.role == "champion" else []))

    @on(DataTable.RowSelected, "#monitor-timeline")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_detail()

    def action_acknowledge(self) -> None:
        """Acknowledge the highlighted open alert."""
        key = self._highlighted("#monitor-alerts")
        if key is None or self.workspace is None:
            self.notify("No open alert to acknowledge.", timeout=5)
            return
        self.acknowledge(self.workspace, int(key))

    def action_check(self) -> None:
        """Run a monitoring check now."""
        if self.workspace is not None and self.view is not None and self.view.model:
            self.check(self.workspace, self.view.model)

    def action_propose(self) -> None:
        """File a retraining proposal for the champion by hand."""
        if self.workspace is None or self.view is None or not self.view.model:
            self.notify("No served model to retrain.", timeout=5)
            return
        newest = (
            self.view.report.keys()[-1] if self.view.report and self.view.report.windows else "-"
        )
        reason = f"filed by hand from the Monitor screen (newest window {newest})"
        self.propose(self.workspace, self.view.model, reason)

    def action_refresh(self) -> None:
        """Read everything again."""
        self.reload()
