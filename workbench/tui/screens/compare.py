"""The Compare area: two or more runs side by side.

Runs arrive from the Experiments screen (mark with space, press c), from the run field (type
ids) or from the picker (p). A worker calls ``Workspace.compare_runs`` and posts the
comparison; the handlers own which runs are shown.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from ...errors import WorkbenchError
from ..palette import command_provider
from .base import AreaScreen

if TYPE_CHECKING:
    from ...api import Workspace
    from ...presentation import RunComparison
    from .run_picker import RunChoice

__all__ = ["CompareScreen", "COMPARE_COMMANDS", "parse_run_ids"]

COMPARE_COMMANDS = (
    ("Pick runs to compare", "Choose two or more of the newest runs", "pick"),
    ("Only differing parameters", "Show only the parameters that differ (or all)", "toggle_diff"),
    ("Refresh comparison", "Reload the compared runs", "refresh"),
)
"""(title, help, action) of the Compare screen's command-palette entries."""


def parse_run_ids(text: str) -> list[int]:
    """``3, 5 8`` or ``run 3 run 5`` -> [3, 5, 8]; ValueError on anything else."""
    words = [w for w in re.split(r"[\s,;]+", text.strip().lower()) if w and w != "run"]
    bad = [w for w in words if not w.isdigit()]
    if bad:
        raise ValueError(f"not a run id: {bad[0]!r}")
    return [int(w) for w in words]


class ComparisonLoaded(Message):
    """The comparison of the chosen runs is ready."""

    bubble = False  # for this screen only

    def __init__(self, comparison: RunComparison) -> None:
        super().__init__()
        self.comparison = comparison


class ComparisonFailed(Message):
    """The runs could not be compared (unknown id, fewer than two runs...)."""

    bubble = False  # for this screen only

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class PickerReady(Message):
    """The newest runs were read for the picker."""

    bubble = False  # for this screen only

    def __init__(self, choices: list[RunChoice]) -> None:
        super().__init__()
        self.choices = choices


