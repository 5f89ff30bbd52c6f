"""A light loading indicator: a braille spinner and a line of text, redrawn 5 times a second.

Textual's ``LoadingIndicator`` redraws 16 times a second, which on a slow machine took enough of
the GIL to slow the workspace's loading thread by a second.
"""

from __future__ import annotations

from textual.widgets import Static

__all__ = ["Spinner"]

_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class Spinner(Static):
    """Shows that something is loading."""

    DEFAULT_CSS = """
    Spinner {
        width: 100%;
        height: 100%;
        content-align: center middle;
        color: $text-muted;
    }
    """

    def __init__(self, text: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.text = text
        self._frame = 0

    def on_mount(self) -> None:
        self._draw()
        if self.app.animation_level != "none":
            self.set_interval(0.2, self._draw)

    def _draw(self) -> None:
        self._frame = (self._frame + 1) % len(_FRAMES)
        self.update(f"[$primary]{_FRAMES[self._frame]}[/] {self.text}")
