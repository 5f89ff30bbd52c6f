"""The prediction log: every answer a model gives, kept as Parquet segments in the workspace.

The scoring server and batch scoring ``emit`` one ``Prediction`` per answer; a background
thread writes them, so a request never waits for a disk or a database. Monitoring reads them
back with Polars (``scan_predictions``) or SQL (``create_prediction_views``).

Writing follows OpenTelemetry's ``BatchProcessor``: ``emit`` appends to a bounded deque and
returns at once (when the deque is full the row is dropped and counted: ``stats().dropped``
is a metric to serve); a worker thread wakes every ``interval`` (one second) or when a batch
is ready, hands what is queued to the sink in one call, records a sink error and lives on,
and drains once more after it is told to stop. The sink is injected: ``ParquetSink`` in
production, ``MemorySink`` in tests.

On disk (``predlog_layout`` has the details)::

    .workbench/predictions/<model>/v<version>/<YYYY-MM-DD>/seg-<tmin>-<tmax>-<pid>-<token>-<fp>.parquet

One folder per model version, because each version has its own input schema: its inputs are
typed top-level columns ``in_<feature>``, not a JSON blob, so drift over ten million logged
rows reads only the feature columns it needs (one column of 10M rows: ~0.2 s; the same field
inside a struct column: ~5 s, the whole struct is decoded). Day folders keep listings short,
let a time-range read skip whole days, and bound what one compaction rewrites. We do not use
hive-style ``key=value`` folder names: model and version are also columns inside each file
(constant columns cost nothing after run-length encoding), and readers that auto-detect hive
partitions would see them twice.

Guarantees:

* A segment is written under a temporary name, fsynced, and renamed: a crash (even SIGKILL)
  leaves whole files only, and loses at most the rows queued since the last flush (about one
  ``interval``).
* ``close()`` (alias ``shutdown``) refuses new rows, wakes the worker, waits up to ``timeout``
  and drains what is left: no row emitted before it is lost. ``flush()`` writes everything
  queued now.
* Names carry the pid and a random token: processes write into one log without collisions.
* A request id logged twice (per model and version) counts once when read: readers keep the
  row with the earliest time.
* ``compact()`` merges small files into larger ones while writers write and readers read
  (``predlog_compact``); a scoring process runs it every minute with ``PeriodicCompaction``.

Shutdown in the owning process (what ``close()`` relies on)::

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # handlers only set flags
    with open_prediction_log(workspace) as log:            # leaving the block calls close()
        while not stop.is_set():
            log.emit(Prediction(request_id, "churn", 3, inputs, score=0.91))

Ctrl-C raises ``KeyboardInterrupt`` inside the block, which closes it too. A web server
closes the log in its lifespan teardown, after the last in-flight request has emitted its
row. An ``atexit`` hook closes a log the owner forgot; SIGKILL skips everything, which is
what the temporary-name-then-rename protocol is for.
"""

from __future__ import annotations

import atexit
import collections
import functools
import logging
import numbers
import os
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from .predlog_compact import CompactionReport, PeriodicCompaction, compact
from .predlog_layout import check_model, check_version, predictions_dir
from .predlog_read import create_prediction_views, read_predictions, scan_predictions, select_inputs
from .predlog_sink import ExportError, ParquetSink

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "Prediction",
    "PredictionLog",
    "LogStats",
    "Sink",
    "Staged",
    "MemorySink",
    "ParquetSink",
    "ExportError",
    "CompactionReport",
    "PeriodicCompaction",
    "open_prediction_log",
    "predictions_dir",
    "scan_predictions",
    "read_predictions",
    "select_inputs",
    "create_prediction_views",
    "compact",
]

_logger = logging.getLogger(__name__)
_wall_clock = time.time  # the field below is named ``time``
# int and float first: isinstance stops at the first match, before the slower ABC (numpy)
_NUMBER = (int, float, numbers.Real)


@dataclass(slots=True)
class Prediction:
    """One answer of one model version to one request: the row the log stores.

    ``time`` is seconds since the epoch (UTC), as ``time.time()`` gives; by default when the
    record was made. Do not change a record after emitting it: the writer reads it later.
    """

    request_id: str
    model: str
    version: int
    #: feature name -> value, as the model saw it
    inputs: Mapping[str, Any] = field(default_factory=dict)
    #: the predicted class (None for regression); ground truth arrives later, by entity key
    predicted_label: str | None = None
    #: probability of the predicted (binary: positive) class, or a ranking score
    score: float | None = None
    #: a regression output
    value: float | None = None
    #: champion | shadow | canary | batch | ...
    role: str = "champion"
    #: the routing decision that picked this model (e.g. "canary 10%")
    route: str | None = None
    #: value of the model's key column, to join late labels
    entity_key: str | None = None
    latency_ms: float | None = None
    time: float = field(default_factory=_wall_clock)


class Sink(Protocol):
    """Where batches go (the exporter): called from one thread at a time."""

    def export(self, batch: Sequence[Prediction]) -> None:
        """Store a batch; raise (optionally with ``failed_rows``) when rows were not stored."""

    def close(self) -> None:
        """Release what the sink holds; called once by ``PredictionLog.close``."""


