"""The detail pane: a snapshot's metadata, schema and per-column profile.

It receives a loaded ``Snapshot`` from its screen; it never reads the store itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Sparkline, Static

from .formatting import fmt_count, fmt_share, fmt_value

if TYPE_CHECKING:
    from ...api import Snapshot
    from ...presentation import ColumnProfile

__all__ = ["SnapshotDetail", "ColumnProfileRow"]

_STATS_HEADER = (
    f"{'column':<18} {'type':<9} {'nulls':>6} {'distinct':>8} "
    f"{'min':>10} {'mean':>9} {'max':>10}  histogram / top values"
)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class ColumnProfileRow(Horizontal):
    """One column of the profile: statistics, then a histogram sparkline or top values."""

    def __init__(self, profile: ColumnProfile, n_rows: int) -> None:
        super().__init__(classes="profile-row")
        self.profile = profile
        self.n_rows = n_rows

    def compose(self) -> ComposeResult:
        p = self.profile
        stats = (
            f"{_cut(p.name, 18):<18} {_cut(p.dtype, 9):<9} {fmt_share(p.null_share):>6} "
            f"{fmt_count(p.distinct):>8} {_cut(fmt_value(p.min), 10):>10} "
            f"{_cut(fmt_value(p.mean), 9):>9} {_cut(fmt_value(p.max), 10):>10}"
        )
        yield Static(Text(stats), classes="profile-stats")
        if p.kind == "numeric" and len(p.hist_counts) > 1:
            yield Sparkline(p.hist_counts, classes="profile-hist")
        else:
            yield Static(
                Text(self._top_values(), no_wrap=True, overflow="ellipsis"), classes="profile-top"
            )

    def _top_values(self) -> str:
        p, n = self.profile, max(self.n_rows, 1)
        if p.not_numbers:  # a text column of numbers but for a few values: say which
            shown = ", ".join(repr(v) for v in p.not_number_values)
            return f"⚠ numbers but for {p.not_numbers:,} values ({shown})"
        if not p.summarised:
            return "values not summarised"
        if p.kind == "categorical" and p.all_distinct(self.n_rows):
            return "all values distinct"
        return "  ".join(f"{v} {count / n:.0%}" for v, count in p.top_values[:4])


class SnapshotDetail(VerticalScroll):
    """Metadata and profile of the highlighted snapshot."""

    DEFAULT_CSS = """
    SnapshotDetail {
        .detail-meta { margin-bottom: 1; }
        .detail-empty { color: $text-muted; }
        .profile-header { color: $text-accent; }
        .profile-row { height: 1; }
        .profile-stats { width: 77; }
        .profile-hist { width: 40; margin-left: 2; }
        .profile-top { width: 1fr; margin-left: 2; color: $text-muted; }
    }
    """

    HELP = """\
## Snapshot detail

The highlighted snapshot's metadata (roles, source, hash) and a profile of every column:
type, share of nulls, distinct values, min / mean / max, and a histogram sparkline for numbers
or the most frequent values for categories.
"""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.snapshot_id: int | None = None

    def compose(self) -> ComposeResult:
        yield Static("Loading…", classes="detail-empty")

    async def show(self, snap: Snapshot | None) -> None:
        """Replace the pane's content with ``snap`` (None: nothing selected)."""
        self.snapshot_id = None if snap is None else snap.id
        await self.remove_children()
        if snap is None:
            await self.mount(
                Static("No snapshots yet. Press i to import a file.", classes="detail-empty")
            )
            return
        self.border_title = f"{snap.ref}"
        await self.mount_all(
            [
                Static(_metadata(snap), classes="detail-meta"),
                Static(Text(_STATS_HEADER, style="bold"), classes="profile-header"),
                *(ColumnProfileRow(p, snap.n_rows) for p in snap.profile),
            ]
        )


def _metadata(snap: Snapshot) -> Text:
    roles = [
        f"{role} {col}"
        for role, col in (
            ("target", snap.target),
            ("time", snap.time_column),
            ("key", snap.key_column),
        )
        if col
    ]
    source = Path(snap.source_path).name if snap.source_path else "-"
    text = Text()
    text.append(snap.ref, style="bold")
    text.append(f"  {snap.n_rows:,} rows x {snap.n_columns} columns  ")
    text.append(f"hash {snap.short_hash}", style="dim")
    text.append(f"\ncreated {snap.created_at:%Y-%m-%d %H:%M} by {snap.author}  source {source}")
    text.append(f"\nroles: {', '.join(roles) if roles else 'none'}")
    if snap.message:
        text.append(f"\n{snap.message}", style="italic")
    return text