class CompareScreen(AreaScreen):
    """Two or more runs: parameters, metrics with deltas, curves, feature importance."""

    AREA_TITLE = "Compare"
    CSS_PATH = "compare.tcss"
    AUTO_FOCUS = "#compare-left"  # never the run field: it would swallow the area keys
    COMMANDS = {command_provider(COMPARE_COMMANDS)}
    HELP = """\
## Compare

Two or more runs side by side; the first run is the baseline.

Choose runs by marking them with **space** in the Experiments area and pressing **c**, by
typing their ids in the run field here (`3 5 8`, **enter**), or with **p** (a list of the
newest runs to tick).

**d** shows only the parameters that differ; **r** reloads the runs.
"""
    BINDINGS = [
        Binding("p", "pick", "Pick runs", id="compare.pick",
                tooltip="Choose runs to compare from the newest runs"),
        Binding("d", "toggle_diff", "Only differing", id="compare.diff",
                tooltip="Show only the parameters that differ (press again for all)"),
        Binding("slash", "focus_ids", "Run ids", id="compare.ids", key_display="/",
                tooltip="Type the ids of the runs to compare"),
        Binding("r", "refresh", "Refresh", id="compare.refresh", show=False,
                tooltip="Reload the compared runs"),
        Binding("escape", "focus_view", "View", id="compare.view", show=False,
                tooltip="Leave the run field"),
    ]  # fmt: skip

    def __init__(self) -> None:
        super().__init__()
        self.run_ids: list[int] = []
        self.comparison: RunComparison | None = None
        self.only_differing = False

    def compose_body(self) -> ComposeResult:
        yield Input(placeholder="runs to compare: 3 5 8   (enter compares; p picks from a list)",
                    id="compare-ids")  # fmt: skip
        with Vertical(id="compare-pane", classes="pane"):
            yield Static(
                "No runs chosen. Mark runs with space in Experiments (2) and press c, "
                "type run ids above, or press p to pick from the newest runs.",
                id="compare-empty",
            )

    def on_mount(self) -> None:
        super().on_mount()
        self.follow_workspace()  # no loaded token: every change reloads the comparison

    # -- entry points ------------------------------------------------------------------------

    def compare(self, run_ids: list[int]) -> None:
        """Compare these runs (the first is the baseline)."""
        self.run_ids = list(run_ids)
        self.query_one("#compare-ids", Input).value = " ".join(str(i) for i in run_ids)
        self.reload()

    def reload(self) -> None:
        """Compare the chosen runs again (two or more)."""
        if self.workspace is not None and len(self.run_ids) >= 2:
            self.load_comparison(self.workspace, list(self.run_ids))

    # -- workers -----------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="comparison",
          description="comparing runs")  # fmt: skip
    def load_comparison(self, ws: Workspace, run_ids: list[int | str]) -> None:
        try:
            comparison = ws.compare_runs(run_ids)
        except WorkbenchError as exc:
            self.post_message(ComparisonFailed(str(exc)))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(ComparisonLoaded(comparison))

    @work(thread=True, exclusive=True, exit_on_error=False, group="run-picker",
          description="reading runs")  # fmt: skip
    def load_picker(self, ws: Workspace) -> None:
        from ..widgets.run_table import MAIN_METRICS
        from .run_picker import PICKER_LIMIT, RunChoice

        frame = ws.runs(limit=PICKER_LIMIT)
        metrics = [m for m in MAIN_METRICS if m in frame.columns][:2]
        choices = []
        for row in frame.iter_rows(named=True):
            shown = "  ".join(f"{m} {row[m]:.4f}" for m in metrics if row[m] is not None)
            note = f"  {row['note']}" if row["note"] else ""
            label = (
                f"run {row['id']:<5} {row['status']:<9} {row['snapshot'] or '-':<14} {shown}{note}"
            )
            choices.append(RunChoice(row["id"], label))
        self.post_message(PickerReady(choices))

    # -- handlers ----------------------------------------------------------------------------

    @on(ComparisonLoaded)
    async def _comparison_loaded(self, event: ComparisonLoaded) -> None:
        from ..widgets.run_compare import ComparisonView

        comparison = event.comparison
        if comparison.ids != self.run_ids:
            return  # a newer choice is on its way
        self.comparison = comparison
        pane = self.query_one("#compare-pane")
        views = pane.query(ComparisonView)
        if views:
            view = views.first()
        else:
            await pane.remove_children()
            view = ComparisonView(id="compare-view")
            await pane.mount(view)
        pane.border_title = "Comparing " + ", ".join(f"run {i}" for i in comparison.ids)
        view.show(comparison, self.only_differing)
        if self.focused is None:
            self.query_one("#compare-left").focus()

    @on(ComparisonFailed)
    def _comparison_failed(self, event: ComparisonFailed) -> None:
        self.notify(event.error, title="Cannot compare", severity="error", timeout=10)

    @on(PickerReady)
    def _picker_ready(self, event: PickerReady) -> None:
        from .run_picker import RunPicker

        if not event.choices:
            self.notify("No runs yet: train one in the Experiments area.", severity="warning")
            return
        self.app.push_screen(RunPicker(event.choices, self.run_ids), self._picked)

    def _picked(self, run_ids: list[int] | None) -> None:
        if run_ids:
            self.compare(run_ids)

    @on(Input.Submitted, "#compare-ids")
    def _ids_submitted(self, event: Input.Submitted) -> None:
        try:
            ids = parse_run_ids(event.value)
        except ValueError as exc:
            self.notify(str(exc), title="Run ids", severity="error")
            return
        if len(ids) < 2:
            self.notify("Give two or more run ids.", severity="warning")
            return
        self.compare(ids)
        self.action_focus_view()

    # -- actions -----------------------------------------------------------------------------

    def action_pick(self) -> None:
        """Open the run picker."""
        if self.workspace is None:
            self.notify("The workspace is still loading.", severity="warning")
            return
        self.load_picker(self.workspace)

    def action_toggle_diff(self) -> None:
        """Show only differing parameters, or all of them."""
        from ..widgets.run_compare import ComparisonView

        self.only_differing = not self.only_differing
        views = self.query(ComparisonView)
        if views and self.comparison is not None:
            views.first().show(self.comparison, self.only_differing)

    def action_focus_ids(self) -> None:
        """Focus the run field."""
        self.query_one("#compare-ids", Input).focus()

    def action_focus_view(self) -> None:
        """Leave the run field."""
        scrolls = self.query("#compare-left")
        if scrolls:
            scrolls.first().focus()
        else:
            self.set_focus(None)

    def action_refresh(self) -> None:
        """Reload the compared runs."""
        self.reload()