@dataclass(frozen=True)
class LogStats:
    """Counters of a log, for metrics (read at scrape time)."""

    queued: int
    written: int
    #: refused because the queue was full or the log closed
    dropped: int
    #: handed to the sink, which failed to store them
    failed: int
    errors: int
    last_error: str | None
    #: wall-clock time of the last successful export
    last_export: float | None
    exports: int
    #: CPU seconds spent in exports (the writer's own cost)
    export_cpu_seconds: float


class PredictionLog:
    """Queues predictions and writes them from a background thread (see the module doc)."""

    def __init__(
        self,
        sink: Sink,
        *,
        interval: float = 1.0,
        max_queue: int = 65_536,
        batch_size: int = 8_192,
    ) -> None:
        if interval <= 0 or max_queue < 1 or batch_size < 1:
            raise ValueError("interval, max_queue and batch_size must be positive")
        self.sink = sink
        self.interval = interval
        self.max_queue = max_queue
        self.batch_size = batch_size
        self._closed = False  # emit refuses rows
        self._stopping = False  # the worker leaves its loop
        self._checked: set[tuple[str, int]] = set()
        self._start()
        # A process forked from this one (server workers) gets its own queue and thread.
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=functools.partial(_restart_after_fork, ref))
        self._atexit = functools.partial(_close_at_exit, ref)
        atexit.register(self._atexit)

    def _start(self) -> None:
        """Fresh queue, locks, counters and worker (also in a forked child: the parent's
        locks may have been held at the fork, and its rows and counts are the parent's)."""
        self._written = self._dropped = self._failed = self._errors = self._exports = 0
        self._cpu = 0.0
        self._last_error: str | None = None
        self._last_export: float | None = None
        self._stat_lock = threading.Lock()
        self._queue: collections.deque[Prediction] = collections.deque()
        self._wake = threading.Event()
        self._export_lock = threading.Lock()
        self._worker = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        if not self._closed:
            self._worker.start()

    def __enter__(self) -> PredictionLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        s = self.stats()
        return f"PredictionLog(queued={s.queued}, written={s.written}, dropped={s.dropped})"

    def emit(self, prediction: Prediction) -> bool:
        """Queue one row without blocking; False when it was dropped (queue full or closed)."""
        if self._closed:
            self._count_drop()
            return False
        _check(prediction, self._checked)
        queue = self._queue
        if len(queue) >= self.max_queue:
            self._count_drop()
            return False
        queue.append(prediction)
        if len(queue) >= self.batch_size and not self._wake.is_set():
            self._wake.set()
        return True

    def flush(self, timeout: float | None = None) -> bool:
        """Write every row queued now; False if ``timeout`` passed before the sink was free."""
        if not self._export_lock.acquire(timeout=-1 if timeout is None else timeout):
            return False
        try:
            self._export_queued()
        finally:
            self._export_lock.release()
        return True

    def write_frame(self, model: str, version: int, frame: pl.DataFrame) -> int:
        """Write a whole frame of one model version's rows now, on the caller's thread.

        Batch scoring's path (``ParquetSink.write_frame`` has the frame's columns): no
        ``Prediction`` per row and no bounded queue, so nothing is dropped, and a failure
        raises to the caller instead of being counted. Returns the rows written.
        """
        return self.commit(self.stage_frame(model, version, frame))

    def stage_frame(
        self, model: str, version: int, frame: pl.DataFrame, compression: str = "zstd"
    ) -> Staged:
        """Write a frame's segments under temporary names; ``commit`` publishes them (see
        ``ParquetSink.stage_frame``). Raises on failure, like ``write_frame``."""
        if self._closed:
            raise ValueError("the prediction log is closed")
        stage = getattr(self.sink, "stage_frame", None)
        if stage is None:
            raise TypeError(f"{type(self.sink).__name__} cannot write frames")
        cpu = time.thread_time()
        try:
            return stage(model, version, frame, compression)
        except Exception as exc:
            self._record_error(exc, frame.height, frame.height)
            raise
        finally:
            with self._stat_lock:
                self._exports += 1
                self._cpu += time.thread_time() - cpu

    def commit(self, staged: Staged) -> int:
        """Publish staged segments; returns their rows."""
        rows = staged.rows
        staged.commit()
        with self._stat_lock:
            self._written += rows
            self._last_export = _wall_clock()
        return rows

    def close(self, timeout: float = 30.0) -> bool:
        """Refuse new rows, write the queued ones, close the sink; False if time ran out."""
        if self._closed:
            return not self._worker.is_alive() and not self._queue
        self._closed = True
        deadline = time.monotonic() + timeout
        self._stopping = True
        self._wake.set()
        if self._worker.is_alive():
            self._worker.join(timeout)
        # An emit racing with close may have queued after the worker's last drain.
        if self._queue and not self._worker.is_alive():
            self.flush(max(0.0, deadline - time.monotonic()))
        try:
            self.sink.close()
        except Exception as exc:
            self._record_error(exc, 0)
        atexit.unregister(self._atexit)
        return not self._worker.is_alive() and not self._queue

    shutdown = close

    @property
    def dropped(self) -> int:
        """Rows refused so far (queue full or log closed)."""
        return self._dropped

    def stats(self) -> LogStats:
        """A snapshot of the counters."""
        with self._stat_lock:
            return LogStats(
                queued=len(self._queue), written=self._written, dropped=self._dropped,
                failed=self._failed, errors=self._errors, last_error=self._last_error,
                last_export=self._last_export, exports=self._exports,
                export_cpu_seconds=self._cpu,
            )  # fmt: skip

    def _run(self) -> None:
        due = time.monotonic() + self.interval
        while not self._stopping:
            self._wake.wait(max(0.0, due - time.monotonic()))
            if self._stopping:
                break
            self._wake.clear()
            due = time.monotonic() + self.interval
            with self._export_lock:
                self._export_queued()
        with self._export_lock:  # the last drain
            self._export_queued()

    def _export_queued(self) -> None:
        """Export what is queued now as one batch (caller holds the export lock)."""
        queue = self._queue
        # Only what is there now: under a flood of emits, a flush still returns.
        batch = [queue.popleft() for _ in range(len(queue))]
        if not batch:
            return
        cpu = time.thread_time()
        try:
            self.sink.export(batch)
        except Exception as exc:
            self._record_error(exc, getattr(exc, "failed_rows", len(batch)), len(batch))
        else:
            with self._stat_lock:
                self._written += len(batch)
                self._last_export = _wall_clock()
        finally:
            with self._stat_lock:
                self._exports += 1
                self._cpu += time.thread_time() - cpu

    def _record_error(self, exc: BaseException, failed: int, batch: int = 0) -> None:
        _logger.error("prediction log: %d of %d rows not written: %r", failed, batch, exc)
        with self._stat_lock:
            self._errors += 1
            self._failed += failed
            self._written += batch - failed
            self._last_error = repr(exc)

    def _count_drop(self) -> None:
        with self._stat_lock:  # += on an attribute is not atomic across threads
            self._dropped += 1


