"""Run SQL: every query on ``runs`` and ``run_keys``, each taking a connection.

The service owns the transaction and the audit entries; functions here never open one.

Schema: ``workbench/migrations/0002_runs.sql``. Metrics, params and tags are typed columns on
the ``runs`` row, one per key, named by numbered slots (``m3``, ``p5``/``n5``, ``t0``) that
``run_keys`` maps to key names. ``list_runs`` over 100k runs is then one columnar scan with
plain comparisons (the earlier MAP-column design spent 160-320 ms on map lookups). A key's
columns are added (``ALTER TABLE``) in the transaction that first uses it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..errors import InputError, NotFoundError
from ..processes import ProcessId
from .query import SLOT_PREFIX, Fields, compile_filter, compile_sort
from .records import STATUSES, RunInput, RunRecord, param_text

if TYPE_CHECKING:
    import duckdb
    import polars as pl

    from .training import TrainResult

__all__ = [
    "insert_run",
    "record_finished",
    "record_ended",
    "set_mlflow_run_id",
    "set_mirrored",
    "set_mirror_failed",
    "mirrors_to_do",
    "set_tag",
    "set_deleted",
    "insert_many",
    "get_run",
    "list_runs",
    "run_fields",
    "run_status",
    "running_processes",
    "check_tag_key",
    "now",
]

_TAG_KEY = re.compile(r"[A-Za-z_][\w.\-]*\Z")
_BASE_COLUMNS = (
    "r.id, r.created_at, r.status, r.snapshot_ref as snapshot, r.target, r.task, "
    "r.duration_s, r.best_iteration, r.note, r.mlflow_state"
)
_BASE_NAMES = {"id", "created_at", "status", "snapshot", "target", "task"}
_BASE_NAMES |= {"duration_s", "best_iteration", "note", "mlflow_state"}
#: SQL types of a key's slot columns
_SLOT_COLUMNS = {
    "metric": ((SLOT_PREFIX["metric"], "double"),),
    "param": ((SLOT_PREFIX["param"], "text"), (SLOT_PREFIX["param_number"], "double")),
    "tag": ((SLOT_PREFIX["tag"], "text"),),
}
_RECORD_COLUMNS = (
    "id, created_at, status, snapshot_ref, snapshot_hash, target, task, reason, note, seed, "
    "duration_s, best_iteration, model_hash, curves_hash, mlflow_run_id, finished_at, deleted, "
    "author, mlflow_state, mlflow_error, environment, split, spec, model_meta, effective_params"
)
_JSON_COLUMNS = ("environment", "split", "spec", "model_meta", "effective_params")


# -- helpers --------------------------------------------------------------------------------


def now() -> datetime:
    """The time runs record (UTC, naive)."""
    return datetime.now(UTC).replace(tzinfo=None)


def _param_num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def run_status(con: duckdb.DuckDBPyConnection, run_id: int) -> str:
    """A run's status; NotFoundError when it does not exist."""
    row = con.execute("select status from runs where id = ?", [run_id]).fetchone()
    if row is None:
        raise NotFoundError(f"run {run_id} does not exist")
    return str(row[0])


def check_tag_key(key: str) -> str:
    """``key`` when it is a valid tag name, else InputError."""
    if not _TAG_KEY.match(key):
        raise InputError(f"tag name {key!r} must be letters, digits, '_', '.', '-'")
    return key


def _slot_column(kind: str, slot: int, number: bool = False) -> str:
    """A slot column's name: a fixed prefix and an integer, never user text."""
    return f"{SLOT_PREFIX['param_number' if number else kind]}{int(slot)}"


