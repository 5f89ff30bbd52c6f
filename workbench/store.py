"""The DuckDB metadata store: short connections, lock retry, forward-only migrations.

DuckDB lets one process open a database file at a time for writing, and a writer excludes
readers in other processes. The TUI, the CLI, a notebook kernel and a scoring process share one
workspace, so nobody holds a connection while waiting for a person or other work: open, do one
unit of work in a transaction, close (about 15 ms). A lock conflict retries with jittered
exponential backoff until ``lock_timeout``, then raises ``WorkspaceBusy``.

Every committed write touches ``changes`` beside the database; the TUI polls its mtime to notice
other processes' work without opening the database.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from importlib import resources
from pathlib import Path

import duckdb

from .errors import WorkbenchError
from .filelock import backoff, hold

__all__ = ["Store", "migrations", "SCHEMA_VERSION"]

_LOCK_MARKERS = ("Could not set lock", "Conflicting lock", "lock on file")


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every migration shipped with the package, in order."""
    found = []
    for entry in resources.files("workbench.migrations").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


SCHEMA_VERSION = max(v for v, _, _ in migrations())
_ALL_VERSIONS = frozenset(v for v, _, _ in migrations())


def _is_lock_error(exc: BaseException) -> bool:
    text = str(exc)
    return any(marker in text for marker in _LOCK_MARKERS)


def _is_interrupt(exc: BaseException) -> bool:
    """DuckDB answers SIGINT itself: the running query stops with an error, not KeyboardInterrupt."""
    return isinstance(exc, duckdb.InterruptException) or (
        isinstance(exc, RuntimeError) and "Query interrupted" in str(exc)
    )


@contextmanager
def _interrupts_as_keyboard() -> Iterator[None]:
    """Turn DuckDB's "Query interrupted" back into the KeyboardInterrupt the user sent.

    The CLI then says "cancelled" and exits with 130, like a Ctrl-C anywhere else.
    """
    try:
        yield
    except (duckdb.Error, RuntimeError) as exc:
        if _is_interrupt(exc):
            raise KeyboardInterrupt from None
        raise