def _restart_after_fork(ref: weakref.ref[PredictionLog]) -> None:
    log = ref()
    if log is not None:
        log._start()


def _close_at_exit(ref: weakref.ref[PredictionLog]) -> None:
    log = ref()
    if log is not None:
        log.close(timeout=5.0)


def _check(p: Prediction, checked: set[tuple[str, int]]) -> None:
    """Refuse a malformed row at the call site, where the bug is, not later in the writer."""
    key = (p.model, p.version)
    if key not in checked:
        check_model(p.model)
        check_version(p.version)
        checked.add(key)
    if type(p.inputs) is not dict and not isinstance(p.inputs, Mapping):
        raise TypeError(f"inputs must be a mapping of feature names to values, got {p.inputs!r}")
    if not isinstance(p.request_id, str) or not p.request_id:
        raise TypeError(f"request_id must be a non-empty string, got {p.request_id!r}")
    for name in ("score", "value", "latency_ms"):
        number = getattr(p, name)
        if number is not None and not isinstance(number, _NUMBER):
            raise TypeError(f"{name} must be a number, got {number!r}")
    if not isinstance(p.time, _NUMBER):
        raise TypeError(f"time must be seconds since the epoch, got {p.time!r}")


class Staged(Protocol):
    """Rows written but not yet published (``ParquetSink.stage_frame``)."""

    rows: int

    def commit(self) -> Any:
        """Publish the rows."""

    def discard(self) -> None:
        """Remove what was written; nothing is published."""


class _MemoryStage:
    def __init__(self, sink: MemorySink, item: tuple[str, int, pl.DataFrame]) -> None:
        self.sink, self.item, self.rows = sink, item, item[2].height

    def commit(self) -> None:
        self.sink.frames.append(self.item)
        self.sink.exported.set()

    def discard(self) -> None:
        self.rows = 0


class MemorySink:
    """A sink keeping rows in a list, for tests and notebooks; ``exported`` is set per batch."""

    def __init__(self) -> None:
        self.rows: list[Prediction] = []
        self.frames: list[tuple[str, int, pl.DataFrame]] = []
        self.batches = 0
        self.closed = False
        self.exported = threading.Event()

    def export(self, batch: Sequence[Prediction]) -> None:
        """Keep the batch."""
        self.rows.extend(batch)
        self.batches += 1
        self.exported.set()

    def stage_frame(
        self, model: str, version: int, frame: pl.DataFrame, compression: str = "zstd"
    ) -> Staged:
        """A frame kept in ``frames`` (as (model, version, frame)) once committed."""
        return _MemoryStage(self, (model, version, frame))

    def close(self) -> None:
        """Remember that the log closed the sink."""
        self.closed = True


def open_prediction_log(workspace: str | os.PathLike[str], **options: Any) -> PredictionLog:
    """A started log writing Parquet segments into a workspace (options: ``PredictionLog``)."""
    return PredictionLog(ParquetSink.for_workspace(workspace), **options)
