"""Command-palette entries of a screen and the provider made for them when the palette opens.

A screen lists its entries as (title, help, action) and sets
``COMMANDS = {command_provider(ENTRIES)}``. The provider class (``commands.ActionCommands`` over
those entries) is made when the palette first opens, once per list of entries, so screen
modules never import ``textual.command`` (it cost ~0.1 s; Textual 8's ``textual.app`` imports
it anyway, so today this saves nothing at start-up, but the screens add nothing to it).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.command import Provider

__all__ = ["PaletteEntry", "command_provider"]

PaletteEntry = tuple[str, str, str]
"""(title, help, action); the action runs on the current screen (``app.…`` on the app)."""


def command_provider(entries: tuple[PaletteEntry, ...]) -> Callable[[], type[Provider]]:
    """A ``COMMANDS`` member: returns the provider class over ``entries``, made on first call."""

    @cache
    def provider() -> type[Provider]:
        from .commands import ActionCommands

        return type("ScreenCommands", (ActionCommands,), {"ENTRIES": entries})

    return provider
