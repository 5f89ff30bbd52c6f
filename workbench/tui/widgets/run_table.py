"""The runs table: textual-fastdatatable over a Polars frame (100,000 runs scroll smoothly).

``run_rows`` shapes ``Workspace.runs()`` for display in a worker thread (formatting, the mark
column, column widths measured there rather than on the UI thread); ``RunTable`` only shows it.
Imported only after the workspace has loaded: it pulls Polars and pyarrow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl
from textual_fastdatatable import DataTable
from textual_fastdatatable.backend import DataTableBackend, create_backend

if TYPE_CHECKING:
    from rich.text import Text

__all__ = ["RunRows", "RunTable", "run_rows", "MARK", "MARK_COLUMN", "MAIN_METRICS"]

MARK = "●"
MARK_COLUMN = 0

#: metrics shown as columns when any run has them, in this order (the rest: Compare)
MAIN_METRICS = ("auc", "logloss", "macro_f1", "rmse", "r2")
#: parameters shown as columns (LightGBM main name, column label)
KEY_PARAMS = (("learning_rate", "lr"), ("num_leaves", "leaves"), ("num_iterations", "rounds"))


@dataclass(frozen=True)
class _Column:
    label: str
    #: the field the filter and sort language knows this column by (None: not sortable)
    field: str | None
    expr: pl.Expr


def _columns(frame: pl.DataFrame) -> list[_Column]:
    """The display columns for the fields this frame has."""
    names = set(frame.columns)
    cols = [
        _Column("", None, pl.lit(" ").alias("mark")),
        _Column("id", "id", pl.col("id")),
        _Column("status", "status", pl.col("status")),
        _Column("snapshot", "snapshot", pl.col("snapshot")),
        _Column("target", "target", pl.col("target")),
        _Column("task", "task", pl.col("task")),
    ]
    for metric in MAIN_METRICS:  # one no listed run has is left out, as in `runs list`
        if metric in names and (frame.height == 0 or frame[metric].null_count() < frame.height):
            cols.append(_Column(metric, metric, pl.col(metric).round(4)))
    for param, label in KEY_PARAMS:
        if param in names:
            cols.append(_Column(label, param, pl.col(param)))
    cols += [
        _Column("best", "best_iteration", pl.col("best_iteration")),
        _Column(
            "took",
            "duration_s",
            pl.when(pl.col("duration_s").is_null())
            .then(pl.lit(None, dtype=pl.String))
            .otherwise(pl.col("duration_s").round(1).cast(pl.String) + "s"),
        ),
        _Column("created", "created_at", pl.col("created_at").dt.strftime("%m-%d %H:%M")),
        _Column("note", "note", pl.col("note")),
    ]
    return cols


@dataclass(frozen=True)
class RunRows:
    """The table's display data and, per row, the run's id and status."""

    frame: pl.DataFrame
    backend: DataTableBackend
    labels: list[str | Text]
    """Column labels, typed as the table takes them (all are ``str``)."""
    fields: list[str | None]
    ids: list[int]
    statuses: list[str]

    def row_of(self, run_id: int | None) -> int | None:
        """The row showing ``run_id``, or None."""
        if run_id is None:
            return None
        try:
            return self.ids.index(run_id)
        except ValueError:
            return None

    def column_of(self, field: str) -> int | None:
        """The column showing ``field``, or None."""
        try:
            return self.fields.index(field)
        except ValueError:
            return None


def sort_field(sort: str) -> tuple[str, bool]:
    """(field, descending) of a one-key sort text such as ``-auc``."""
    return sort.lstrip("-"), sort.startswith("-")


def run_rows(runs: pl.DataFrame, marked: set[int], sort: str) -> RunRows:
    """Shape ``Workspace.runs()`` for display (runs in a worker thread)."""
    cols = _columns(runs)
    display = runs.select([c.expr.alias(f"c{i}") for i, c in enumerate(cols)])
    if marked:
        display = display.with_columns(
            pl.when(runs["id"].is_in(list(marked))).then(pl.lit(MARK)).otherwise(pl.lit(" "))
            .alias("c0")
        )  # fmt: skip
    field, descending = sort_field(sort)
    labels: list[str | Text] = [
        f"{c.label} {'▼' if descending else '▲'}" if c.field == field else c.label for c in cols
    ]
    backend = create_backend(display)
    backend.column_content_widths  # noqa: B018 -- measure all rows here, not on the UI thread
    return RunRows(
        display, backend, labels, [c.field for c in cols], runs["id"].to_list(),
        runs["status"].to_list(),
    )  # fmt: skip


class RunTable(DataTable):
    """Runs, newest first unless sorted; space marks runs to compare."""

    HELP = """\
## Runs table

One row per training run: status, snapshot, target, task, the main holdout metrics, key
parameters, best iteration, duration, when it was created and its note. Move with the arrow
keys, Page Up/Down, Home/End; it stays smooth with 100,000 runs.

- **s** sorts by the next column, **S** reverses the order; clicking a header sorts by it.
- **/** filters: `auc > 0.8 and num_leaves = 31 and snapshot = churn@v1` (as `workbench runs list --where`).
- **space** marks runs; **c** compares the marked runs.
"""

    def __init__(self, rows: RunRows, **kwargs) -> None:
        super().__init__(
            backend=rows.backend,
            column_labels=rows.labels,
            cursor_type="row",
            show_row_labels=False,
            max_column_content_width=36,
            null_rep="-",
            render_markup=False,  # notes are the user's text, not markup
            **kwargs,
        )
        self.rows = rows

    def set_mark(self, row: int, marked: bool) -> None:
        """Show or hide the mark on ``row``."""
        self.update_cell(row, MARK_COLUMN, MARK if marked else " ")
