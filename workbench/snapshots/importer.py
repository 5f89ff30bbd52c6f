"""``data add``: turn a CSV or Parquet file into a versioned, content-addressed snapshot.

Order of work, so that a crash or Ctrl-C at any moment leaves a consistent workspace:
read and check the file (nothing written) -> write Parquet to ``tmp/`` -> hash -> rename into
``objects/`` (an orphan at worst) -> record the version, the cache entry and the audit entry in
one transaction. A record therefore never points to a missing object.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .. import audit
from ..errors import InputError
from ..objects import ObjectStore, hash_file
from ..progress import NULL_PROGRESS, Progress
from ..store import Store
from . import catalog
from .catalog import Snapshot
from .profile import profile_frame
from .reader import check_source_path, read_table
from .refs import validate_name

if TYPE_CHECKING:
    import polars as pl

__all__ = ["AddResult", "add_snapshot", "write_object"]


@dataclass(frozen=True)
class AddResult:
    """What ``data add`` did."""

    snapshot: Snapshot
    created: bool
    detail: str


@dataclass(frozen=True)
class _Content:
    object_hash: str
    object_size: int
    n_rows: int
    schema: dict[str, str]
    profile: list[dict]


def _check_columns(df_schema: dict, target: str | None, time_column: str | None, key: str | None):
    for role, col in (("target", target), ("time column", time_column), ("key", key)):
        if col is not None and col not in df_schema:
            raise InputError(f"{role} {col!r} is not a column (columns: {', '.join(df_schema)})")
    if time_column is not None:
        dtype = df_schema[time_column]
        if not (dtype.startswith("Date") or dtype.startswith("Datetime")):
            raise InputError(f"time column {time_column!r} holds {dtype}, not dates or times")


ROW_GROUP_ROWS = 262_144
"""Rows per Parquet row group, fixed so that the bytes depend on the content alone.

