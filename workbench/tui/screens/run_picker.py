"""Pick runs to compare from the most recent ones (a modal over the Compare screen)."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, SelectionList, Static
from textual.widgets.selection_list import Selection

__all__ = ["RunPicker", "RunChoice", "PICKER_LIMIT"]

#: how many of the newest runs the picker lists (older ones: type their ids)
PICKER_LIMIT = 200


@dataclass(frozen=True)
class RunChoice:
    """One run as the picker lists it."""

    id: int
    label: str


class RunPicker(ModalScreen["list[int] | None"]):
    """Choose two or more runs; enter compares them, escape closes."""

    CSS_PATH = "run_picker.tcss"

    HELP = """\
## Pick runs

The newest runs. **space** ticks a run, **enter** compares the ticked runs (two or more, in
the order shown: the first is the baseline), **escape** closes. Older runs: type their ids in
the Compare screen's run field, or mark them in the Experiments table and press **c**.
"""
    BINDINGS = [
        Binding("escape", "close", "Close", id="run-picker.close",
                tooltip="Close without changing the comparison"),
        Binding("enter", "choose", "Compare", id="run-picker.choose", priority=True,
                tooltip="Compare the ticked runs"),
    ]  # fmt: skip

    def __init__(self, choices: list[RunChoice], selected: list[int]) -> None:
        super().__init__()
        self.choices = choices
        self.selected = selected

    def compose(self) -> ComposeResult:
        with Vertical(id="run-picker"):
            yield Static("Tick runs with space, enter compares them", id="run-picker-hint")
            yield SelectionList[int](
                *(Selection(c.label, c.id, c.id in self.selected) for c in self.choices),
                id="run-picker-list",
            )
            with Horizontal(id="run-picker-buttons"):
                yield Button("Compare", variant="primary", id="run-picker-ok")
                yield Button("Close", id="run-picker-close")

    def on_mount(self) -> None:
        self.query_one("#run-picker", Vertical).border_title = "Runs to compare"
        self.query_one(SelectionList).focus()

    @on(Button.Pressed, "#run-picker-ok")
    def action_choose(self) -> None:
        """Compare the ticked runs (in list order)."""
        ticked = set(self.query_one(SelectionList).selected)
        ids = [c.id for c in self.choices if c.id in ticked]
        if len(ids) < 2:
            self.notify("Tick two or more runs.", severity="warning")
            return
        self.dismiss(ids)

    @on(Button.Pressed, "#run-picker-close")
    def action_close(self) -> None:
        """Close without comparing."""
        self.dismiss(None)
