"""The Experiments area (a placeholder until its feature lands)."""

from __future__ import annotations

from .base import PlaceholderScreen

__all__ = ["ExperimentsScreen"]


class ExperimentsScreen(PlaceholderScreen):
    """The Experiments area until its feature replaces this placeholder."""

    AREA_TITLE = "Experiments"
    COMING = "Training runs with their parameters, metrics and learning curves; start, follow and cancel LightGBM training on a snapshot."
    HELP = "## Experiments\n\nThis area is not built yet. Training runs with their parameters, metrics and learning curves; start, follow and cancel LightGBM training on a snapshot."
