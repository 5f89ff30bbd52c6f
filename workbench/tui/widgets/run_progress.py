"""The live training panel: iteration bar, current validation metric, elapsed and ETA, and a
learning curve that grows.

It is fed by its screen (which receives the worker's messages); it never talks to the core.
"""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import ProgressBar, Static

from .curve_plot import CurvePlot, axis_end

__all__ = ["TrainingPanel", "fmt_duration"]


def fmt_duration(seconds: float | None) -> str:
    """``0.4s``, ``42s``, ``3m05s``, ``1h02m``."""
    if seconds is None:
        return "-"
    if seconds < 9.95:
        return f"{max(0.0, seconds):.1f}s"  # a small training takes well under a second
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class TrainingPanel(Vertical):
    """Shows one training: what runs, how far it is, and its validation curve."""

    DEFAULT_CSS = """
    TrainingPanel {
        #train-body { height: 1fr; }
        #train-side { width: 46; padding: 0 1; }
        #train-title { height: 1; color: $text-accent; }
        #train-bar { height: 1; margin: 1 0; }
        #train-stats { height: auto; }
        #train-curve { width: 1fr; height: 1fr; }
    }
    """

    HELP = """\
## Training

The training that is running (or the last one): iterations done of the planned rounds,
the latest validation metric and its best value so far, time elapsed and an estimate of the
time left (early stopping usually ends it sooner). The curve is the validation metric per
iteration. **x** cancels the training; the run is then recorded as cancelled.
"""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.title = ""
        self.phase = ""
        self.total: int | None = None
        self.iteration = 0
        self.valid: list[float] = []
        self.best: tuple[float, int] | None = None
        """(lowest validation value, its iteration)."""
        self.started_at: float | None = None
        self.trained_at: float | None = None
        self.running = False
        self.outcome = ""

    def compose(self) -> ComposeResult:
        with Horizontal(id="train-body"):
            with Vertical(id="train-side"):
                yield Static("", id="train-title")
                yield ProgressBar(show_eta=False, show_percentage=True, id="train-bar")
                yield Static("", id="train-stats")
            yield CurvePlot(empty_text="waiting for the first iteration", id="train-curve")

    def on_mount(self) -> None:
        # elapsed and ETA keep moving between iterations (and while the data loads)
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        if self.running:
            self.query_one("#train-stats", Static).update(self.stats_text())

    # -- fed by the screen -------------------------------------------------------------------

    def begin(self, title: str, now: float | None = None) -> None:
        """A new training starts (clears the previous one)."""
        self.title, self.phase, self.outcome = title, "starting", ""
        self.total, self.iteration, self.valid, self.best = None, 0, [], None
        self.started_at = time.monotonic() if now is None else now
        self.trained_at = None
        self.running = True
        self.query_one("#train-bar", ProgressBar).update(total=None, progress=0)
        self._draw(curve=True)

    def phase_started(self, task: str, total: float | None, now: float | None = None) -> None:
        """The core began a phase (loading, train, logging to MLflow)."""
        self.phase = task
        if task == "train":
            self.total = int(total) if total else None
            self.trained_at = time.monotonic() if now is None else now
            self.query_one("#train-bar", ProgressBar).update(total=total, progress=0)
        self._draw()

    def iterations(self, iteration: int, valid: list[float]) -> None:
        """Iterations up to ``iteration`` are done; ``valid`` are the new validation values."""
        self.iteration = iteration
        for value in valid:
            self.valid.append(value)
            if self.best is None or value < self.best[0]:
                self.best = (value, len(self.valid))
        self.query_one("#train-bar", ProgressBar).update(progress=iteration)
        self._draw(curve=bool(valid))

    def end(self, outcome: str) -> None:
        """The training ended (finished, failed or cancelled); the panel keeps its last state."""
        self.running = False
        self.outcome = outcome
        bar = self.query_one("#train-bar", ProgressBar)
        if outcome.startswith("finished"):
            bar.update(total=max(self.iteration, 1), progress=max(self.iteration, 1))
        elif bar.total is None:  # ended before training began: stop the busy animation
            bar.update(total=1, progress=0)
        self._draw()

    # -- drawing -----------------------------------------------------------------------------

    def eta(self, now: float | None = None) -> float | None:
        """Seconds left if every remaining round takes as long as the average so far."""
        if self.phase != "train" or not self.total or not self.iteration or not self.trained_at:
            return None
        now = time.monotonic() if now is None else now
        per_round = (now - self.trained_at) / self.iteration
        return per_round * max(self.total - self.iteration, 0)

    def elapsed(self, now: float | None = None) -> float | None:
        """Seconds since the training started."""
        if self.started_at is None:
            return None
        return (time.monotonic() if now is None else now) - self.started_at

    def stats_text(self) -> Text:
        """The lines under the bar: iteration, validation metric, times, state."""
        text = Text()
        total = f"/{self.total:,}" if self.total else ""
        text.append(f"iteration {self.iteration:,}{total}\n")
        if self.valid and self.best is not None:
            best, best_at = self.best
            text.append(f"valid {self.valid[-1]:.5g}  (lowest {best:.5g} at {best_at:,})\n")
        else:
            text.append("valid -\n")
        text.append(f"elapsed {fmt_duration(self.elapsed())}")
        if self.running:
            eta = self.eta()
            text.append(f"  ETA {fmt_duration(eta) if eta is not None else '-'}")
        text.append("\n")
        if self.running:
            phase = "training" if self.phase == "train" else self.phase
            text.append(f"{phase}…  x cancels", style="italic")
        elif self.outcome:
            text.append(self.outcome, style="bold")
        return text

    def _draw(self, curve: bool = False) -> None:
        self.query_one("#train-title", Static).update(Text(self.title, style="bold"))
        self.query_one("#train-stats", Static).update(self.stats_text())
        if curve:
            self.query_one(CurvePlot).show_curves(
                {"valid": list(self.valid)} if self.valid else {},
                "validation metric",
                xmax=axis_end(len(self.valid), self.total),
            )
