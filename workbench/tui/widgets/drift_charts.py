"""Drift charts (textual-plotext): one column's reference and current distributions, and drift
share over windows or batches. The widgets only draw what they are given."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.color import Color
from textual_plotext import PlotextPlot

from .curve_plot import series_colors

if TYPE_CHECKING:
    from ...presentation import ColumnDistribution

__all__ = ["DistributionPlot", "DriftSharePlot", "short_label"]

#: category labels are cut to this many characters so bars stay readable
LABEL_WIDTH = 12


def short_label(text: str, width: int = LABEL_WIDTH) -> str:
    """``text`` cut to ``width`` characters (with an ellipsis)."""
    text = str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


class DistributionPlot(PlotextPlot):
    """Reference and current shares of one column: overlaid histograms or category bars."""

    HELP = """\
## Distribution

The highlighted column in the reference (filled) and the current data (line), as shares of
each side's rows. Numerical columns use the shared bins Evidently uses for its binned tests;
categorical columns show one pair of bars per category (the rarest folded into "(other)").
"""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.distribution: ColumnDistribution | None = None
        self.message = "select a column"

    def on_mount(self) -> None:
        super().on_mount()
        self.show(None)

    def show(self, dist: ColumnDistribution | None, message: str = "select a column") -> None:
        """Draw ``dist`` (or an empty frame titled ``message``)."""
        self.distribution, self.message = dist, message
        plt = self.plt
        plt.clear_figure()
        if dist is None:
            plt.title(message)
            self.refresh()
            return
        ref_color, cur_color = (c.rgb for c in series_colors(self.app, 2))
        plt.ylabel("share of rows")
        if dist.categories is not None:
            labels = [short_label(c) for c in dist.categories]
            # textual-plotext's stub lacks plotext's labels= and a colour per series
            plt.multiple_bar(  # type: ignore[call-arg]
                labels, [dist.ref_shares, dist.cur_shares], labels=["reference", "current"],
                color=[ref_color, cur_color],  # type: ignore[arg-type]
            )  # fmt: skip
            plt.title(f"{dist.column} (categories)")
        else:
            edges = dist.edges or [0.0, 1.0]
            centers = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)]
            plt.plot(centers, dist.ref_shares, label="reference", color=ref_color, fillx=True)
            plt.plot(centers, dist.cur_shares, label="current", color=cur_color,
                     marker="braille")  # fmt: skip
            plt.title(f"{dist.column} ({len(centers)} bins)")
        self.refresh()


class DriftSharePlot(PlotextPlot):
    """Share of drifted columns per window or batch, with the dataset-drift threshold line."""

    HELP = """\
## Drift share

For each window (or batch), the share of tested columns that drifted. The line is the
dataset-drift threshold (drift share, 0.5 by default): bars reaching it mean dataset drift.
Batches flagged for data quality (nulls jumping, values moving by many standard deviations)
are marked with "!".
"""

    def __init__(self, empty_text: str = "no windows", **kwargs) -> None:
        super().__init__(**kwargs)
        self.empty_text = empty_text
        self.labels: list[str] = []
        self.shares: list[float] = []

    def on_mount(self) -> None:
        super().on_mount()
        self.show([], [], 0.5, "")

    def show(
        self,
        labels: list[str],
        shares: list[float],
        threshold: float,
        title: str,
        flagged: list[bool] | None = None,
    ) -> None:
        """One bar per label; ``flagged`` bars get a "!" after their label."""
        self.labels, self.shares = list(labels), list(shares)
        plt = self.plt
        plt.clear_figure()
        if not labels:
            plt.title(f"{title}  ({self.empty_text})".strip())
            self.refresh()
            return
        flagged = flagged or [False] * len(labels)
        shown = [f"{lab}!" if flag else lab for lab, flag in zip(labels, flagged, strict=True)]
        color = series_colors(self.app, 1)[0].rgb
        plt.bar(shown, shares, color=color, width=0.6)
        plt.hline(threshold, Color.parse(self.app.theme_variables.get("error", "red")).rgb)
        plt.ylim(0, 1)
        plt.ylabel("drift share")
        plt.title(title)
        self.refresh()
