"""Reading the prediction log: Polars frames and DuckDB views over the live segments.

Both skip files that a present compacted file supersedes, so a compaction never shows a row
twice, and both remove repeated request ids (per model and version), keeping the row with the
earliest time.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from .predlog_layout import (
    FIXED_COLUMNS,
    INPUT_PREFIX,
    REPLACES_KEY,
    SegmentFile,
    check_time,
    live_files,
    predictions_dir,
)

if TYPE_CHECKING:
    import duckdb
    import polars as pl

__all__ = ["scan_predictions", "read_predictions", "select_inputs", "create_prediction_views"]

_KEY = "__predlog_row"
_SQL_TYPES = {
    "time": "TIMESTAMPTZ",
    "version": "BIGINT",
    "score": "DOUBLE",
    "value": "DOUBLE",
    "latency_ms": "DOUBLE",
}


def scan_predictions(
    workspace: str | os.PathLike[str],
    model: str | None = None,
    version: int | None = None,
    *,
    role: str | Iterable[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    dedupe: bool = True,
) -> pl.LazyFrame:
    """Logged predictions as a LazyFrame: of one model (version), roles, ``[since, until)``.

    The frame reads the files listed now; collect it within the compaction grace period
    (ten minutes by default), after which superseded files may be gone. With ``dedupe`` (the
    default) the request ids are read now to find repeats; ``dedupe=False`` keeps repeated
    request ids and reads nothing until collected. Rows come in no particular order.
    """
    import polars as pl

    since_us, until_us = check_time(since, "since"), check_time(until, "until")
    files = live_files(predictions_dir(workspace), model, version, since_us, until_us)
    if not files:
        return pl.LazyFrame(schema=_fixed_schema())
    by_schema: dict[str, list[str]] = {}
    for f in files:
        by_schema.setdefault(f.fingerprint, []).append(str(f.path))
    scans = [
        pl.scan_parquet(paths, glob=False, hive_partitioning=False) for paths in by_schema.values()
    ]
    # Segments of other schemas (another version, a widened column) line up by name.
    frame = scans[0] if len(scans) == 1 else pl.concat(scans, how="diagonal_relaxed")
    if role is not None:
        roles = [role] if isinstance(role, str) else list(role)
        frame = frame.filter(pl.col("role").is_in(roles))
    if since is not None:
        frame = frame.filter(pl.col("time") >= since.astimezone(UTC))
    if until is not None:
        frame = frame.filter(pl.col("time") < until.astimezone(UTC))
    if dedupe:
        frame = _dedupe(frame, single_version=len(_versions(files)) == 1)
    return frame


def read_predictions(
    workspace: str | os.PathLike[str],
    model: str | None = None,
    version: int | None = None,
    *,
    role: str | Iterable[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    dedupe: bool = True,
) -> pl.DataFrame:
    """``scan_predictions(...)`` collected into a DataFrame."""
    return scan_predictions(
        workspace, model, version, role=role, since=since, until=until, dedupe=dedupe
    ).collect()


def select_inputs(frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
    """Only the input columns, under the model's feature names (for drift against training)."""
    import polars as pl

    names = frame.collect_schema().names()
    return frame.select(
        pl.col(c).alias(c[len(INPUT_PREFIX) :]) for c in names if c.startswith(INPUT_PREFIX)
    )


def _versions(files: list[SegmentFile]) -> set[tuple[str, str]]:
    return {(f.path.parent.parent.parent.name, f.path.parent.parent.name) for f in files}


def _dedupe(frame: pl.LazyFrame, single_version: bool) -> pl.LazyFrame:
    """One row per (model, version, request id): the earliest.

    Two small reads now, before the caller's query: the key's 64-bit hashes, sorted, give the
    hash values that repeat; the rows holding those (a few, plus any hash collision) are settled
    exactly on the key, and the later copies leave the frame by row number. The caller's query
    then only adds a filter on the row number. A unique over the request id strings instead
    cost 12x the bare read of all inputs.
    """
    import polars as pl

    key = ["model", "version", "request_id"]
    # In one version's folder the request id alone is the key.
    digest = (pl.col("request_id") if single_version else pl.struct(key)).hash(7)
    numbered = frame.with_row_index(_KEY)  # same files, same order: the same numbers each time
    hashes = numbered.select(digest).collect().to_series().sort()
    repeated = hashes.filter(hashes == hashes.shift(1)).unique()
    if repeated.is_empty():
        return frame
    candidates = numbered.filter(digest.is_in(repeated.implode())).select(_KEY, "time", *key)
    later_copies = (
        candidates.sort("time", _KEY)
        .filter(~pl.struct(key).is_first_distinct())
        .collect()
        .get_column(_KEY)
    )
    if later_copies.is_empty():  # only hash collisions
        return frame
    return numbered.filter(~pl.col(_KEY).is_in(later_copies.implode())).drop(_KEY)


def _fixed_schema() -> dict[str, pl.DataType]:
    import polars as pl

    types = {
        "time": pl.Datetime("us", "UTC"),
        "version": pl.Int64(),
        "score": pl.Float64(),
        "value": pl.Float64(),
        "latency_ms": pl.Float64(),
    }
    return {name: types.get(name, pl.String()) for name in FIXED_COLUMNS}


def create_prediction_views(
    con: duckdb.DuckDBPyConnection,
    workspace: str | os.PathLike[str],
    *,
    name: str = "predictions",
    temporary: bool = True,
) -> list[str]:
    """Create views ``<name>`` (one row per request id) and ``<name>_raw`` on ``con``.

    Both union every model version by column name and re-list the files at each query, so
    new segments show up; superseded files are left out. Returns the view names. When the log
    is still empty the views are empty and typed; call again once it has rows.
    """
    root = predictions_dir(workspace)
    pattern = _literal(str(root / "*" / "*" / "*" / "*.parquet"))
    if next(root.glob("*/*/*/*.parquet"), None) is None:
        body = "select " + ", ".join(
            f"NULL::{_SQL_TYPES.get(c, 'VARCHAR')} as {c}" for c in FIXED_COLUMNS
        ) + " limit 0"  # fmt: skip
    else:
        body = (
            f"select * exclude (filename) from read_parquet({pattern}, union_by_name = true, "
            "hive_partitioning = false, filename = true) "
            "where parse_filename(filename) not in ("
            "select unnest(string_split(decode(value), chr(10))) "
            f"from parquet_kv_metadata({pattern}) where decode(key) = {_literal(REPLACES_KEY)})"
        )
    kind = "temporary view" if temporary else "view"
    raw, deduped = _identifier(f"{name}_raw"), _identifier(name)
    con.execute(f"create or replace {kind} {raw} as {body}")
    con.execute(
        f"create or replace {kind} {deduped} as select * from {raw} "
        "qualify row_number() over (partition by model, version, request_id order by time) = 1"
    )
    return [name, f"{name}_raw"]


def _literal(text: str) -> str:
    # DDL takes no parameters; the path is quoted as an SQL string literal instead.
    return "'" + text.replace("'", "''") + "'"


def _identifier(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'