def _ensure_keys(con: duckdb.DuckDBPyConnection, kind: str, keys: Iterable[str]) -> dict[str, int]:
    """Slots of ``keys``, adding a slot (and its typed columns) for each new key."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    known = dict(con.execute("select key, slot from run_keys where kind = ?", [kind]).fetchall())
    next_slot = max(known.values(), default=-1) + 1
    for key in wanted:
        if key in known:
            continue
        for prefix, sql_type in _SLOT_COLUMNS[kind]:
            con.execute(f"alter table runs add column {prefix}{int(next_slot)} {sql_type}")
        con.execute(
            "insert into run_keys (kind, key, slot) values (?, ?, ?)", [kind, key, next_slot]
        )
        known[key] = next_slot
        next_slot += 1
    return {k: known[k] for k in wanted}


def _note_param_types(con: duckdb.DuckDBPyConnection, params: Iterable[dict[str, Any]]) -> None:
    """Clear a param key's is_number / is_integer flag when a value breaks it."""
    not_number: set[str] = set()
    not_integer: set[str] = set()  # every non-number is also a non-integer
    for values in params:
        for key, value in values.items():
            if value is not None and not _is_integer(value):
                not_integer.add(key)
                if _param_num(value) is None:
                    not_number.add(key)
    for key in sorted(not_integer):
        con.execute(
            "update run_keys set is_number = is_number and ?, is_integer = false "
            "where kind = 'param' and key = ?",
            [key not in not_number, key],
        )


def _value_columns(
    con: duckdb.DuckDBPyConnection,
    params: dict[str, Any],
    metrics: dict[str, float],
    tags: dict[str, str] | None = None,
    *,
    note_types: bool = True,
) -> dict[str, Any]:
    """Slot column name -> value for one run's params, metrics and tags.

    ``note_types=False`` leaves the params' number/integer flags alone: values a run only asked
    for (``insert_run``) may be ones LightGBM then refuses (``num_leaves=many``), and a flag once
    cleared stays cleared, so they would turn the column into text for every run.
    """
    params = {k: v for k, v in params.items() if v is not None}
    values: dict[str, Any] = {}
    for key, slot in _ensure_keys(con, "param", params).items():
        values[_slot_column("param", slot)] = param_text(params[key])
        values[_slot_column("param", slot, number=True)] = _param_num(params[key])
    for key, slot in _ensure_keys(con, "metric", metrics).items():
        values[_slot_column("metric", slot)] = float(metrics[key])
    for key, slot in _ensure_keys(con, "tag", tags or {}).items():
        values[_slot_column("tag", slot)] = str((tags or {})[key])
    if note_types:
        _note_param_types(con, [params])
    return values


# -- writes ---------------------------------------------------------------------------------


def insert_run(
    con: duckdb.DuckDBPyConnection,
    spec: dict[str, Any],
    *,
    snapshot_ref: str | None = None,
    snapshot_hash: str | None = None,
    note: str | None = None,
    created_at: datetime | None = None,
    actor: str | None = None,
    params: dict[str, Any] | None = None,
    process: ProcessId | None = None,
) -> int:
    """Record a run as running; returns its id.

    ``params`` are the parameters it asks for (``params.requested_params``), shown and
    queryable while it runs and if it fails; ``record_finished`` records the effective ones.
    ``process`` is the one training it (see ``interrupted_runs``).
    """
    row = con.execute(
        "insert into runs (created_at, author, snapshot_ref, snapshot_hash, target, task, "
        "status, note, seed, spec, pid, host, pid_started) "
        "values (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?) returning id",
        [
            created_at or now(), actor, snapshot_ref, snapshot_hash, spec.get("target"),
            spec.get("task"), note, spec.get("seed"), json.dumps(spec, default=str),
            process.pid if process else None, process.host if process else None,
            process.started if process else None,
        ],
    ).fetchone()  # fmt: skip
    assert row is not None
    run_id = int(row[0])
    if params:
        values = _value_columns(con, params, {}, note_types=False)
        sets = ", ".join(f"{name} = ?" for name in values)
        con.execute(f"update runs set {sets} where id = ?", [*values.values(), run_id])
    return run_id


