"""The background writer with an in-memory sink: batching, flush, close, drops, sink errors.

No test sleeps: each waits on an Event the fake sink sets, or calls flush()/close().
"""

from __future__ import annotations

import threading

import pytest

from workbench.errors import InputError
from workbench.serving.predlog import MemorySink, Prediction, PredictionLog


def row(i: int, **kw) -> Prediction:
    return Prediction(f"r{i}", "churn", 1, {"x": i}, **kw)


class StuckSink(MemorySink):
    """Blocks inside export until released; ``entered`` is set when an export starts."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def export(self, batch):
        self.entered.set()
        assert self.release.wait(10), "the test never released the sink"
        super().export(batch)


class FailingOnceSink(MemorySink):
    """The first export raises; later ones succeed."""

    def __init__(self) -> None:
        super().__init__()
        self.raised = threading.Event()

    def export(self, batch):
        if not self.raised.is_set():
            self.raised.set()
            raise OSError("disk full")
        super().export(batch)


def test_rows_are_exported_within_the_interval():
    sink = MemorySink()
    with PredictionLog(sink, interval=0.05) as log:
        assert log.emit(row(0))
        assert sink.exported.wait(5)
    assert [p.request_id for p in sink.rows] == ["r0"]


def test_default_interval_is_one_second():
    log = PredictionLog(MemorySink())
    assert log.interval == 1.0
    log.close()


def test_a_full_batch_wakes_the_worker_before_the_interval():
    sink = MemorySink()
    log = PredictionLog(sink, interval=3600, batch_size=10)
    for i in range(10):
        log.emit(row(i))
    assert sink.exported.wait(5)
    assert len(sink.rows) == 10
    log.close()


def test_flush_writes_everything_queued_now():
    sink = MemorySink()
    log = PredictionLog(sink, interval=3600)
    for i in range(5):
        log.emit(row(i))
    assert log.flush(timeout=5)
    assert len(sink.rows) == 5 and log.stats().written == 5
    log.close()


def test_close_drains_the_queue_and_closes_the_sink():
    sink = MemorySink()
    log = PredictionLog(sink, interval=3600)
    for i in range(100):
        log.emit(row(i))
    assert log.close(timeout=5)
    assert [p.request_id for p in sink.rows] == [f"r{i}" for i in range(100)]
    assert sink.closed
    assert log.close()  # a second close is harmless


def test_emit_after_close_is_dropped_and_counted():
    log = PredictionLog(MemorySink())
    log.shutdown()
    assert log.emit(row(0)) is False
    assert log.dropped == 1 and log.stats().dropped == 1


def test_full_queue_drops_and_counts_while_the_sink_is_stuck():
    sink = StuckSink()
    log = PredictionLog(sink, interval=3600, max_queue=50, batch_size=10)
    for i in range(10):
        log.emit(row(i))
    assert sink.entered.wait(5)  # the worker took those 10 and is stuck in the sink
    accepted = [log.emit(row(i)) for i in range(10, 67)]
    assert accepted == [True] * 50 + [False] * 7
    assert log.dropped == 7 and log.stats().queued == 50
    sink.release.set()
    assert log.close(timeout=10)
    assert len(sink.rows) == 60
    assert log.stats().written == 60 and log.stats().dropped == 7


def test_emit_never_waits_for_a_stuck_sink():
    sink = StuckSink()
    log = PredictionLog(sink, interval=3600, batch_size=1)
    log.emit(row(0))
    assert sink.entered.wait(5)
    done = threading.Event()
    threading.Thread(target=lambda: (log.emit(row(1)), done.set()), daemon=True).start()
    assert done.wait(5)  # returned while the sink is still blocked
    assert not log.flush(timeout=0.01)  # flush gives up when the sink stays busy
    sink.release.set()
    log.close()
    assert len(sink.rows) == 2


def test_a_sink_error_is_recorded_and_the_worker_lives_on():
    sink = FailingOnceSink()
    log = PredictionLog(sink, interval=3600, batch_size=1)
    log.emit(row(0))
    assert sink.raised.wait(5)  # the worker's export of r0 raised
    log.emit(row(1))
    assert sink.exported.wait(5)  # the same thread exported the next batch
    log.close()
    stats = log.stats()
    assert stats.errors == 1 and stats.failed == 1 and "disk full" in stats.last_error
    assert stats.written == 1 and [p.request_id for p in sink.rows] == ["r1"]


def test_many_threads_emitting_lose_and_duplicate_nothing():
    sink = MemorySink()
    log = PredictionLog(sink, interval=0.01, batch_size=100)

    def emit_many(t: int) -> None:
        for i in range(5000):
            log.emit(Prediction(f"{t}-{i}", "churn", 1, {}))

    threads = [threading.Thread(target=emit_many, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert log.close(timeout=10)
    ids = [p.request_id for p in sink.rows]
    assert len(ids) == len(set(ids)) == 20_000


def test_export_cpu_time_is_measured():
    log = PredictionLog(MemorySink(), interval=3600)
    log.emit(row(0))
    log.flush()
    assert log.stats().exports == 1 and log.stats().export_cpu_seconds >= 0
    log.close()


@pytest.mark.parametrize(
    "bad",
    [
        dict(model="churn@v1"),
        dict(model="../etc"),
        dict(version=-1),
        dict(version="3"),
        dict(request_id=""),
        dict(score="0.9"),
        dict(latency_ms=[1]),
        dict(inputs=[1, 2]),
    ],
)
def test_a_malformed_row_is_refused_at_emit(bad):
    log = PredictionLog(MemorySink(), interval=3600)
    fields = dict(request_id="r", model="churn", version=1) | bad
    with pytest.raises((InputError, TypeError)):
        log.emit(Prediction(**fields))
    log.close()


def test_numpy_numbers_are_accepted():
    np = pytest.importorskip("numpy")
    sink = MemorySink()
    log = PredictionLog(sink, interval=3600)
    assert log.emit(Prediction("r", "churn", 1, score=np.float32(0.5), latency_ms=np.int64(3)))
    log.close()
    assert len(sink.rows) == 1


def test_a_forked_child_gets_its_own_queue_and_worker():
    import os

    sink = MemorySink()
    log = PredictionLog(sink, interval=3600)
    log.emit(row(0))  # queued in the parent, not yet exported
    pid = os.fork()
    if pid == 0:  # the child: the parent's row is not its own; its own rows are written
        ok = log.stats().queued == 0 and log.emit(row(1)) and log.flush(timeout=5)
        os._exit(0 if ok and [p.request_id for p in sink.rows] == ["r1"] else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    log.close()
    assert [p.request_id for p in sink.rows] == ["r0"]
