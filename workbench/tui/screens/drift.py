"""The Drift area (a placeholder until its feature lands)."""

from __future__ import annotations

from .base import PlaceholderScreen

__all__ = ["DriftScreen"]


class DriftScreen(PlaceholderScreen):
    """The Drift area until its feature replaces this placeholder."""

    AREA_TITLE = "Drift"
    COMING = "Drift between a reference snapshot and a current one: per-column tests, scores and histograms, with the Evidently report one key away."
    HELP = "## Drift\n\nThis area is not built yet. Drift between a reference snapshot and a current one: per-column tests, scores and histograms, with the Evidently report one key away."
