"""Runs in the metadata store: start, finish, fail, tag, delete, get and list.

Each function opens one short store transaction (``store.write()`` / ``store.read()``), so no
connection is held while training. Objects (model text, curves) are written before the row that
names them, so a crash never leaves a record pointing at a missing object.

Schema: ``workbench/migrations/0002_runs.sql``. ``run_params``, ``run_metrics`` and ``run_tags``
are the record; the same values also live as maps on the ``runs`` row (written in the same
transaction) so ``list_runs`` filters, sorts and widens 100k runs from one table.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import InputError, NotFoundError
from .query import Fields, compile_filter, compile_sort

if TYPE_CHECKING:
    import polars as pl

    from .training import TrainResult, TrainSpec

__all__ = [
    "RunRecord",
    "RunInput",
    "start_run",
    "finish_run",
    "fail_run",
    "set_mlflow_run_id",
    "tag_run",
    "delete_run",
    "get_run",
    "list_runs",
    "insert_runs",
    "load_curves",
    "STATUSES",
]

STATUSES = ("running", "finished", "failed", "cancelled")
_TAG_KEY = re.compile(r"[A-Za-z_][\w.\-]*\Z")
_BASE_COLUMNS = (
    "r.id, r.created_at, r.status, r.snapshot_ref as snapshot, r.target, r.task, "
    "r.duration_s, r.best_iteration, r.note"
)
_BASE_NAMES = {"id", "created_at", "status", "snapshot", "target", "task"}
_BASE_NAMES |= {"duration_s", "best_iteration", "note"}


class StoreLike(Protocol):
    """What runs needs from ``workbench.store.Store``."""

    def read(self): ...

    def write(self): ...


#: An ObjectStore (``put_bytes``) or a plain callable that saves bytes and returns the digest.
SaveBytes = Callable[[bytes], str]


@dataclass
class RunRecord:
    """One run as stored."""

    id: int
    created_at: datetime
    status: str
    snapshot_ref: str | None = None
    snapshot_hash: str | None = None
    target: str | None = None
    task: str | None = None
    reason: str | None = None
    note: str | None = None
    seed: int | None = None
    duration_s: float | None = None
    best_iteration: int | None = None
    model_hash: str | None = None
    curves_hash: str | None = None
    mlflow_run_id: str | None = None
    finished_at: datetime | None = None
    deleted: bool = False
    environment: dict[str, Any] = field(default_factory=dict)
    split: dict[str, Any] = field(default_factory=dict)
    spec: dict[str, Any] = field(default_factory=dict)
    model_meta: dict[str, Any] = field(default_factory=dict)
    effective_params: dict[str, Any] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class RunInput:
    """A finished run to insert in bulk (imports, benchmarks)."""

    params: dict[str, Any]
    metrics: dict[str, float]
    tags: dict[str, str] = field(default_factory=dict)
    snapshot_ref: str | None = None
    target: str | None = None
    task: str | None = None
    status: str = "finished"
    note: str | None = None
    seed: int | None = None
    duration_s: float | None = None
    created_at: datetime | None = None


# -- helpers --------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _param_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(_param_text(v) for v in value)
    return str(value)


def _param_num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _split_params(params: dict[str, Any]) -> tuple[list[str], list[str], list[float | None]]:
    keys = sorted(params)
    return keys, [_param_text(params[k]) for k in keys], [_param_num(params[k]) for k in keys]


def _save(objects: Any, data: bytes) -> str:
    return objects.put_bytes(data) if hasattr(objects, "put_bytes") else objects(data)


def _require(con, run_id: int) -> str:
    row = con.execute("select status from runs where id = ?", [run_id]).fetchone()
    if row is None:
        raise NotFoundError(f"run {run_id} does not exist")
    return row[0]


def _record_keys(con, kind: str, keys: Iterable[str]) -> None:
    keys = list(keys)
    if keys:
        con.execute("insert or ignore into run_keys select ?, unnest(?::text[])", [kind, keys])


# -- writes ---------------------------------------------------------------------------------


def start_run(
    store: StoreLike,
    spec: TrainSpec | dict[str, Any] | None = None,
    *,
    snapshot_ref: str | None = None,
    snapshot_hash: str | None = None,
    note: str | None = None,
    created_at: datetime | None = None,
) -> int:
    """Record a run as running; returns its id."""
    data = spec.to_dict() if hasattr(spec, "to_dict") else dict(spec or {})
    with store.write() as con:
        row = con.execute(
            "insert into runs (created_at, snapshot_ref, snapshot_hash, target, task, status, "
            "note, seed, spec, metrics, params, params_num, tags) "
            "values (?, ?, ?, ?, ?, 'running', ?, ?, ?, map(), map(), map(), map()) returning id",
            [
                created_at or _now(),
                snapshot_ref,
                snapshot_hash,
                data.get("target"),
                data.get("task"),
                note,
                data.get("seed"),
                json.dumps(data, default=str),
            ],
        ).fetchone()
    return int(row[0])


def curves_bytes(result: TrainResult) -> bytes:
    """The per-iteration curves and importances of a result as one JSON object."""
    payload = {
        "curves": result.curves,
        "best_iteration": result.best_iteration,
        "importance": {
            "feature": result.importance.feature,
            "gain": result.importance.gain,
            "split": result.importance.split,
        },
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def load_curves(objects: Any, curves_hash: str) -> dict[str, Any]:
    """Curves and importances saved by ``finish_run`` (``objects`` has ``read_bytes``)."""
    read = objects.read_bytes if hasattr(objects, "read_bytes") else objects
    return json.loads(read(curves_hash))


def finish_run(
    store: StoreLike,
    run_id: int,
    result: TrainResult,
    objects: Any,
    *,
    mlflow_run_id: str | None = None,
) -> None:
    """Save the model and curves as objects, then record the result on a running run."""
    model_hash = _save(objects, result.model_text.encode())
    curves_hash = _save(objects, curves_bytes(result))
    keys, texts, nums = _split_params(result.params)
    num_keys = [k for k, n in zip(keys, nums, strict=True) if n is not None]
    num_vals = [n for n in nums if n is not None]
    mkeys = sorted(result.metrics)
    mvals = [float(result.metrics[k]) for k in mkeys]
    with store.write() as con:
        status = _require(con, run_id)
        if status != "running":
            raise InputError(f"run {run_id} is {status}, not running")
        con.execute(
            "update runs set status = 'finished', finished_at = ?, task = ?, duration_s = ?, "
            "best_iteration = ?, model_hash = ?, curves_hash = ?, "
            "mlflow_run_id = coalesce(?, mlflow_run_id), environment = ?, split = ?, "
            "model_meta = ?, effective_params = ?, "
            "metrics = map(?::text[], ?::double[]), params = map(?::text[], ?::text[]), "
            "params_num = map(?::text[], ?::double[]) where id = ?",
            [
                _now(),
                result.task,
                result.duration_s,
                result.best_iteration,
                model_hash,
                curves_hash,
                mlflow_run_id,
                json.dumps(result.environment),
                json.dumps(result.split.to_dict()),
                json.dumps(result.meta.to_dict(), default=str),
                json.dumps(result.effective_params, default=str),
                mkeys,
                mvals,
                keys,
                texts,
                num_keys,
                num_vals,
                run_id,
            ],
        )
        con.execute(
            "insert into run_params select ?, unnest(?::text[]), unnest(?::text[]), "
            "unnest(?::double[])",
            [run_id, keys, texts, nums],
        )
        con.execute(
            "insert into run_metrics select ?, unnest(?::text[]), unnest(?::double[])",
            [run_id, mkeys, mvals],
        )
        _record_keys(con, "param", keys)
        _record_keys(con, "metric", mkeys)


def fail_run(store: StoreLike, run_id: int, status: str, reason: str | None = None) -> None:
    """Mark a running run as failed or cancelled, with a reason."""
    if status not in ("failed", "cancelled"):
        raise InputError(f"a run ends as 'failed' or 'cancelled', not {status!r}")
    with store.write() as con:
        _require(con, run_id)
        con.execute(
            "update runs set status = ?, reason = ?, finished_at = ? where id = ?",
            [status, reason, _now(), run_id],
        )


def set_mlflow_run_id(store: StoreLike, run_id: int, mlflow_run_id: str) -> None:
    """Remember the MLflow run that mirrors this run."""
    with store.write() as con:
        _require(con, run_id)
        con.execute("update runs set mlflow_run_id = ? where id = ?", [mlflow_run_id, run_id])


def tag_run(store: StoreLike, run_id: int, key: str, value: str | None) -> None:
    """Set a tag on a run (``value=None`` removes it)."""
    if not _TAG_KEY.match(key):
        raise InputError(f"tag name {key!r} must be letters, digits, '_', '.', '-'")
    with store.write() as con:
        _require(con, run_id)
        con.execute("delete from run_tags where run_id = ? and key = ?", [run_id, key])
        if value is not None:
            con.execute("insert into run_tags values (?, ?, ?)", [run_id, key, str(value)])
            _record_keys(con, "tag", [key])
        con.execute(
            "update runs set tags = coalesce((select map(list(key order by key), "
            "list(value order by key)) from run_tags where run_id = ?), map()) where id = ?",
            [run_id, run_id],
        )


def delete_run(store: StoreLike, run_id: int, *, restore: bool = False) -> None:
    """Soft-delete a run (hidden from listings, kept in the store); ``restore`` undoes it."""
    with store.write() as con:
        _require(con, run_id)
        con.execute("update runs set deleted = ? where id = ?", [not restore, run_id])


def _bulk_frames(runs: list[RunInput], ids: list[int]) -> dict[str, pl.DataFrame]:
    import polars as pl

    now = _now()
    base = pl.DataFrame(
        {
            "id": ids,
            "created_at": [r.created_at or now for r in runs],
            "snapshot_ref": [r.snapshot_ref for r in runs],
            "target": [r.target for r in runs],
            "task": [r.task for r in runs],
            "status": [r.status for r in runs],
            "note": [r.note for r in runs],
            "seed": [r.seed for r in runs],
            "duration_s": [r.duration_s for r in runs],
        },
        schema_overrides={"id": pl.Int32, "seed": pl.Int64, "duration_s": pl.Float64},
    )
    params = [(i, *kv) for i, r in zip(ids, runs, strict=True) for kv in _param_rows(r.params)]
    metrics = [
        (i, k, float(v)) for i, r in zip(ids, runs, strict=True) for k, v in r.metrics.items()
    ]
    tags = [(i, k, str(v)) for i, r in zip(ids, runs, strict=True) for k, v in r.tags.items()]
    return {
        "b_runs": base,
        "b_params": pl.DataFrame(
            params,
            schema=["run_id", "key", "value", "value_num"],
            orient="row",
            schema_overrides={"value_num": pl.Float64},
        ),
        "b_metrics": pl.DataFrame(metrics, schema=["run_id", "key", "value"], orient="row"),
        "b_tags": pl.DataFrame(
            tags,
            schema=["run_id", "key", "value"],
            orient="row",
            schema_overrides={"value": pl.String, "key": pl.String},
        ),
    }


def _param_rows(params: dict[str, Any]) -> list[tuple[str, str, float | None]]:
    keys, texts, nums = _split_params(params)
    return list(zip(keys, texts, nums, strict=True))


_BULK_SQL = (
    "insert into run_params select run_id, key, value, value_num from b_params",
    "insert into run_metrics select run_id, key, value from b_metrics",
    "insert into run_tags select run_id, key, value from b_tags",
    "insert into runs (id, created_at, snapshot_ref, target, task, status, note, seed, "
    "duration_s, metrics, params, params_num, tags) "
    "select b.id, b.created_at, b.snapshot_ref, b.target, b.task, b.status, b.note, b.seed, "
    "b.duration_s, coalesce(m.m, map()), coalesce(p.p, map()), coalesce(p.pn, map()), "
    "coalesce(t.t, map()) from b_runs b "
    "left join (select run_id, map(list(key), list(value)) as m from b_metrics group by run_id) m "
    "on m.run_id = b.id "
    "left join (select run_id, map(list(key), list(value)) as p, "
    "map(list(key) filter (value_num is not null), list(value_num) filter (value_num is not null)) "
    "as pn from b_params group by run_id) p on p.run_id = b.id "
    "left join (select run_id, map(list(key), list(value)) as t from b_tags group by run_id) t "
    "on t.run_id = b.id",
    "insert or ignore into run_keys select distinct 'param', key from b_params",
    "insert or ignore into run_keys select distinct 'metric', key from b_metrics",
    "insert or ignore into run_keys select distinct 'tag', key from b_tags",
)


def insert_runs(store: StoreLike, runs: list[RunInput]) -> list[int]:
    """Insert many finished runs in one transaction; returns their ids in input order."""
    if not runs:
        return []
    bad = {r.status for r in runs} - set(STATUSES)
    if bad:
        raise InputError(f"unknown run status: {', '.join(sorted(bad))}")
    with store.write() as con:
        ids = sorted(
            r[0]
            for r in con.execute(
                "select nextval('runs_id_seq') from range(?)", [len(runs)]
            ).fetchall()
        )
        for name, frame in _bulk_frames(runs, ids).items():
            con.register(name, frame)
        for sql in _BULK_SQL:
            con.execute(sql)
    return ids


# -- reads ----------------------------------------------------------------------------------


def _fields(con) -> Fields:
    fields = Fields()
    for kind, key in con.execute("select kind, key from run_keys").fetchall():
        getattr(fields, {"metric": "metrics", "param": "params", "tag": "tags"}[kind]).add(key)
    return fields


def _json(text: str | None) -> dict[str, Any]:
    return json.loads(text) if text else {}


def get_run(store: StoreLike, run_id: int) -> RunRecord:
    """One run with its params, metrics and tags; NotFoundError if absent."""
    with store.read() as con:
        row = con.execute(
            "select id, created_at, status, snapshot_ref, snapshot_hash, target, task, reason, "
            "note, seed, duration_s, best_iteration, model_hash, curves_hash, mlflow_run_id, "
            "finished_at, deleted, environment, split, spec, model_meta, effective_params "
            "from runs where id = ?",
            [run_id],
        ).fetchone()
        if row is None:
            raise NotFoundError(f"run {run_id} does not exist")
        params = con.execute("select key, value from run_params where run_id = ?", [run_id])
        params = dict(params.fetchall())
        metrics = dict(
            con.execute("select key, value from run_metrics where run_id = ?", [run_id]).fetchall()
        )
        tags = dict(
            con.execute("select key, value from run_tags where run_id = ?", [run_id]).fetchall()
        )
    record = RunRecord(*row[:17], *(_json(t) for t in row[17:]))
    record.params, record.metrics, record.tags = params, metrics, tags
    return record


def _wide_select(fields: Fields) -> tuple[str, list[Any], list[tuple[str, str]]]:
    """Select fragments with positional aliases; keys are parameters; returns renames."""
    fragments, params, renames = [], [], []
    metrics, pnames, tags = sorted(fields.metrics), sorted(fields.params), sorted(fields.tags)
    taken = _BASE_NAMES | set(metrics)
    for i, key in enumerate(metrics):
        fragments.append(f"r.metrics[?] as m{i}")
        params.append(key)
        renames.append((f"m{i}", key))
    for i, key in enumerate(pnames):
        fragments.append(f"r.params[?] as p{i}")
        params.append(key)
        renames.append((f"p{i}", key if key not in taken else f"param.{key}"))
    for i, key in enumerate(tags):
        fragments.append(f"r.tags[?] as t{i}")
        params.append(key)
        renames.append((f"t{i}", f"tag.{key}"))
    return "".join(", " + f for f in fragments), params, renames


def _typed_params(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Param columns arrive as text; make all-numeric ones Int64 or Float64."""
    import polars as pl

    casts = []
    for name in columns:
        text = frame.get_column(name)
        number = text.cast(pl.Float64, strict=False)
        if number.null_count() != text.null_count():
            continue
        whole = number.drop_nulls()
        integral = (
            len(whole)
            and bool((whole == whole.round(0)).all())
            and not text.str.contains(r"[.eE]").any()
        )
        casts.append(number.cast(pl.Int64) if integral else number)
    return frame.with_columns(casts) if casts else frame


