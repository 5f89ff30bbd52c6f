"""``data add``'s file work: read and check a CSV or Parquet file, profile it, and write it as
a content-addressed Parquet object. Recording the version is the service's job
(``SnapshotService.add``), in one transaction after the object is in place.

Order of work, so that a crash or Ctrl-C at any moment leaves a consistent workspace:
read and check the file (nothing written) -> write Parquet to ``tmp/`` -> hash -> rename into
``objects/`` (an orphan at worst) -> record the version, the cache entry and the audit entry in
one transaction. A record therefore never points to a missing object.
"""

from __future__ import annotations

import os
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError
from ..objects import ObjectStore, hash_file
from ..progress import NULL_PROGRESS, Progress
from .profile import profile_frame
from .reader import read_table
from .records import Snapshot

if TYPE_CHECKING:
    import polars as pl

__all__ = ["AddResult", "Content", "import_file", "check_columns", "write_object", "ROW_GROUP_ROWS"]


@dataclass(frozen=True)
class AddResult:
    """What ``data add`` did."""

    snapshot: Snapshot
    created: bool
    detail: str


@dataclass(frozen=True)
class Content:
    """A file's content as stored: its object and what profiling found."""

    object_hash: str
    object_size: int
    n_rows: int
    schema: dict[str, str]
    profile: list[dict]


def check_columns(
    df_schema: dict, target: str | None, time_column: str | None, key: str | None
) -> None:
    """Refuse roles naming columns the data lacks, and a time column without dates."""
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


def import_file(objects: ObjectStore, path: Path, progress: Progress) -> tuple[Content, str]:
    """Read, profile and store a file as an object; returns its content and the source's hash."""
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
        staging = ObjectStore(
            objects.tmp / f"{os.getpid()}-staging-{uuid.uuid4().hex}", objects.tmp
        )
        try:
            digest, size = write_object(staging, df, progress)
            profiles = [p.to_dict() for p in profile.result()]
            objects.adopt(staging.path(digest), digest)
        finally:
            shutil.rmtree(staging.root, ignore_errors=True)
        progress.advance()
        content = Content(
            object_hash=digest,
            object_size=size,
            n_rows=df.height,
            schema={k: str(v) for k, v in df.schema.items()},
            profile=profiles,
        )
        progress.advance()
        return content, source_hash.result()
