"""The launch form: what to train (snapshot, target, task, parameters, split, seed, note).

The form only collects and checks the values; it returns a ``TrainRequest`` and the
Experiments screen runs the training (so the table stays usable while it trains). Parameters
LightGBM itself rejects are reported by the core when the run fails, like in the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from ...presentation import DEFAULT_PARAMS, parse_value

__all__ = ["TrainForm", "TrainRequest", "SnapshotChoice", "parse_params", "FORM_PARAMS"]

TASKS = ("auto", "binary", "multiclass", "regression")
SPLITS = ("random", "time")
#: parameters with their own field: (LightGBM name, label)
FORM_PARAMS = (
    ("learning_rate", "learning rate"),
    ("num_leaves", "leaves"),
    ("num_iterations", "rounds"),
    ("early_stopping_round", "early stop (0 = off)"),
)


@dataclass(frozen=True)
class SnapshotChoice:
    """A snapshot as the form offers it."""

    ref: str
    target: str | None
    columns: list[str]
    time_column: str | None = None


@dataclass(frozen=True)
class TrainRequest:
    """What the form asks the workspace to train (``Workspace.train`` arguments)."""

    ref: str
    target: str | None
    task: str = "auto"
    params: dict[str, Any] = field(default_factory=dict)
    split: str = "random"
    test_size: float = 0.2
    seed: int = 42
    note: str | None = None
    #: mirror the run to MLflow (params, metrics, curves, model)
    mlflow: bool = True


def parse_params(text: str) -> dict[str, Any]:
    """``key=value key=value`` (commas also separate) -> a dict; ValueError if malformed."""
    params: dict[str, Any] = {}
    for item in text.replace(",", " ").split():
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ValueError(f"'{item}' is not key=value")
        params[key.strip()] = parse_value(value)
    return params


class TrainForm(ModalScreen["TrainRequest | None"]):
    """Choose a snapshot and parameters and start a training; escape closes."""

    CSS_PATH = "train_form.tcss"

    HELP = """\
## Train a model

Train LightGBM on a snapshot. The target defaults to the column the snapshot records as its
target; the task is detected from it (**auto**) unless you choose one. The parameter fields
show the workbench defaults; change any of them, or add other LightGBM parameters as
`key=value` pairs (`min_data_in_leaf=40 feature_fraction=0.8`). Early stopping watches a
validation split; 0 turns it off. The holdout (test size, seed, random or time split) is
recorded so the run can be reproduced.

