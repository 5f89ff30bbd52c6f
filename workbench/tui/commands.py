"""Command-palette providers: each lists (title, help, action) and runs the action."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from .areas import AREAS

__all__ = ["ActionCommands", "AreaCommands"]


class ActionCommands(Provider):
    """A provider over a fixed list of actions run on the screen (or the app)."""

    def commands(self) -> Iterable[tuple[str, str, str]]:
        """(title, help, action) for each command; actions run on the screen."""
        return ()

    async def _run(self, action: str) -> None:
        await self.screen.run_action(action)

    async def discover(self) -> Hits:
        for title, help_text, action in self.commands():
            yield DiscoveryHit(title, partial(self._run, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, action in self.commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(
                    score, matcher.highlight(title), partial(self._run, action), help=help_text
                )


class AreaCommands(ActionCommands):
    """Go to any area."""

    def commands(self) -> Iterable[tuple[str, str, str]]:
        for area in AREAS:
            yield (
                f"Go to {area.title}",
                f"Switch to the {area.title} area (key {area.key})",
                f"app.switch_area('{area.mode}')",
            )
