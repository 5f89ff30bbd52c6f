"""Learning curves drawn with plotext (textual-plotext): one line per series, theme colours.

Used by the live training panel (a curve that grows) and by the Compare screen (validation
curves of several runs overlaid). The widget only draws what it is given.
"""

from __future__ import annotations

from textual.app import App
from textual.color import Color
from textual_plotext import PlotextPlot

from ...presentation import iteration_ticks

__all__ = ["CurvePlot", "series_colors", "thin", "axis_end", "MAX_POINTS"]

#: points drawn per line at most: plotext is pure Python, and a curve of a million iterations
#: redrawn a few times a second would starve the UI thread
MAX_POINTS = 400

_COLOR_VARIABLES = ("primary", "warning", "success", "error", "accent", "secondary")


def series_colors(app: App, n: int) -> list[Color]:
    """``n`` distinguishable colours from the app's theme (cycled when there are more)."""
    variables = app.theme_variables
    palette = [Color.parse(variables[name]) for name in _COLOR_VARIABLES if name in variables]
    palette = palette or [Color(80, 160, 255)]
    return [palette[i % len(palette)] for i in range(n)]


def thin(values: list[float], limit: int = MAX_POINTS) -> tuple[list[int], list[float]]:
    """Iterations (from 1) and values, every k-th point so at most ``limit`` remain (plus the last)."""
    step = max(1, -(-len(values) // limit))
    xs = list(range(1, len(values) + 1, step))
    if xs[-1] != len(values):
        xs.append(len(values))
    return xs, [values[x - 1] for x in xs]


def axis_end(done: int, total: int | None, start: int = 100) -> int:
    """Where a growing curve's iteration axis ends: ``start``, doubled while the curve would
    reach its last tenth, never past ``total`` (the rounds asked for).

    Drawn to ``total`` at once, a run of 200,000 rounds that early-stops at 150 is a line
    pressed against the left edge; rescaled to every new point, the axis would never stand
    still. Doubling moves it a few times per run.
    """
    end = start
    while end < done * 1.1:
        end *= 2
    return max(1, min(end, total)) if total else end


class CurvePlot(PlotextPlot):
    """Per-iteration metric curves; ``show_curves`` replaces what is drawn."""

    HELP = """\
## Learning curve

The metric on the validation rows (or on each run's validation rows, overlaid) per boosting
iteration. Lower is better for losses (logloss, l2); early stopping keeps the best iteration.
"""

    def __init__(self, empty_text: str = "no curve yet", **kwargs) -> None:
        super().__init__(**kwargs)
        self.empty_text = empty_text
        self.series: dict[str, list[float]] = {}

    def on_mount(self) -> None:
        super().on_mount()
        self.show_curves({}, "")

    def show_curves(
        self, series: dict[str, list[float]], title: str, ylabel: str = "", xmax: int | None = None
    ) -> None:
        """Draw one line per ``label -> values`` (values per iteration, counting from 1)."""
        self.series = series
        plt = self.plt
        plt.clear_figure()
        plt.title(title if series else f"{title}  ({self.empty_text})".strip())
        plt.xlabel("iteration")
        if ylabel:
            plt.ylabel(ylabel)
        colors = series_colors(self.app, len(series))
        for (label, values), color in zip(series.items(), colors, strict=True):
            if values:
                xs, ys = thin(values)
                plt.plot(xs, ys, label=label, color=color.rgb, marker="braille")
        end = xmax or max((len(v) for v in series.values()), default=0)
        if end > 1:
            plt.xlim(1, end)
            ticks: list[float] = list(iteration_ticks(end))  # plotext's stub takes floats
            plt.xticks(ticks, [f"{t:,}" for t in ticks])
        self.refresh()
