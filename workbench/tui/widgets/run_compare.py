"""The comparison of two or more runs: parameter diff, metric deltas, overlaid validation curves
and feature-importance bars.

It draws a ``RunComparison`` (from ``Workspace.compare_runs``) handed over by its screen; it
never reads the store.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static

from ...presentation import fmt_delta, fmt_metric, shows_as_zero
from .curve_plot import CurvePlot, series_colors

if TYPE_CHECKING:
    from ...presentation import MetricRow, RunComparison

__all__ = ["ComparisonView", "importance_lines", "BAR_WIDTH"]

BAR_WIDTH = 24
_EIGHTHS = " ▏▎▍▌▋▊▉"


def _bar(share: float, scale: float, width: int = BAR_WIDTH) -> str:
    """A horizontal bar ``share / scale`` of ``width`` cells, in eighths of a cell."""
    eighths = round(width * 8 * share / scale) if scale > 0 else 0
    full, part = divmod(max(eighths, 0), 8)
    return ("█" * full + (_EIGHTHS[part] if part else "")).ljust(width)


def importance_lines(comparison: RunComparison, colors: list[str], top: int = 10) -> Text:
    """Top features (by the first run's gain, then the others'), one bar per run."""
    order: list[str] = []
    for run in comparison.runs:
        for rank in comparison.importances.get(run.id, []):
            if rank.feature not in order:
                order.append(rank.feature)
    order = order[:top]
    shares = {
        run.id: {r.feature: r.share for r in comparison.importances.get(run.id, [])}
        for run in comparison.runs
    }
    scale = max((s for by_run in shares.values() for s in by_run.values()), default=0.0)
    text = Text()
    if not order:
        text.append("No feature importances (the runs have no saved model).", style="italic")
        return text
    name_width = min(max(len(f) for f in order), 18)
    label_width = max(len(f"run {r.id}") for r in comparison.runs)
    for feature in order:
        for i, run in enumerate(comparison.runs):
            name = feature if i == 0 else ""
            text.append(f"{name[:name_width]:<{name_width}} ", style="bold" if name else "")
            text.append(f"{f'run {run.id}':<{label_width}} ", style="dim")
            share = shares[run.id].get(feature)
            if share is None:
                text.append(" " * BAR_WIDTH + "     -\n", style="dim")
                continue
            text.append(_bar(share, scale), style=colors[i % len(colors)])
            text.append(f" {share:6.1%}\n")
    text.rstrip()
    return text


class ComparisonView(Horizontal):
    """Runs side by side (the first run is the baseline)."""

    DEFAULT_CSS = """
    ComparisonView {
        #compare-left { width: 1fr; padding: 0 1; }
        #compare-right { width: 1fr; padding: 0 1; overflow-x: hidden; }
        #compare-summary, #compare-metrics { margin-bottom: 1; }
        #compare-curves { height: 16; }
        #compare-importance { height: auto; margin-top: 1; }
    }
    """

    HELP = """\
## Comparison

- **Parameters**: run facts (snapshot, target, task, split) and LightGBM parameters side by
  side; differing rows are highlighted and marked `≠`. **d** shows only the differing ones.
- **Metrics**: holdout metrics per run and the change against the first run; green is better,
  red is worse; the best value is underlined.
- **Curves**: each run's validation metric per iteration, overlaid.
- **Feature importance**: the share of total gain of the top features, one bar per run.
"""

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="compare-left"):
            yield Static("", id="compare-summary")
            yield Static("", id="compare-metrics")
            yield Static("", id="compare-params")
        with VerticalScroll(id="compare-right"):
            yield CurvePlot(empty_text="no curves saved", id="compare-curves")
            yield Static("", id="compare-importance")

    def show(self, comparison: RunComparison, only_differing: bool = False) -> None:
        """Draw ``comparison``."""
        theme = self.app.theme_variables
        colors = [c.hex for c in series_colors(self.app, len(comparison.runs))]
        self.query_one("#compare-summary", Static).update(self._summary(comparison, colors))
        self.query_one("#compare-metrics", Static).update(
            self._metrics(comparison, theme.get("success", "green"), theme.get("error", "red"))
        )
        self.query_one("#compare-params", Static).update(
            self._params(comparison, theme.get("warning", "yellow"), only_differing)
        )
        curves = comparison.valid_curves()
        metric = next((name for c in comparison.curves.values() for name in c.get("valid", {})), "")
        self.query_one(CurvePlot).show_curves(
            {f"run {run_id}": values for run_id, values in curves.items()},
            f"validation {metric}".strip(),
        )
        importance = self.query_one("#compare-importance", Static)
        importance.border_title = "Feature importance (share of gain)"
        importance.update(importance_lines(comparison, colors))

    @staticmethod
    def _summary(comparison: RunComparison, colors: list[str]) -> Text:
        text = Text()
        for i, run in enumerate(comparison.runs):
            text.append("■ ", style=colors[i])
            text.append(f"run {run.id}", style="bold")
            text.append(f" {run.status} on {run.snapshot_ref or '-'}")
            if run.note:
                text.append(f"  {run.note}", style="italic")
            text.append("\n")
        if comparison.same_data:
            text.append("All runs trained on the same data.", style="dim")
        else:
            text.append("The runs trained on different data.", style="bold")
        return text

    @staticmethod
    def _metrics(comparison: RunComparison, better: str, worse: str) -> Table:
        table = Table(title="Metrics (holdout)", title_justify="left", box=None,
                      padding=(0, 1), expand=False)  # fmt: skip
        table.add_column("metric", style="bold")
        runs = comparison.runs
        for run in runs:
            table.add_column(f"run {run.id}", justify="right")
        for run in runs[1:]:
            table.add_column(f"Δ {run.id}", justify="right")
        for row in comparison.metrics:
            best = row.best
            values = [
                Text(fmt_metric(v, missing="-"), style="underline bold" if i == best else "")
                for i, v in enumerate(row.values)
            ]
            deltas = [
                Text(fmt_delta(d, missing="-"), style=_delta_style(row, d, better, worse))
                for d in row.deltas[1:]
            ]
            table.add_row(row.name, *values, *deltas)
        if not comparison.metrics:
            table.add_row(Text("no metrics (no run finished)", style="italic"))
        return table

    @staticmethod
    def _params(comparison: RunComparison, highlight: str, only_differing: bool) -> Table:
        rows = comparison.differing() if only_differing else comparison.params
        title = "Parameters that differ" if only_differing else "Parameters (≠ differs)"
        table = Table(title=title, title_justify="left", box=None, padding=(0, 1))
        table.add_column("", width=1)
        table.add_column("parameter")
        for run in comparison.runs:
            table.add_column(f"run {run.id}", overflow="fold")
        for row in rows:
            style = f"bold {highlight}" if row.differs else ""
            table.add_row(
                Text("≠" if row.differs else "", style=style),
                Text(row.name, style=style),
                *(Text(v if v is not None else "-", style=style) for v in row.values),
            )
        if not rows:
            table.add_row("", Text("all parameters are equal", style="italic"))
        return table


def _delta_style(row: MetricRow, delta: float | None, better: str, worse: str) -> str:
    if delta is None or row.higher_is_better is None or math.isnan(delta) or shows_as_zero(delta):
        return "dim"  # shown as +0.0000: no colour for a change nobody can see
    improved = delta > 0 if row.higher_is_better else delta < 0
    return better if improved else worse