def record_finished(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    result: TrainResult,
    *,
    model_hash: str,
    curves_hash: str,
    mlflow_run_id: str | None = None,
    mirror: bool = False,
) -> None:
    """Record the result of a running run (its objects are already stored); ``mirror``: its
    MLflow mirror is to be logged (``pending``) unless ``mlflow_run_id`` is already known."""
    status = run_status(con, run_id)
    if status != "running":
        raise InputError(f"run {run_id} is {status}, not running")
    values = _value_columns(con, result.params, result.metrics)
    sets = "".join(f", {name} = ?" for name in values)
    state = "mirrored" if mlflow_run_id else "pending" if mirror else None
    con.execute(
        "update runs set status = 'finished', finished_at = ?, task = ?, duration_s = ?, "
        "best_iteration = ?, model_hash = ?, curves_hash = ?, "
        "mlflow_run_id = coalesce(?, mlflow_run_id), mlflow_state = ?, environment = ?, "
        f"split = ?, model_meta = ?, effective_params = ?{sets} where id = ?",
        [
            now(), result.task, result.duration_s, result.best_iteration, model_hash, curves_hash,
            mlflow_run_id, state, json.dumps(result.environment),
            json.dumps(result.split.to_dict()), json.dumps(result.meta.to_dict(), default=str),
            json.dumps(result.effective_params, default=str), *values.values(), run_id,
        ],
    )  # fmt: skip


def record_ended(
    con: duckdb.DuckDBPyConnection, run_id: int, status: str, reason: str | None = None
) -> None:
    """Mark a run failed or cancelled, with a reason."""
    if status not in ("failed", "cancelled"):
        raise InputError(f"a run ends as 'failed' or 'cancelled', not {status!r}")
    run_status(con, run_id)
    con.execute(
        "update runs set status = ?, reason = ?, finished_at = ? where id = ?",
        [status, reason, now(), run_id],
    )


def set_mlflow_run_id(con: duckdb.DuckDBPyConnection, run_id: int, mlflow_run_id: str) -> None:
    """Remember the MLflow run that mirrors this run."""
    run_status(con, run_id)
    con.execute("update runs set mlflow_run_id = ? where id = ?", [mlflow_run_id, run_id])


def set_mirrored(con: duckdb.DuckDBPyConnection, run_id: int, mlflow_run_id: str) -> None:
    """A run's MLflow mirror is complete: ``mlflow_run_id`` holds everything."""
    run_status(con, run_id)
    con.execute(
        "update runs set mlflow_run_id = ?, mlflow_state = 'mirrored', mlflow_error = null "
        "where id = ?",
        [mlflow_run_id, run_id],
    )


def set_mirror_failed(con: duckdb.DuckDBPyConnection, run_id: int, error: str) -> None:
    """The last attempt to mirror a run failed (``workbench mlflow sync`` tries again)."""
    run_status(con, run_id)
    con.execute(
        "update runs set mlflow_state = 'failed', mlflow_error = ? where id = ?", [error, run_id]
    )


def mirrors_to_do(con: duckdb.DuckDBPyConnection, *, failed: bool = True) -> list[int]:
    """Finished runs whose MLflow mirror is pending (and, with ``failed``, failed), oldest
    first."""
    states = ["pending", "failed"] if failed else ["pending"]
    rows = con.execute(
        "select id from runs where status = 'finished' and list_contains(?, mlflow_state) "
        "order by id",
        [states],
    ).fetchall()
    return [int(r[0]) for r in rows]


def set_tag(con: duckdb.DuckDBPyConnection, run_id: int, key: str, value: str | None) -> None:
    """Set a tag on a run (``value=None`` removes it)."""
    check_tag_key(key)
    run_status(con, run_id)
    slot = _ensure_keys(con, "tag", [key])[key]
    con.execute(
        f"update runs set {_slot_column('tag', slot)} = ? where id = ?",
        [None if value is None else str(value), run_id],
    )


def set_deleted(con: duckdb.DuckDBPyConnection, run_id: int, deleted: bool) -> None:
    """Soft-delete a run (hidden from listings, kept in the store) or restore it."""
    run_status(con, run_id)
    con.execute("update runs set deleted = ? where id = ?", [deleted, run_id])


