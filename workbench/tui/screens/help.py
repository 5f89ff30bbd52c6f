"""The help screen (``?``): help for the screen and the focused widget, and the active keys."""

from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Markdown, Static

__all__ = ["HelpScreen", "KeyHelp"]


@dataclass(frozen=True)
class KeyHelp:
    """One active key binding as the help screen lists it."""

    key: str
    description: str
    tooltip: str
    binding_id: str | None


class HelpScreen(ModalScreen[None]):
    """Context help over the screen it was opened from."""

    CSS_PATH = "help.tcss"

    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close", id="help.close",
                tooltip="Close the help screen"),
    ]  # fmt: skip

    def __init__(self, title: str, screen_help: str, widget_help: str, keys: list[KeyHelp]) -> None:
        super().__init__()
        self.help_title = title
        self.screen_help = screen_help
        self.widget_help = widget_help
        self.keys = keys

    @classmethod
    def for_screen(cls, screen: Screen) -> HelpScreen:
        """Collect help for ``screen``, its focused widget and its active bindings."""
        focused = screen.focused
        widget_help = getattr(focused, "HELP", "") if focused is not None else ""
        # The screen's own keys first, then the app's, then the focused widget's; keys bound
        # to the same action are listed together.
        grouped: dict[tuple[int, int, str], list] = {}
        for active in screen.active_bindings.values():
            binding = active.binding
            if binding.system or not binding.description:
                continue
            rank = 0 if active.node is screen else 1 if active.node is screen.app else 2
            entry = grouped.setdefault((rank, id(active.node), binding.action), [[], binding])
            entry[0].append(binding.key_display or screen.app.get_key_display(binding))
        keys = [
            KeyHelp(", ".join(dict.fromkeys(displays)), b.description, b.tooltip, b.id)
            for (_rank, _node, _action), (displays, b) in sorted(
                grouped.items(), key=lambda item: item[0][0]
            )
        ]
        title = screen.title or screen.app.title
        return cls(title, getattr(screen, "HELP", "") or "", widget_help or "", keys)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body") as body:
            body.border_title = f"Help: {self.help_title}"
            body.border_subtitle = "esc to close"
            if self.screen_help:
                yield Markdown(self.screen_help, id="help-screen")
            if self.widget_help:
                yield Markdown(self.widget_help, id="help-widget")
            yield Static(self._keys_table(), id="help-keys")

    def _keys_table(self) -> Table:
        table = Table(title="Keys", title_justify="left", box=None, expand=True, padding=(0, 1))
        table.add_column("key", style="bold", max_width=16)
        table.add_column("does")
        table.add_column("", style="dim")
        for k in self.keys:
            table.add_row(Text(k.key), Text(k.description), Text(k.tooltip))
        return table