def _split_sql(sql: str) -> list[str]:
    lines = [ln for ln in sql.splitlines() if not ln.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


class Store:
    """One workspace's metadata database."""

    _migrated: set[str] = set()
    _migrate_lock = threading.Lock()

    def __init__(self, path: Path, lock_timeout: float | Callable[[], float] = 15.0) -> None:
        self.path = Path(path)
        self._lock_timeout = lock_timeout
        self.marker = self.path.with_name("changes")
        self.lockfile = self.path.with_suffix(".lock")

    # -- connections -------------------------------------------------------------------------

    @property
    def lock_timeout(self) -> float:
        """Seconds to wait for a lock (resolved on first need when given as a callable)."""
        if callable(self._lock_timeout):
            self._lock_timeout = float(self._lock_timeout())
        return self._lock_timeout

    def _connect(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        waits = None
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.Error as exc:
                if not _is_lock_error(exc):
                    raise WorkbenchError(f"cannot open the workspace store: {exc}") from exc
                waits = waits or backoff(self.lock_timeout, 0.005, 0.25)
                next(waits)

    @contextmanager
    def _lock(self, exclusive: bool) -> Iterator[None]:
        """Our own reader-writer lock around every connection (``flock`` on ``meta.lock``).

        DuckDB's file lock alone let a writer open the file while another process was still
        finishing with it under heavy load ("Could not read enough bytes"); with this lock,
        writers never overlap anything and readers overlap only readers. DuckDB's lock stays as
        a second line against processes that do not use ours.
        """
        with hold(self.lockfile, exclusive, lambda: self.lock_timeout):
            yield

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short read-only connection."""
        key = str(self.path.resolve())
        if key not in Store._migrated and not self.path.exists():
            self.ensure_migrated()
        with self._lock(exclusive=False):
            con = self._connect(read_only=True)
            try:
                if key not in Store._migrated:
                    # The first read of a process checks the schema on the connection it then
                    # uses: one connection fewer on every short CLI call.
                    if _pending(con):
                        con.close()
                        con = None  # type: ignore[assignment]
                    else:
                        Store._migrated.add(key)
                if con is not None:
                    with _interrupts_as_keyboard():
                        yield con
                    return
            finally:
                if con is not None:
                    con.close()
        self.ensure_migrated()
        with self._lock(exclusive=False):
            con = self._connect(read_only=True)
            try:
                with _interrupts_as_keyboard():
                    yield con
            finally:
                con.close()

    @contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short connection inside one transaction; commits on success, rolls back on error."""
        self.ensure_migrated()
        with self._write_unmigrated() as con:
            yield con

    @contextmanager
    def _write_unmigrated(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._lock(exclusive=True):
            con = self._connect(read_only=False)
            try:
                con.begin()
                try:
                    with _interrupts_as_keyboard():
                        yield con
                except BaseException:
                    with suppress(duckdb.Error, RuntimeError):  # an interrupt may have ended it
                        con.rollback()
                    raise
                with _interrupts_as_keyboard():
                    con.commit()
            finally:
                con.close()
        self._touch()

    def swap_in(
        self,
        new: Path,
        carry: Callable[[duckdb.DuckDBPyConnection, duckdb.DuckDBPyConnection], None],
    ) -> None:
        """Replace the whole database with the file ``new`` (a pull), atomically for every
        process that uses this store.

        Under the exclusive lock (no other connection is open then), ``carry(old, fresh)``
        checks the current state and copies what stays local into the new file in one
        transaction; raising there leaves everything as it was. Both files are checkpointed,
        so no write-ahead log of the old file can be replayed onto the new one, and the new
        file is renamed over the old.
        """
        self.ensure_migrated()
        with self._lock(exclusive=True):
            old = self._connect(read_only=False)
            try:
                fresh = duckdb.connect(str(new))
                try:
                    fresh.begin()
                    with _interrupts_as_keyboard():
                        carry(old, fresh)
                    fresh.commit()
                    fresh.execute("checkpoint")
                finally:
                    fresh.close()
                old.execute("checkpoint")
            finally:
                old.close()
            for wal in (Path(f"{new}.wal"), Path(f"{self.path}.wal")):
                if wal.exists():
                    raise WorkbenchError(f"{wal} remains after a checkpoint; nothing replaced")
            os.replace(new, self.path)
            folder = os.open(self.path.parent, os.O_RDONLY)  # make the rename durable
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
        self._touch()

    def _touch(self) -> None:
        with open(self.marker, "a"):
            pass
        os.utime(self.marker, ns=(time.time_ns(), time.time_ns()))

    def change_token(self) -> int:
        """A number that changes whenever any process commits a write."""
        try:
            return self.marker.stat().st_mtime_ns
        except FileNotFoundError:
            return 0

    # -- schema ------------------------------------------------------------------------------

    def ensure_migrated(self) -> None:
        """Apply pending migrations once per process (forward-only)."""
        key = str(self.path.resolve())
        if key in Store._migrated:
            return
        with Store._migrate_lock:
            if key in Store._migrated:
                return
            if self._has_pending():
                self.migrate()
            Store._migrated.add(key)

    def _has_pending(self) -> bool:
        if not self.path.exists():
            return True
        with self._lock(exclusive=False):
            con = self._connect(read_only=True)
            try:
                return _pending(con)
            finally:
                con.close()

    def migrate(self) -> list[str]:
        """Apply every shipped migration the store lacks, in order; returns their names."""
        applied = []
        with self._write_unmigrated() as con:
            con.execute(
                "create table if not exists schema_version ("
                "version integer primary key, name text not null, applied_at timestamp not null)"
            )
            done = _applied_versions(con)
            current = max(done, default=0)
            if current > SCHEMA_VERSION:
                raise WorkbenchError(
                    f"this workspace has schema version {current}, newer than this workbench "
                    f"({SCHEMA_VERSION})",
                    hint="upgrade the workbench package",
                )
            # Every shipped migration not yet applied, in order: a store that skipped a number
            # (made between two releases) gets the missing one too.
            for version, name, sql in migrations():
                if version in done:
                    continue
                for statement in _split_sql(sql):
                    con.execute(statement)
                con.execute(
                    "insert into schema_version values (?, ?, current_timestamp)", [version, name]
                )
                applied.append(name)
        return applied

    def schema_version(self) -> int:
        """The store's current schema version."""
        with self.read() as con:
            return _schema_version(con)


def _applied_versions(con: duckdb.DuckDBPyConnection) -> set[int]:
    # fetchall, not fetchone: DuckDB 2 refuses further work while a result is unfinished.
    exists = con.execute(
        "select count(*) from information_schema.tables where table_name = 'schema_version'"
    ).fetchall()[0][0]
    if not exists:
        return set()
    return {r[0] for r in con.execute("select version from schema_version").fetchall()}


def _schema_version(con: duckdb.DuckDBPyConnection) -> int:
    return max(_applied_versions(con), default=0)


def _pending(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether any shipped migration is not applied (gaps included, not only newer ones)."""
    return bool(_ALL_VERSIONS - _applied_versions(con))
