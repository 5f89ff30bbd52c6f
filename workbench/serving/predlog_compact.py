"""Compaction: many small segments become fewer larger files, while writers keep writing and
readers keep reading.

Why it is safe:

* Writers only add files under new names; compaction never changes a file. It reads finished
  files (a file has its final name only once it is whole), so a segment being written is
  invisible to it.
* The merged file is written under a temporary name, fsynced, and renamed into the same day
  folder. Its Parquet metadata lists every file it supersedes (transitively: the inputs of a
  compacted input too), so the rename is the one atomic step that swaps old rows for new for
  every reader (``predlog_layout.list_folder``).
* Superseded files stay for ``grace`` seconds, so a reader that listed them just before the
  swap still reads them; a later compaction deletes them.
* One compaction at a time: an exclusive ``flock`` on ``predictions/.compact.lock``, released
  by the kernel when the holder dies, so a crash never leaves the log locked.
* A crash before the rename leaves a temporary file (deleted after ``stale_temp`` seconds);
  after it, superseded files that readers already skip. The log reads the same either way.
* Repeated request ids in the merged rows are reduced to the earliest, as readers do.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..objects import fsync_dir
from .predlog_layout import (
    REPLACES_KEY,
    FolderListing,
    SegmentFile,
    day_folders,
    fingerprint,
    list_folder,
    predictions_dir,
    replaced_by,
    segment_name,
    write_atomic,
)

__all__ = ["CompactionReport", "PeriodicCompaction", "compact"]

LOCK_FILE = ".compact.lock"
_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CompactionReport:
    """What one ``compact`` call did."""

    #: another compaction held the lock, so nothing was done
    busy: bool = False
    files_merged: int = 0
    files_written: int = 0
    rows_written: int = 0
    duplicates_removed: int = 0
    #: superseded files deleted once their grace period was over
    files_deleted: int = 0
    temp_files_removed: int = 0


def compact(
    workspace: str | os.PathLike[str],
    model: str | None = None,
    version: int | None = None,
    *,
    target_size: int = 64 << 20,
    grace: float = 600.0,
    stale_temp: float = 3600.0,
    wait: bool = False,
    now: float | None = None,
) -> CompactionReport:
    """Merge files smaller than ``target_size`` bytes, per day folder, into ~``target_size``
    files; delete superseded files older than ``grace`` seconds and stale temporary files.

    Returns at once with ``busy=True`` when another compaction runs (``wait=True`` waits).
    ``grace=0`` deletes merged files at once: a reader that listed them a moment before may
    fail (for tests and offline use). ``now`` (wall-clock seconds) lets tests move past the
    grace period without sleeping.
    """
    root = predictions_dir(workspace)
    if not root.is_dir():
        return CompactionReport()
    totals: dict[str, Any] = dict.fromkeys(CompactionReport.__dataclass_fields__, 0)
    with _exclusive(root, wait) as held:
        if not held:
            return CompactionReport(busy=True)
        for folder in list(day_folders(root, model, version)):
            for name, n in _compact_folder(folder, target_size, grace, stale_temp, now).items():
                totals[name] += n
    del totals["busy"]
    return CompactionReport(**totals)


class PeriodicCompaction:
    """Runs ``compact`` every ``every`` seconds on a daemon thread until ``stop()``.

    A scoring process runs one beside its log (a flush a second per process and version is
    86,400 files a day until compacted). A failed run is logged and counted, and the next runs
    as planned. Several processes may each run one: the lock makes them take turns.
    """

    def __init__(
        self, workspace: str | os.PathLike[str], every: float = 60.0, **options: object
    ) -> None:
        self.workspace = workspace
        self.every = every
        self.options = options  # keyword arguments of ``compact``
        self.runs = self.errors = 0
        self.last_report: CompactionReport | None = None
        self.last_error: str | None = None
        #: set after each run, so tests wait on it instead of sleeping
        self.ran = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="prediction-log-compaction", daemon=True
        )
        self._thread.start()

    def __enter__(self) -> PeriodicCompaction:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self, timeout: float = 60.0) -> bool:
        """Stop after the run in progress, if any; False if it outlasted ``timeout``."""
        self._stop.set()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.last_report = compact(self.workspace, **self.options)  # type: ignore[arg-type]
            except Exception as exc:
                _logger.error("prediction log compaction failed: %r", exc)
                self.errors += 1
                self.last_error = repr(exc)
            self.runs += 1
            self.ran.set()


@contextmanager
def _exclusive(root: Path, wait: bool) -> Iterator[bool]:
    import fcntl

    fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            held = False
        else:
            held = True
        yield held
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _compact_folder(
    folder: Path, target_size: int, grace: float, stale_temp: float, now: float | None
) -> dict[str, int]:
    counts = dict.fromkeys(
        ("files_merged", "files_written", "rows_written", "duplicates_removed"), 0
    )
    listing = list_folder(folder)
    clock = time.time() if now is None else now
    counts["files_deleted"] = _remove(
        [f.path for f, since in listing.superseded.items() if clock - since >= grace]
    )
    counts["temp_files_removed"] = _remove(
        [path for path, mtime in listing.temporary if clock - mtime >= stale_temp]
    )
    for group in _groups(listing.live, target_size):
        rows_in, rows_out, replaced = _merge(folder, group, listing)
        counts["files_merged"] += len(group)
        counts["files_written"] += 1
        counts["rows_written"] += rows_out
        counts["duplicates_removed"] += rows_in - rows_out
        if grace <= 0:
            counts["files_deleted"] += _remove([folder / name for name in replaced])
    if counts["files_deleted"]:
        fsync_dir(folder)
    return counts


def _groups(live: list[SegmentFile], target_size: int) -> list[list[SegmentFile]]:
    """Runs of small files in time order, each about ``target_size`` bytes; singles stay.

    A file larger than the rest of its group together waits for more company: otherwise a
    day's growing compacted file would be rewritten at every run to add one minute of rows
    (quadratic writing); this way each row is rewritten about log2(target / segment) times.
    """
    groups: list[list[SegmentFile]] = [[]]
    size = 0
    for f in live:
        if f.size >= target_size:
            continue
        if size >= target_size:
            groups.append([])
            size = 0
        groups[-1].append(f)
        size += f.size
    tiered = []
    for group in groups:
        total, waiting = sum(f.size for f in group), set()
        for f in sorted(group, key=lambda f: f.size, reverse=True)[: len(group) - 2]:
            if 2 * f.size <= total:
                break
            total -= f.size
            waiting.add(f.name)
        kept = [f for f in group if f.name not in waiting]
        if len(kept) >= 2 and 2 * max(f.size for f in kept) <= total:
            tiered.append(kept)
    return tiered


def _merge(
    folder: Path, group: list[SegmentFile], listing: FolderListing
) -> tuple[int, int, set[str]]:
    """Write the group's rows as one compacted file; returns rows in, rows out, names replaced."""
    import polars as pl

    by_schema: dict[str, list[str]] = {}
    for f in group:
        by_schema.setdefault(f.fingerprint, []).append(str(f.path))
    scans = [pl.scan_parquet(p, glob=False, hive_partitioning=False) for p in by_schema.values()]
    frame = (scans[0] if len(scans) == 1 else pl.concat(scans, how="diagonal_relaxed")).collect()
    rows_in = frame.height
    frame = frame.sort("time", maintain_order=True).unique(
        subset=["model", "version", "request_id"], keep="first", maintain_order=True
    )
    present = {f.name for f in listing.live} | {f.name for f in listing.superseded}
    replaced = {f.name for f in group}
    for f in group:
        if f.kind == "cmp":  # what it replaced, if still on disk, is replaced by the new file
            replaced |= (replaced_by(f.path) or frozenset()) & present
    name = segment_name(
        "cmp",
        min(f.tmin for f in group),  # the union of the inputs' ranges: readers prune by it
        max(f.tmax for f in group),
        fingerprint(frame.schema),
    )
    write_atomic(frame, folder, name, metadata={REPLACES_KEY: "\n".join(sorted(replaced))})
    return rows_in, frame.height, replaced


def _remove(paths: list[Path]) -> int:
    removed = 0
    for path in paths:
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:
            pass
    return removed