**enter** or **Train** starts the training (it runs in the background; **x** on the
Experiments screen cancels it); **escape** closes the form.
"""
    BINDINGS = [
        Binding("escape", "close", "Close", id="train-form.close",
                tooltip="Close the form without training"),
    ]  # fmt: skip

    def __init__(self, snapshots: list[SnapshotChoice], default_ref: str | None = None) -> None:
        super().__init__()
        self.snapshots = {s.ref: s for s in snapshots}
        self.default_ref = default_ref if default_ref in self.snapshots else None
        if self.default_ref is None and snapshots:
            with_target = [s.ref for s in snapshots if s.target]
            self.default_ref = (with_target or [snapshots[0].ref])[0]

    def compose(self) -> ComposeResult:
        choice = self.snapshots.get(self.default_ref) if self.default_ref else None
        with Vertical(id="train-form") as form:
            form.border_title = "Train a model"
            with Horizontal(classes="form-row"):
                with Vertical(classes="form-cell"):
                    yield Label("Snapshot")
                    yield Select(
                        [(ref, ref) for ref in self.snapshots], value=self.default_ref or Select.NULL,
                        allow_blank=not self.snapshots, id="train-snapshot",
                    )  # fmt: skip
                with Vertical(classes="form-cell"):
                    yield Label("Target")
                    yield Select(self._target_options(choice), id="train-target",
                                 value=self._default_target(choice))  # fmt: skip
                with Vertical(classes="form-cell"):
                    yield Label("Task")
                    yield Select([(t, t) for t in TASKS], value="auto", allow_blank=False,
                                 id="train-task")  # fmt: skip
            with Horizontal(classes="form-row"):
                for name, label in FORM_PARAMS:
                    with Vertical(classes="form-cell"):
                        yield Label(label)
                        yield Input(str(DEFAULT_PARAMS[name]), id=f"train-{name}",
                                    placeholder=str(DEFAULT_PARAMS[name]))  # fmt: skip
            yield Label("Other LightGBM parameters (key=value ...)")
            yield Input(placeholder="min_data_in_leaf=40 feature_fraction=0.8", id="train-extra")
            with Horizontal(classes="form-row"):
                with Vertical(classes="form-cell"):
                    yield Label("Split")
                    yield Select([(s, s) for s in SPLITS], value="random", allow_blank=False,
                                 id="train-split")  # fmt: skip
                with Vertical(classes="form-cell"):
                    yield Label("Test size")
                    yield Input("0.2", id="train-test-size")
                with Vertical(classes="form-cell"):
                    yield Label("Seed")
                    yield Input("42", id="train-seed")
                with Vertical(classes="form-cell"):
                    yield Label("MLflow")
                    yield Checkbox("mirror the run", value=True, id="train-mlflow")
            yield Label("Note (optional)")
            yield Input(placeholder="what this run tries", id="train-note")
            yield Static("", id="train-error")
            with Horizontal(id="train-buttons"):
                yield Button("Train", variant="primary", id="train-run")
                yield Button("Close", id="train-close")

    def on_mount(self) -> None:
        self.query_one("#train-snapshot", Select).focus()

    @staticmethod
    def _target_options(choice: SnapshotChoice | None) -> list[tuple[str, str]]:
        return [(c, c) for c in choice.columns] if choice else []

    @staticmethod
    def _default_target(choice: SnapshotChoice | None):
        return choice.target if choice and choice.target in choice.columns else Select.NULL

    @on(Select.Changed, "#train-snapshot")
    def _snapshot_changed(self, event: Select.Changed) -> None:
        choice = self.snapshots.get(event.value) if isinstance(event.value, str) else None
        target = self.query_one("#train-target", Select)
        target.set_options(self._target_options(choice))
        target.value = self._default_target(choice)

    def _fail(self, message: str) -> None:
        self.query_one("#train-error", Static).update(message)

    def request(self) -> TrainRequest | None:
        """The request the fields describe, or None (and the reason shown) if they are wrong."""

        def text(widget_id: str) -> str:
            return self.query_one(f"#{widget_id}", Input).value.strip()

        ref = self.query_one("#train-snapshot", Select).value
        if not isinstance(ref, str):
            self._fail("Choose a snapshot.")
            return None
        target = self.query_one("#train-target", Select).value
        params: dict[str, Any] = {}
        for name, label in FORM_PARAMS:
            raw = text(f"train-{name}")
            if not raw:
                continue
            value = parse_value(raw)
            if isinstance(value, (bool, str)):
                self._fail(f"{label} must be a number, not {raw!r}.")
                return None
            if value != DEFAULT_PARAMS[name]:
                params[name] = value
        try:
            params.update(parse_params(text("train-extra")))
        except ValueError as exc:
            self._fail(f"Other parameters: {exc}.")
            return None
        try:
            test_size = float(text("train-test-size") or "0.2")
            seed = int(text("train-seed") or "42")
        except ValueError:
            self._fail("Test size must be a fraction like 0.2 and seed a whole number.")
            return None
        if not 0 < test_size < 1:
            self._fail("Test size must be between 0 and 1.")
            return None
        split = str(self.query_one("#train-split", Select).value)
        choice = self.snapshots.get(ref)
        chosen_target = target if isinstance(target, str) else None
        if (
            split == "time"
            and choice is not None
            and (not choice.time_column or choice.time_column == (chosen_target or choice.target))
        ):
            why = "its time column is the target" if choice.time_column else "it records none"
            self._fail(f"A time split on {ref} needs a time column, and {why}: use random.")
            return None
        return TrainRequest(
            ref=ref,
            target=target if isinstance(target, str) else None,
            task=str(self.query_one("#train-task", Select).value),
            params=params,
            split=split,
            test_size=test_size,
            seed=seed,
            note=text("train-note") or None,
            mlflow=self.query_one("#train-mlflow", Checkbox).value,
        )

    @on(Button.Pressed, "#train-run")
    @on(Input.Submitted)
    def _submit(self) -> None:
        request = self.request()
        if request is not None:
            self.dismiss(request)

    @on(Button.Pressed, "#train-close")
    def action_close(self) -> None:
        """Close the form without training."""
        self.dismiss(None)