def _bulk_frame(
    con: duckdb.DuckDBPyConnection, runs: list[RunInput], ids: list[int]
) -> pl.DataFrame:
    import polars as pl

    stamp = now()
    columns: dict[str, Any] = {
        "id": pl.Series(ids, dtype=pl.Int32),
        "created_at": [r.created_at or stamp for r in runs],
        "snapshot_ref": pl.Series([r.snapshot_ref for r in runs], dtype=pl.String),
        "target": pl.Series([r.target for r in runs], dtype=pl.String),
        "task": pl.Series([r.task for r in runs], dtype=pl.String),
        "status": [r.status for r in runs],
        "note": pl.Series([r.note for r in runs], dtype=pl.String),
        "seed": pl.Series([r.seed for r in runs], dtype=pl.Int64),
        "duration_s": pl.Series([r.duration_s for r in runs], dtype=pl.Float64),
    }
    params = [{k: v for k, v in r.params.items() if v is not None} for r in runs]
    for key, slot in _ensure_keys(con, "param", {k for p in params for k in p}).items():
        raw = [p.get(key) for p in params]
        columns[_slot_column("param", slot)] = pl.Series(
            [None if v is None else param_text(v) for v in raw], dtype=pl.String
        )
        columns[_slot_column("param", slot, number=True)] = pl.Series(
            [_param_num(v) for v in raw], dtype=pl.Float64
        )
    _note_param_types(con, params)
    for key, slot in _ensure_keys(con, "metric", {k for r in runs for k in r.metrics}).items():
        columns[_slot_column("metric", slot)] = pl.Series(
            [r.metrics.get(key) for r in runs], dtype=pl.Float64
        )
    for key, slot in _ensure_keys(con, "tag", {k for r in runs for k in r.tags}).items():
        raw_tags = [r.tags.get(key) for r in runs]
        columns[_slot_column("tag", slot)] = pl.Series(
            [None if v is None else str(v) for v in raw_tags], dtype=pl.String
        )
    return pl.DataFrame(columns)


def insert_many(con: duckdb.DuckDBPyConnection, runs: list[RunInput]) -> list[int]:
    """Insert many finished runs; returns their ids in input order."""
    if not runs:
        return []
    bad = {r.status for r in runs} - set(STATUSES)
    if bad:
        raise InputError(f"unknown run status: {', '.join(sorted(bad))}")
    for key in sorted({k for r in runs for k in r.tags}):
        check_tag_key(key)
    ids = sorted(
        r[0]
        for r in con.execute("select nextval('runs_id_seq') from range(?)", [len(runs)]).fetchall()
    )
    frame = _bulk_frame(con, runs, ids)
    con.register("b_runs", frame)
    # column names are fixed words or generated slot names
    names = ", ".join(frame.columns)
    con.execute(f"insert into runs ({names}) select {names} from b_runs")
    con.unregister("b_runs")
    return ids


# -- reads ----------------------------------------------------------------------------------


def running_processes(con: duckdb.DuckDBPyConnection) -> dict[int, ProcessId]:
    """Run id -> the process recorded for every run still marked running."""
    rows = con.execute(
        "select id, pid, host, pid_started from runs where status = 'running' and pid is not null"
    ).fetchall()
    return {int(r[0]): ProcessId(int(r[1]), str(r[2]), r[3]) for r in rows}


def _runs_view(interrupted: list[int]) -> tuple[str, list[Any]]:
    """``runs`` with the runs whose process is gone shown as ``interrupted``: a subquery
    to select from as ``r``, and its parameter."""
    if not interrupted:
        return "runs", []
    return (
        "(select * replace (case when list_contains(?, id) then 'interrupted' else status end "
        "as status, case when list_contains(?, id) then coalesce(reason, "
        "'interrupted: its process ended without recording an end') else reason end as reason) "
        "from runs)",
        [interrupted, interrupted],
    )


@dataclass(frozen=True)
class _Key:
    kind: str
    key: str
    slot: int
    is_number: bool
    is_integer: bool


def _keys(con: duckdb.DuckDBPyConnection) -> list[_Key]:
    rows = con.execute(
        "select kind, key, slot, is_number, is_integer from run_keys order by kind, key"
    ).fetchall()
    return [_Key(*row) for row in rows]


def _fields(keys: list[_Key]) -> Fields:
    fields = Fields()
    for k in keys:
        fields.add(k.kind, k.key, k.slot)
    return fields


