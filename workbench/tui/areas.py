"""The app's areas: one mode (with its own screen stack) per area, one module per area.

Later features replace an area's placeholder by editing only that area's module.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module

__all__ = ["Area", "AREAS", "AREA_COMMANDS", "screen_factory"]


@dataclass(frozen=True)
class Area:
    """One area of the workbench and the key that switches to it."""

    mode: str
    key: str
    title: str
    screen: str
    """``module:Class`` of the area's base screen, imported on first visit."""


AREAS: tuple[Area, ...] = (
    Area("data", "1", "Data", "workbench.tui.screens.data:DataScreen"),
    Area(
        "experiments",
        "2",
        "Experiments",
        "workbench.tui.screens.experiments.screen:ExperimentsScreen",
    ),
    Area("compare", "3", "Compare", "workbench.tui.screens.compare:CompareScreen"),
    Area("drift", "4", "Drift", "workbench.tui.screens.drift.screen:DriftScreen"),
    Area("models", "5", "Models", "workbench.tui.screens.models:ModelsScreen"),
    Area("monitor", "6", "Monitor", "workbench.tui.screens.monitor:MonitorScreen"),
    Area("decisions", "7", "Decisions", "workbench.tui.screens.decisions:DecisionsScreen"),
)

AREA_COMMANDS = tuple(
    (
        f"Go to {area.title}",
        f"Switch to the {area.title} area (key {area.key})",
        f"app.switch_area('{area.mode}')",
    )
    for area in AREAS
)
"""Command-palette entries (title, help, action) that go to each area."""


def screen_factory(area: Area):
    """A callable that imports the area's module and builds its screen (for ``App.MODES``)."""

    def build():
        module, _, cls = area.screen.partition(":")
        return getattr(import_module(module), cls)()

    return build
