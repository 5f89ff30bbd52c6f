"""The diff view of two snapshots: columns, rows, profile changes (pushed on the Data stack)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from ..widgets.formatting import fmt_count, fmt_share, fmt_value

if TYPE_CHECKING:
    from ...presentation import SnapshotDiff

__all__ = ["SnapshotDiffScreen"]


def _signed(n: int) -> str:
    return f"{n:+,}" if n else "no change"


def _summary(diff: SnapshotDiff) -> Text:
    text = Text()
    text.append(f"{diff.a}  →  {diff.b}\n", style="bold")
    if diff.same_content:
        text.append("Identical content: nothing changed.\n", style="green")
    text.append(
        f"rows {diff.rows_before:,} → {diff.rows_after:,} "
        f"({_signed(diff.rows_after - diff.rows_before)})"
    )
    return text


def _columns(diff: SnapshotDiff) -> Table | Text:
    retyped = ", ".join(f"{c} {a} → {b}" for c, a, b in diff.retyped_columns)
    changes = [
        ("added", "green", ", ".join(diff.added_columns)),
        ("removed", "red", ", ".join(diff.removed_columns)),
        ("retyped", "yellow", retyped),
    ]
    if not any(text for _, _, text in changes):
        return Text("Columns: the same names and types.", style="dim")
    table = Table(title="Columns", title_justify="left", box=None, padding=(0, 2, 0, 0))
    table.add_column("change", style="bold", no_wrap=True)
    table.add_column("columns")
    for label, style, text in changes:
        if text:
            table.add_row(Text(label, style=style), text)
    return table


def _rows(diff: SnapshotDiff) -> Table | Text:
    if diff.rows is None:
        return Text(
            "Rows: no key column shared by both snapshots, so rows cannot be matched "
            "(give a key when importing).",
            style="dim",
        )
    r = diff.rows
    skipped = f"; {r.not_compared_text()}" if r.not_compared else ""
    title = f"Rows (matched by key {r.key}{skipped})"
    table = Table(title=title, title_justify="left", box=None, padding=(0, 2, 0, 0))
    for name in ("added", "removed", "changed", "unchanged", "duplicate keys"):
        table.add_column(name, justify="right")
    table.add_row(
        *(fmt_count(n) for n in (r.added, r.removed, r.changed, r.unchanged, r.duplicate_keys))
    )
    return table


def _fmt_field(field: str, value) -> str:
    return fmt_share(value) if field == "null_share" and value is not None else fmt_value(value)


def _profile(diff: SnapshotDiff) -> Table | Text:
    if not diff.profile_changes:
        return Text("Profile: no column's statistics changed.", style="dim")
    table = Table(title=f"Profile changes ({len(diff.profile_changes)})", title_justify="left",
                  box=None, padding=(0, 2, 0, 0))  # fmt: skip
    table.add_column("column", style="bold", no_wrap=True)
    table.add_column("statistic", no_wrap=True)
    table.add_column("before", justify="right")
    table.add_column("after", justify="right")
    table.add_column("change", justify="right")
    for ch in diff.profile_changes:
        delta = "-"
        if isinstance(ch.before, int | float) and isinstance(ch.after, int | float):
            delta = _fmt_field(ch.field, ch.after - ch.before)
            if not delta.startswith("-"):
                delta = "+" + delta
        table.add_row(ch.column, ch.field, _fmt_field(ch.field, ch.before),
                      _fmt_field(ch.field, ch.after), delta)  # fmt: skip
    return table


class SnapshotDiffScreen(Screen[None]):
    """What changed from one snapshot to another."""

    CSS_PATH = "snapshot_diff.tcss"

    HELP = """\
## Snapshot diff

What changed from the older marked snapshot to the newer one: columns added, removed or
retyped; the row count; rows added, removed and changed when both share a key column; and
every column statistic (nulls, distinct, min, max, mean, std) that moved.

**escape** goes back to the snapshot table.
"""
    BINDINGS = [
        Binding("escape,backspace", "app.pop_screen", "Back", id="diff.back",
                tooltip="Back to the snapshot table"),
    ]  # fmt: skip

    def __init__(self, diff: SnapshotDiff) -> None:
        super().__init__()
        self.diff = diff

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="diff-body") as body:
            body.border_title = f"Diff {self.diff.a} → {self.diff.b}"
            yield Static(_summary(self.diff), id="diff-summary")
            yield Static(_columns(self.diff), id="diff-columns")
            yield Static(_rows(self.diff), id="diff-rows")
            yield Static(_profile(self.diff), id="diff-profile")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Data: diff"
        self.query_one("#diff-body").focus()
