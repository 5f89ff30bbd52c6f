"""Drift SQL: stored reports, their columns and reference statistics, each taking a connection.

The service owns the transaction. Schema: ``workbench/migrations/0004_drift.sql``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import NotFoundError

if TYPE_CHECKING:
    import duckdb
    import polars as pl

    from ..snapshots.records import Snapshot
    from .results import ColumnDrift, DriftReport

__all__ = [
    "StoredStats",
    "stats_entries",
    "insert_stats",
    "insert_report",
    "reports_frame",
    "get_report",
]

_REPORT_COLUMNS = (
    "id, created_at, author, reference_ref, reference_hash, current_ref, current_hash, "
    "options_json, n_tested, n_drifted, share, dataset_drifted, rows_ref, rows_cur, "
    "target_column, target_drifted"
)
_COLUMN_FIELDS = (
    "column_name, role, column_type, method, stattest_name, score, threshold, drifted, n_ref, "
    "n_cur, null_share_ref, null_share_cur, new_categories_json, status, message, dtype_ref, "
    "dtype_cur"
)


@dataclass(frozen=True)
class StoredStats:
    """A stored reference-statistics entry: which columns it covers and its object."""

    columns: list[str]
    stats_hash: str


def stats_entries(con: duckdb.DuckDBPyConnection, object_hash: str) -> list[StoredStats]:
    """Stored statistics of a snapshot's content, newest first."""
    rows = con.execute(
        "select columns_json, stats_hash from drift_reference_stats "
        "where object_hash = ? order by created_at desc",
        [object_hash],
    ).fetchall()
    return [StoredStats(json.loads(columns), stats_hash) for columns, stats_hash in rows]


def insert_stats(
    con: duckdb.DuckDBPyConnection,
    snap: Snapshot,
    signature: str,
    columns: list[str],
    stats_hash: str,
    rows: int,
) -> None:
    """Record statistics of ``columns`` of a snapshot (replacing an entry of the same set)."""
    con.execute(
        "insert or replace into drift_reference_stats values (?, ?, ?, ?, ?, ?, ?)",
        [snap.object_hash, snap.id, signature, json.dumps(sorted(columns)), stats_hash, rows,
         datetime.now()],
    )  # fmt: skip


def _column_values(c: ColumnDrift) -> list[Any]:
    d = c.to_dict()
    return [
        c.column, c.role, c.column_type, c.method, c.stattest_name, c.score, c.threshold,
        bool(c.drifted), c.n_ref, c.n_cur, c.null_share_ref, c.null_share_cur,
        json.dumps(d["new_categories"]), c.status, c.message or "", c.dtype_ref, c.dtype_cur,
    ]  # fmt: skip


def _column_from_row(r: tuple) -> ColumnDrift:
    from .results import ColumnDrift

    (name, role, ctype, method, stattest, score, threshold, drifted, n_ref, n_cur, nr, nc,
     new_json, status, message, dtype_ref, dtype_cur) = r  # fmt: skip
    return ColumnDrift(
        column=name, column_type=ctype, method=method, stattest_name=stattest, score=score,
        threshold=threshold, drifted=bool(drifted), n_ref=n_ref, n_cur=n_cur,
        null_share_ref=nr, null_share_cur=nc, new_categories=json.loads(new_json),
        status=status, message=message, role=role, dtype_ref=dtype_ref, dtype_cur=dtype_cur,
    )  # fmt: skip


def insert_report(
    con: duckdb.DuckDBPyConnection,
    report: DriftReport,
    ref: Snapshot,
    cur: Snapshot,
    author: str,
) -> int:
    """Store a report and one row per column; returns the report's id."""
    target = report.target
    report_id = int(con.execute("select nextval('drift_report_id_seq')").fetchall()[0][0])
    con.execute(
        f"insert into drift_reports ({_REPORT_COLUMNS}) values "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            report_id, report.created_at, author, ref.ref, ref.object_hash, cur.ref,
            cur.object_hash, json.dumps(report.options.to_dict(), sort_keys=True),
            report.n_tested, report.n_drifted, report.share, report.dataset_drifted,
            report.rows_ref, report.rows_cur, target.column if target else None,
            target.drifted if target else None,
        ],
    )  # fmt: skip
    rows = [
        [report_id, position, *_column_values(c)] for position, c in enumerate(report.all_columns())
    ]
    if rows:
        marks = ", ".join("?" * (2 + len(_COLUMN_FIELDS.split(","))))
        con.executemany(
            f"insert into drift_columns (report_id, position, {_COLUMN_FIELDS}) values ({marks})",
            rows,
        )
    return report_id


def reports_frame(con: duckdb.DuckDBPyConnection, limit: int | None = None) -> pl.DataFrame:
    """Stored reports, newest first."""
    sql = (
        "select id, created_at, reference_ref as reference, current_ref as current, "
        "n_tested, n_drifted, share, dataset_drifted, target_column, target_drifted, "
        "rows_ref, rows_cur, author, reference_hash, current_hash, options_json "
        "from drift_reports order by id desc"
    )
    if limit is not None:
        return con.sql(sql + " limit ?", params=[int(limit)]).pl()
    return con.sql(sql).pl()


def get_report(con: duckdb.DuckDBPyConnection, report_id: int) -> DriftReport:
    """A stored report, rebuilt as the ``DriftReport`` it was."""
    from .results import DriftOptions, DriftReport

    head = con.execute(
        f"select {_REPORT_COLUMNS} from drift_reports where id = ?", [report_id]
    ).fetchall()
    if not head:
        raise NotFoundError(f"no drift report {report_id}", hint="see `workbench drift list`")
    cols = con.execute(
        f"select {_COLUMN_FIELDS} from drift_columns where report_id = ? order by position",
        [report_id],
    ).fetchall()
    (_, created, _, ref_ref, _, cur_ref, _, options_json, n_tested, n_drifted, share,
     dataset_drifted, rows_ref, rows_cur, _, _) = head[0]  # fmt: skip
    columns = [_column_from_row(r) for r in cols]
    return DriftReport(
        columns=[c for c in columns if c.role == "feature"],
        target=next((c for c in columns if c.role == "target"), None),
        prediction=next((c for c in columns if c.role == "prediction"), None),
        n_tested=n_tested, n_drifted=n_drifted, share=share,
        dataset_drifted=bool(dataset_drifted),
        options=DriftOptions(**json.loads(options_json)), rows_ref=rows_ref,
        rows_cur=rows_cur, reference=ref_ref, current=cur_ref, id=report_id, created_at=created,
    )  # fmt: skip
