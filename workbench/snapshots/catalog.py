"""Snapshot records in the store: the ``Snapshot`` type, lookups and reference resolution."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import duckdb

from ..errors import NotFoundError
from .profile import ColumnProfile
from .refs import SnapshotRef, parse_ref

if TYPE_CHECKING:
    import polars as pl

__all__ = ["Snapshot", "resolve", "list_snapshots", "lineage", "COLUMNS", "snapshot_frame"]

COLUMNS = (
    "id, name, version, parent_id, object_hash, object_size, n_rows, n_columns, schema_json, "
    "profile_json, target, time_column, key_column, source_path, source_hash, message, author, "
    "created_at"
)


@dataclass(frozen=True)
class Snapshot:
    """One immutable version of a named dataset."""

    id: int
    name: str
    version: int
    parent_id: int | None
    object_hash: str
    object_size: int
    n_rows: int
    n_columns: int
    schema: dict[str, str]
    profile_data: list[dict] = field(repr=False)
    target: str | None
    time_column: str | None
    key_column: str | None
    source_path: str | None
    source_hash: str | None
    message: str | None
    author: str
    created_at: datetime

    @property
    def ref(self) -> str:
        """The human reference, ``name@vN``."""
        return f"{self.name}@v{self.version}"

    @property
    def short_hash(self) -> str:
        """First 12 hex digits of the content hash."""
        return self.object_hash[:12]

    @property
    def profile(self) -> list[ColumnProfile]:
        """Per-column profiles."""
        return [ColumnProfile.from_dict(d) for d in self.profile_data]

    def column(self, name: str) -> ColumnProfile:
        """The profile of one column."""
        for p in self.profile:
            if p.name == name:
                return p
        raise NotFoundError(f"{self.ref} has no column {name!r}")

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{p.name}</td><td>{p.dtype}</td><td>{p.null_share:.1%}</td>"
            f"<td>{p.distinct}</td></tr>"
            for p in self.profile
        )
        return (
            f"<b>{self.ref}</b> {self.n_rows:,} rows x {self.n_columns} columns, "
            f"<code>{self.short_hash}</code> {self.message or ''}"
            f"<table><tr><th>column</th><th>type</th><th>nulls</th><th>distinct</th></tr>"
            f"{rows}</table>"
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