def run_fields(con: duckdb.DuckDBPyConnection) -> Fields:
    """The metric, param and tag names runs use (for filters, completion and listings)."""
    return _fields(_keys(con))


def _json(text: str | None) -> dict[str, Any]:
    return json.loads(text) if text else {}


def get_run(
    con: duckdb.DuckDBPyConnection, run_id: int, interrupted: list[int] | None = None
) -> RunRecord:
    """One run with its params, metrics and tags; NotFoundError if absent. Runs listed in
    ``interrupted`` show that status (see ``running_processes``)."""
    keys = _keys(con)
    slots = [_slot_column(k.kind, k.slot) for k in keys]
    source, args = _runs_view(interrupted or [])
    row = con.execute(
        f"select {_RECORD_COLUMNS}{''.join(', ' + s for s in slots)} from {source} where id = ?",
        [*args, run_id],
    ).fetchone()
    if row is None:
        raise NotFoundError(f"run {run_id} does not exist")
    names = [c.strip() for c in _RECORD_COLUMNS.split(",")]
    n_fixed = len(names)
    values: dict[str, Any] = {
        name: _json(value) if name in _JSON_COLUMNS else value
        for name, value in zip(names, row[:n_fixed], strict=True)
    }
    record = RunRecord(**values)
    groups: dict[str, dict[str, Any]] = {
        "param": record.params, "metric": record.metrics, "tag": record.tags,
    }  # fmt: skip
    for key, value in zip(keys, row[n_fixed:], strict=True):
        if value is not None:
            groups[key.kind][key.key] = value
    return record


def _wide_select(keys: list[_Key]) -> tuple[str, list[tuple[str, str]]]:
    """Select fragments aliased by slot (no user text) and the renames to key names."""
    fragments, renames = [], []
    metrics = {k.key for k in keys if k.kind == "metric"}
    taken = _BASE_NAMES | metrics
    for k in keys:  # ordered by kind (metric, param, tag), then key
        alias = _slot_column(k.kind, k.slot)
        if k.kind == "metric":
            fragments.append(f"r.{alias}")
            renames.append((alias, k.key))
        elif k.kind == "param":
            if k.is_number:
                number = _slot_column("param", k.slot, number=True)
                cast = "::bigint" if k.is_integer else ""
                fragments.append(f"r.{number}{cast} as {alias}")
            else:
                fragments.append(f"r.{alias}")
            renames.append((alias, k.key if k.key not in taken else f"param.{k.key}"))
        else:
            fragments.append(f"r.{alias}")
            renames.append((alias, f"tag.{k.key}"))
    return "".join(", " + f for f in fragments), renames


def list_runs(
    con: duckdb.DuckDBPyConnection,
    where: str | None = None,
    sort: str | None = None,
    limit: int | None = None,
    *,
    include_deleted: bool = False,
    interrupted: list[int] | None = None,
) -> pl.DataFrame:
    """Runs as a wide frame (one column per metric, param and tag), filtered and sorted.

    ``where`` and ``sort`` use the filter language in ``workbench.experiments.query``;
    the default order is newest first. Params whose values are all numbers come back as
    numeric columns (Int64 when all are integers).
    """
    if limit is not None and (not isinstance(limit, int) or limit < 0):
        raise InputError(f"limit must be a non-negative integer, got {limit!r}")
    keys = _keys(con)
    fields = _fields(keys)
    select_sql, renames = _wide_select(keys)
    where_sql, where_args = compile_filter(where or "", fields)
    order_sql, order_args = compile_sort(sort or "-id", fields)
    deleted_sql = "" if include_deleted else "not r.deleted and "
    source, view_args = _runs_view(interrupted or [])
    sql = (
        f"select {_BASE_COLUMNS}{select_sql} from {source} r "
        f"where {deleted_sql}{where_sql} order by {order_sql}, r.id desc"
    )
    args = [*view_args, *where_args, *order_args]
    if limit is not None:
        sql += " limit ?"
        args.append(limit)
    frame = con.sql(sql, params=args).pl()
    return frame.rename(dict(renames))
