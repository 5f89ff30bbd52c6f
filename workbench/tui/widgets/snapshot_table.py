"""The snapshot table: textual-fastdatatable over a Polars frame (thousands of rows stay fast).

Imported only after the workspace has loaded: it pulls Polars and pyarrow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl
from textual_fastdatatable import DataTable
from textual_fastdatatable.backend import create_backend

if TYPE_CHECKING:
    from rich.text import Text

__all__ = ["SnapshotRows", "SnapshotTable", "snapshot_rows", "MARK", "MARK_COLUMN"]

MARK = "●"
MARK_COLUMN = 0
_LABELS: list[str | Text] = ["", "name", "version", "rows", "columns", "created", "message", "hash"]


@dataclass(frozen=True)
class SnapshotRows:
    """The table's display frame and, per row, the snapshot's id and reference."""

    frame: pl.DataFrame
    ids: list[int]
    refs: list[str]

    def row_of(self, snapshot_id: int | None) -> int | None:
        """The row showing ``snapshot_id``, or None."""
        if snapshot_id is None:
            return None
        try:
            return self.ids.index(snapshot_id)
        except ValueError:
            return None


def snapshot_rows(table: pl.DataFrame) -> SnapshotRows:
    """Shape ``Workspace.snapshot_table()`` for display (runs in a worker thread)."""
    display = table.select(
        pl.lit(" ").alias("mark"),
        "name",
        "v",
        "n_rows",
        "n_columns",
        pl.col("created_at").dt.strftime("%Y-%m-%d %H:%M").alias("created"),
        "message",
        "hash",
    )
    refs = (table["name"] + "@" + table["v"]).to_list()
    return SnapshotRows(display, table["id"].to_list(), refs)


class SnapshotTable(DataTable):
    """Every snapshot, newest first; space marks two for a diff."""

    HELP = """\
## Snapshot table

One row per snapshot version, newest first. Move with the arrow keys, Page Up/Down, Home/End.
The detail pane below follows the highlighted row.

- **space** marks (or unmarks) the highlighted snapshot; mark two and press **d** to diff them.
- **i** imports a new file; **r** reloads (changes by other processes appear by themselves).
"""

    def __init__(self, rows: SnapshotRows, **kwargs) -> None:
        super().__init__(
            backend=create_backend(rows.frame),
            column_labels=_LABELS,
            cursor_type="row",
            show_row_labels=False,
            max_column_content_width=48,
            **kwargs,
        )
        self.rows = rows

    def set_mark(self, row: int, marked: bool) -> None:
        """Show or hide the mark on ``row``."""
        self.update_cell(row, MARK_COLUMN, MARK if marked else " ")

    def mark_snapshot(self, snapshot_id: int, marked: bool) -> None:
        """Show or hide the mark on the row of ``snapshot_id`` (if the table shows it)."""
        row = self.rows.row_of(snapshot_id)
        if row is not None:
            self.set_mark(row, marked)
