"""The Monitor area (a placeholder until its feature lands)."""

from __future__ import annotations

from .base import PlaceholderScreen

__all__ = ["MonitorScreen"]


class MonitorScreen(PlaceholderScreen):
    """The Monitor area until its feature replaces this placeholder."""

    AREA_TITLE = "Monitor"
    COMING = "Scoring windows of the prediction log: volume, prediction drift and performance over time, with open alerts."
    HELP = "## Monitor\n\nThis area is not built yet. Scoring windows of the prediction log: volume, prediction drift and performance over time, with open alerts."
