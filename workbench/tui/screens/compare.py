"""The Compare area (a placeholder until its feature lands)."""

from __future__ import annotations

from .base import PlaceholderScreen

__all__ = ["CompareScreen"]


class CompareScreen(PlaceholderScreen):
    """The Compare area until its feature replaces this placeholder."""

    AREA_TITLE = "Compare"
    COMING = "Side-by-side comparison of selected runs: metrics, parameters, curves and feature importance."
    HELP = "## Compare\n\nThis area is not built yet. Side-by-side comparison of selected runs: metrics, parameters, curves and feature importance."
