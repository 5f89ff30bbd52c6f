"""The command-palette provider over a fixed list of (title, help, action) entries.

Imported only when the palette opens: ``palette.command_provider`` makes one subclass per
list of entries.
"""

from __future__ import annotations

from functools import partial
from typing import ClassVar

from textual.command import DiscoveryHit, Hit, Hits, Provider

from .palette import PaletteEntry

__all__ = ["ActionCommands"]


class ActionCommands(Provider):
    """A provider over ``ENTRIES``; each entry's action runs on the screen (or the app)."""

    ENTRIES: ClassVar[tuple[PaletteEntry, ...]] = ()

    async def _run(self, action: str) -> None:
        await self.screen.run_action(action)

    async def discover(self) -> Hits:
        for title, help_text, action in self.ENTRIES:
            yield DiscoveryHit(title, partial(self._run, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, action in self.ENTRIES:
            score = matcher.match(title)
            if score > 0:
                yield Hit(
                    score, matcher.highlight(title), partial(self._run, action), help=help_text
                )