def list_runs(
    store: StoreLike,
    where: str | None = None,
    sort: str | None = None,
    limit: int | None = None,
    *,
    include_deleted: bool = False,
) -> pl.DataFrame:
    """Runs as a wide frame (one column per metric, param and tag), filtered and sorted.

    ``where`` and ``sort`` use the filter language in ``workbench.experiments.query``;
    the default order is newest first.
    """
    if limit is not None and (not isinstance(limit, int) or limit < 0):
        raise InputError(f"limit must be a non-negative integer, got {limit!r}")
    with store.read() as con:
        fields = _fields(con)
        select_sql, select_args, renames = _wide_select(fields)
        where_sql, where_args = compile_filter(where or "", fields)
        order_sql, order_args = compile_sort(sort or "-id", fields)
        deleted_sql = "" if include_deleted else "not r.deleted and "
        sql = (
            f"select {_BASE_COLUMNS}{select_sql} from runs r "
            f"where {deleted_sql}{where_sql} order by {order_sql}, r.id desc"
        )
        args = [*select_args, *where_args, *order_args]
        if limit is not None:
            sql += " limit ?"
            args.append(limit)
        frame = con.sql(sql, params=args).pl()
    frame = frame.rename(dict(renames))
    param_columns = [new for old, new in renames if old.startswith("p")]
    return _typed_params(frame, param_columns)
