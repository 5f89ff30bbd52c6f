"""The Decisions area (a placeholder until its feature lands)."""

from __future__ import annotations

from .base import PlaceholderScreen

__all__ = ["DecisionsScreen"]


class DecisionsScreen(PlaceholderScreen):
    """The Decisions area until its feature replaces this placeholder."""

    AREA_TITLE = "Decisions"
    COMING = "Retraining and promotion proposals with their evidence; approve or reject with a comment; the audit trail."
    HELP = "## Decisions\n\nThis area is not built yet. Retraining and promotion proposals with their evidence; approve or reject with a comment; the audit trail."