Left to Polars, row groups follow the frame's in-memory chunks, and those follow the CSV
reader's thread count: the same file gave different bytes (so a different object hash) after
``rechunk()`` and would on a machine with more cores. A fixed size also writes faster.
"""


def write_object(
    objects: ObjectStore, df: pl.DataFrame, progress: Progress = NULL_PROGRESS
) -> tuple[str, int]:
    """Write ``df`` as a Parquet object; returns (digest, size).

    Deterministic for equal frames, whatever their chunking or the number of threads.
    """
    with objects.temp_path(".parquet") as tmp:
        df.write_parquet(tmp, compression="zstd", statistics=True, row_group_size=ROW_GROUP_ROWS)
        progress.check_cancelled()
        size = tmp.stat().st_size
        digest, _ = objects.adopt(tmp)
    return digest, size


def _import_file(objects: ObjectStore, path: Path, progress: Progress) -> tuple[_Content, str]:
    progress.start("reading", total=3)
    with ThreadPoolExecutor(max_workers=1) as pool:
        # Hash the source while Polars parses it; both release the GIL.
        source_hash = pool.submit(hash_file, path)
        df = read_table(path)
        progress.advance()
        progress.check_cancelled()
        progress.start("writing", total=3)
        progress.advance(1)
        profile = pool.submit(profile_frame, df)
        # The object goes to a staging store under tmp/ while the profile runs, and into
        # objects/ only once the profile is complete: a profile that fails leaves no object.
        staging = ObjectStore(objects.tmp / f"staging-{uuid.uuid4().hex}", objects.tmp)
        try:
            digest, size = write_object(staging, df, progress)
            profiles = [p.to_dict() for p in profile.result()]
            objects.adopt(staging.path(digest), digest)
        finally:
            shutil.rmtree(staging.root, ignore_errors=True)
        progress.advance()
        content = _Content(
            object_hash=digest,
            object_size=size,
            n_rows=df.height,
            schema={k: str(v) for k, v in df.schema.items()},
            profile=profiles,
        )
        progress.advance()
        return content, source_hash.result()


def _cached_content(store: Store, objects: ObjectStore, name: str, path: Path, st: os.stat_result):
    """Content of an unchanged source file from the (path, size, mtime) cache, without reading
    it, and the version of ``name`` that already holds that content (if any)."""
    with store.read() as con:
        row = con.execute(
            "select c.source_hash, s.object_hash, s.object_size, s.n_rows, s.schema_json, "
            "s.profile_json from source_cache c join snapshots s on s.object_hash = c.object_hash "
            "where c.path = ? and c.size = ? and c.mtime_ns = ? limit 1",
            [str(path), st.st_size, st.st_mtime_ns],
        ).fetchone()
        if row is None or not objects.exists(row[1]):
            return None
        same = con.execute(
            "select id from snapshots where name = ? and object_hash = ? order by version limit 1",
            [name, row[1]],
        ).fetchone()
        existing = catalog.by_id(con, same[0]) if same else None
    content = _Content(row[1], row[2], row[3], json.loads(row[4]), json.loads(row[5]))
    return content, row[0], existing


def add_snapshot(
    store: Store,
    objects: ObjectStore,
    path: Path | str,
    name: str,
    *,
    author: str | Callable[[], str],
    target: str | None = None,
    time_column: str | None = None,
    key: str | None = None,
    message: str | None = None,
    progress: Progress = NULL_PROGRESS,
) -> AddResult:
    """Add a file as the next version of ``name`` (or recognise it as unchanged).

    ``author`` may be a callable: resolving the acting user reads the settings, which the
    unchanged-file path never needs.
    """
    validate_name(name)
    path = check_source_path(Path(path))
    st = path.stat()
    cached = _cached_content(store, objects, name, path, st)
    if cached is not None and cached[2] is not None:
        # The fast path: nothing read, nothing written.
        existing = cached[2]
        return AddResult(existing, False, f"unchanged: identical to {existing.ref}")
    if callable(author):
        author = author()  # before any work: bad settings refuse the add with nothing written
    if cached is None:
        content, source_hash = _import_file(objects, path, progress)
    else:
        content, source_hash, _ = cached
    _check_columns(content.schema, target, time_column, key)
    progress.check_cancelled()
    return _record(
        store, path, st, name, content, source_hash, author, target, time_column, key, message
    )


def _still_present(column: str | None, schema: dict[str, str]) -> str | None:
    return column if column in schema else None


def _record(
    store: Store,
    path: Path,
    st: os.stat_result,
    name: str,
    content: _Content,
    source_hash: str,
    author: str,
    target: str | None,
    time_column: str | None,
    key: str | None,
    message: str | None,
) -> AddResult:
    with store.write() as con:
        con.execute(
            "insert or replace into source_cache values (?, ?, ?, ?, ?)",
            [str(path), st.st_size, st.st_mtime_ns, source_hash, content.object_hash],
        )
        same = con.execute(
            "select id from snapshots where name = ? and object_hash = ? order by version limit 1",
            [name, content.object_hash],
        ).fetchone()
        if same is not None:
            existing = catalog.by_id(con, same[0])
            return AddResult(existing, False, f"unchanged: identical to {existing.ref}")
        previous = catalog.latest(con, name)
        version = 1 if previous is None else previous.version + 1
        if previous is not None:
            # Roles carry over from the parent version unless given again.
            target = target or _still_present(previous.target, content.schema)
            time_column = time_column or _still_present(previous.time_column, content.schema)
            key = key or _still_present(previous.key_column, content.schema)
        new_id = con.execute(
            "insert into snapshots (name, version, parent_id, object_hash, object_size, n_rows, "
            "n_columns, schema_json, profile_json, target, time_column, key_column, source_path, "
            "source_hash, message, author, created_at) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) returning id",
            [
                name, version, previous.id if previous else None, content.object_hash,
                content.object_size, content.n_rows, len(content.schema),
                json.dumps(content.schema), json.dumps(content.profile), target, time_column,
                key, str(path), source_hash, message, author, datetime.now(),
            ],
        ).fetchone()[0]  # fmt: skip
        snap = catalog.by_id(con, new_id)
        audit.append(
            con, author, "snapshot.added", snap.ref,
            {"object": content.object_hash, "rows": content.n_rows, "source": str(path)},
        )  # fmt: skip
    return AddResult(snap, True, f"added {snap.ref}")
