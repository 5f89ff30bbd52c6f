"""Snapshot SQL: every query on ``snapshots`` and ``source_cache``, each taking a connection.

The service owns the transaction (``store.read()`` / ``store.write()``); functions here never
open one. Schema: ``workbench/migrations/0001_foundation.sql``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import duckdb

from ..errors import NotFoundError
from .records import Snapshot
from .refs import SnapshotRef, parse_ref

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "COLUMNS",
    "CachedSource",
    "NewSnapshot",
    "by_id",
    "latest",
    "resolve",
    "list_snapshots",
    "snapshot_frame",
    "lineage",
    "cached_source",
    "version_holding",
    "remember_source",
    "insert_snapshot",
]

COLUMNS = (
    "id, name, version, parent_id, object_hash, object_size, n_rows, n_columns, schema_json, "
    "profile_json, target, time_column, key_column, source_path, source_hash, message, author, "
    "created_at"
)


def _from_row(row: tuple) -> Snapshot:
    (id_, name, version, parent, obj, size, n_rows, n_cols, schema_json, profile_json, target,
     time_col, key_col, src, src_hash, message, author, created) = row  # fmt: skip
    return Snapshot(
        id=id_, name=name, version=version, parent_id=parent, object_hash=obj, object_size=size,
        n_rows=n_rows, n_columns=n_cols, schema=json.loads(schema_json),
        profile_data=json.loads(profile_json), target=target, time_column=time_col,
        key_column=key_col, source_path=src, source_hash=src_hash, message=message, author=author,
        created_at=created,
    )  # fmt: skip


def by_id(con: duckdb.DuckDBPyConnection, snapshot_id: int) -> Snapshot:
    """The snapshot with this id."""
    row = con.execute(f"select {COLUMNS} from snapshots where id = ?", [snapshot_id]).fetchone()
    if row is None:
        raise NotFoundError(f"no snapshot with id {snapshot_id}")
    return _from_row(row)


def latest(con: duckdb.DuckDBPyConnection, name: str) -> Snapshot | None:
    """The newest version of ``name``, or None."""
    row = con.execute(
        f"select {COLUMNS} from snapshots where name = ? order by version desc limit 1", [name]
    ).fetchone()
    return _from_row(row) if row else None


def resolve(con: duckdb.DuckDBPyConnection, ref: str | SnapshotRef) -> Snapshot:
    """The snapshot a reference names, or NotFoundError: a name first (``churn``,
    ``churn@v2``), else a content-hash prefix; ``hash:PREFIX`` is a hash prefix only."""
    parsed = parse_ref(ref) if isinstance(ref, str) else ref
    if parsed.name is not None:
        if parsed.version is None:
            snap = latest(con, parsed.name)
        else:
            row = con.execute(
                f"select {COLUMNS} from snapshots where name = ? and version = ?",
                [parsed.name, parsed.version],
            ).fetchone()
            snap = _from_row(row) if row else None
        if snap is not None:
            return snap
    if parsed.hash_prefix:
        rows = con.execute(
            f"select {COLUMNS} from snapshots where starts_with(object_hash, ?) order by id",
            [parsed.hash_prefix],
        ).fetchall()
        hashes = {r[4] for r in rows}
        if len(hashes) > 1:
            raise NotFoundError(
                f"hash prefix {parsed.hash_prefix!r} is ambiguous ({len(hashes)} objects)",
                hint="give more digits",
            )
        if rows:
            return _from_row(rows[-1])
    raise NotFoundError(f"unknown snapshot {ref}", hint="see `workbench data list`")


def list_snapshots(con: duckdb.DuckDBPyConnection, name: str | None = None) -> list[Snapshot]:
    """All snapshots (or one name's), newest first."""
    sql = f"select {COLUMNS} from snapshots"
    params: list = []
    if name is not None:
        sql += " where name = ?"
        params.append(name)
    rows = con.execute(sql + " order by created_at desc, id desc", params).fetchall()
    return [_from_row(r) for r in rows]


def snapshot_frame(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The snapshot table as a Polars frame (for big listings: no per-row objects)."""
    return con.sql(
        "select id, name, version, 'v' || version as v, n_rows, n_columns, created_at, "
        "coalesce(message, '') as message, author, left(object_hash, 12) as hash "
        "from snapshots order by created_at desc, id desc"
    ).pl()


def lineage(con: duckdb.DuckDBPyConnection, snap: Snapshot) -> list[Snapshot]:
    """The snapshot and its ancestors, newest first."""
    chain = [snap]
    seen = {snap.id}
    while chain[-1].parent_id is not None and chain[-1].parent_id not in seen:
        parent = by_id(con, chain[-1].parent_id)
        seen.add(parent.id)
        chain.append(parent)
    return chain


# -- imports ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CachedSource:
    """What the (path, size, mtime) cache knows of a source file: its hash and its content."""

    source_hash: str
    object_hash: str
    object_size: int
    n_rows: int
    schema: dict[str, str]
    profile: list[dict]


@dataclass(frozen=True)
class NewSnapshot:
    """Everything a new version records (the version number and parent are worked out here)."""

    name: str
    object_hash: str
    object_size: int
    n_rows: int
    schema: dict[str, str]
    profile: list[dict]
    target: str | None
    time_column: str | None
    key_column: str | None
    source_path: str | None
    source_hash: str | None
    message: str | None
    author: str


def cached_source(
    con: duckdb.DuckDBPyConnection, path: str, size: int, mtime_ns: int
) -> CachedSource | None:
    """The cached hashes and content of an unchanged source file, or None."""
    row = con.execute(
        "select c.source_hash, s.object_hash, s.object_size, s.n_rows, s.schema_json, "
        "s.profile_json from source_cache c join snapshots s on s.object_hash = c.object_hash "
        "where c.path = ? and c.size = ? and c.mtime_ns = ? limit 1",
        [path, size, mtime_ns],
    ).fetchone()
    if row is None:
        return None
    return CachedSource(row[0], row[1], row[2], row[3], json.loads(row[4]), json.loads(row[5]))


def version_holding(con: duckdb.DuckDBPyConnection, name: str, object_hash: str) -> Snapshot | None:
    """The first version of ``name`` whose content is ``object_hash``, if any."""
    row = con.execute(
        "select id from snapshots where name = ? and object_hash = ? order by version limit 1",
        [name, object_hash],
    ).fetchone()
    return by_id(con, row[0]) if row else None


def remember_source(
    con: duckdb.DuckDBPyConnection,
    path: str,
    size: int,
    mtime_ns: int,
    source_hash: str,
    object_hash: str,
) -> None:
    """Cache a source file's hashes under its (path, size, mtime)."""
    con.execute(
        "insert or replace into source_cache values (?, ?, ?, ?, ?)",
        [path, size, mtime_ns, source_hash, object_hash],
    )


def _still_present(column: str | None, schema: dict[str, str]) -> str | None:
    return column if column in schema else None


def insert_snapshot(con: duckdb.DuckDBPyConnection, new: NewSnapshot) -> Snapshot:
    """Record the next version of ``new.name``; roles carry over from the parent version
    unless given again (and still columns)."""
    previous = latest(con, new.name)
    version = 1 if previous is None else previous.version + 1
    target, time_column, key = new.target, new.time_column, new.key_column
    if previous is not None:
        target = target or _still_present(previous.target, new.schema)
        time_column = time_column or _still_present(previous.time_column, new.schema)
        key = key or _still_present(previous.key_column, new.schema)
    new_id = con.execute(
        "insert into snapshots (name, version, parent_id, object_hash, object_size, n_rows, "
        "n_columns, schema_json, profile_json, target, time_column, key_column, source_path, "
        "source_hash, message, author, created_at) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) returning id",
        [
            new.name, version, previous.id if previous else None, new.object_hash,
            new.object_size, new.n_rows, len(new.schema), json.dumps(new.schema),
            json.dumps(new.profile), target, time_column, key, new.source_path,
            new.source_hash, new.message, new.author, datetime.now(),
        ],
    ).fetchall()[0][0]  # fmt: skip
    return by_id(con, new_id)
