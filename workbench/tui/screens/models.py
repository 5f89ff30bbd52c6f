"""The Models area (a placeholder until its feature lands)."""

from __future__ import annotations

from .base import PlaceholderScreen

__all__ = ["ModelsScreen"]


class ModelsScreen(PlaceholderScreen):
    """The Models area until its feature replaces this placeholder."""

    AREA_TITLE = "Models"
    COMING = "Registered model versions, their aliases (champion, challenger) and alias history, lineage back to runs and snapshots, model cards."
    HELP = "## Models\n\nThis area is not built yet. Registered model versions, their aliases (champion, challenger) and alias history, lineage back to runs and snapshots, model cards."
