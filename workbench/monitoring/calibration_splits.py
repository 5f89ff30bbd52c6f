"""The ten train/test splits NannyML's calibration decision uses: scikit-learn's
``StratifiedShuffleSplit(n_splits=10, test_size=0.1, random_state=42)`` rebuilt in NumPy
with the same legacy ``RandomState`` calls in the same order (stratified counts, per-class
permutations, then the train and test permutations), so they are the same rows in the same
order; drawn in a forked child or on a thread while the caller works
(see docs/architecture.md, "Monitoring estimators").
"""

from __future__ import annotations

import contextlib
import mmap
import os
import queue
import signal
import sys
import threading
from collections.abc import Iterator
from math import ceil
from typing import Any, ClassVar

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..errors import InputError

__all__ = ["CalibrationSplits"]

_SPLITS = 10
_TEST_SHARE = 0.1
_SEED = 42
# From this many reference rows the splits are drawn in a forked process (Linux only: a
# fork of a threaded process is safe there for a child that only runs NumPy and exits).
_PROCESS_ROWS = 200_000
_CAN_FORK = sys.platform.startswith("linux")


class CalibrationSplits:
    """NannyML's ten calibration test parts for 0/1 labels ``y_true``, drawn from
    construction on while the caller works: the draws cost about as much as everything
    else the decision does. Iterate once; ``close()`` (or leaving the ``with`` block) stops
    the drawing.

    NumPy's legacy shuffle holds the GIL while it runs (~7-10 ms a call at 1M rows), so
    drawn on a thread the draws and the caller's threads slow each other down. On Linux a
    large reference (``_PROCESS_ROWS``) is therefore drawn in a forked child, which writes
    the parts into shared memory and reports each on a pipe; a thread of ours turns the
    reports into parts (see docs/architecture.md, "Monitoring estimators"); if the child
    dies early, that thread draws the rest itself. Elsewhere, and for small references (a
    fork costs a few ms), the draws run on a thread; ``process`` forces either. Drawing
    with ``randint`` instead (which lets go of the GIL) cost more CPU than it freed.
    """

    _DONE: ClassVar[object] = object()

    def __init__(self, y_true: np.ndarray, *, process: bool | None = None) -> None:
        self._drawn: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._child: int | None = None
        try:
            _check_splittable(y_true)
        except InputError as exc:  # raised to a reader, as scikit-learn's split would
            self._drawn.put(exc)
            return
        if process is None:
            process = _CAN_FORK and len(y_true) >= _PROCESS_ROWS
        if process and self._fork(y_true):
            return
        threading.Thread(
            target=self._draw, args=(y_true,), name="calibration-splits", daemon=True
        ).start()

    def _draw(self, y_true: np.ndarray, skip: int = 0) -> None:
        try:
            for k, part in enumerate(_stratified_test_parts(y_true)):
                if self._stop.is_set():  # a reader still iterating fails, never hangs
                    self._drawn.put(RuntimeError("calibration splits closed before drawn"))
                    return
                if k >= skip:
                    self._drawn.put(part)
        except BaseException as exc:  # handed to the caller, raised there
            self._drawn.put(exc)
        self._drawn.put(self._DONE)

    def _fork(self, y_true: np.ndarray) -> bool:
        """Start the child; False if the system refuses (no memory or process left):
        the caller then draws on a thread."""
        size = _test_size(len(y_true))
        try:
            shared = mmap.mmap(-1, _SPLITS * size * 8)  # anonymous, shared with the child
            read_end, write_end = os.pipe()
        except OSError:
            return False
        parts = np.frombuffer(shared, dtype=np.int64).reshape(_SPLITS, size)
        try:
            pid = os.fork()
        except OSError:
            os.close(read_end)
            os.close(write_end)
            return False
        if pid == 0:  # the child: draw, report, leave without running any cleanup
            status = 1
            try:
                os.close(read_end)
                for k, part in enumerate(_stratified_test_parts(y_true)):
                    parts[k] = part
                    os.write(write_end, b"+")
                status = 0
            finally:
                os._exit(status)
        os.close(write_end)
        self._child = pid
        threading.Thread(
            target=self._receive,
            args=(read_end, parts, y_true),
            name="calibration-splits",
            daemon=True,
        ).start()
        return True

    def _receive(self, read_end: int, parts: np.ndarray, y_true: np.ndarray) -> None:
        """Hand over each part the child reports; reap the child whatever happens. A child
        that dies early (killed, out of memory) leaves the rest to be drawn here."""
        received = 0
        try:
            while received < _SPLITS and os.read(read_end, 1) == b"+":
                self._drawn.put(parts[received])  # a view: it keeps the mapping alive
                received += 1
            if received == _SPLITS:  # before the reaping: a large child takes a while to end
                self._drawn.put(self._DONE)
        finally:
            os.close(read_end)
            os.waitpid(self._child or 0, 0)
        if received < _SPLITS:
            if self._stop.is_set():
                self._drawn.put(RuntimeError("calibration splits closed before drawn"))
                return
            self._draw(y_true, skip=received)

    def __iter__(self) -> Iterator[np.ndarray]:
        while (item := self._drawn.get()) is not self._DONE:
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        """Stop drawing: a child process is killed; a thread drops the part it is on."""
        self._stop.set()
        if self._child is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._child, signal.SIGKILL)  # reaped by the receiving thread

    def __enter__(self) -> CalibrationSplits:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _test_size(n: int) -> int:
    return ceil(_TEST_SHARE * n)


def _check_splittable(y: np.ndarray) -> None:
    """The errors scikit-learn's split would raise, as our InputError."""
    n = len(y)
    ones = int(np.count_nonzero(y == 1))
    if min(ones, n - ones) < 2:
        raise InputError(
            "a reference class has a single row; deciding on calibration needs at least two "
            "rows of each class"
        )
    n_test = _test_size(n)
    if n - n_test < 2 or n_test < 2:
        raise InputError(f"{n} reference rows are too few to decide on calibration")


def _stratified_test_parts(y: np.ndarray) -> Iterator[np.ndarray]:
    """The test rows, in order, of scikit-learn's ``StratifiedShuffleSplit(10,
    test_size=0.1, random_state=42).split(X, y)`` for 0/1 labels ``y``.

    The train rows are the rest; their shuffle is still drawn, to keep the generator's
    state in step, but on a scratch view (the draws depend only on its length).
    """
    _check_splittable(y)
    n = len(y)
    n_test = _test_size(n)
    n_train = n - n_test
    # np.unique's classes, counts and stable per-class row lists, for labels 0 and 1.
    class_indices = [np.flatnonzero(y == 0), np.flatnonzero(y == 1)]
    class_counts = np.array([len(rows) for rows in class_indices])
    rng = np.random.RandomState(_SEED)
    # The train shuffle only has to consume its draws (they depend on the length alone):
    # shuffling n_train views of one int64 swaps in cache, three times faster than an array.
    train_draws = as_strided(np.zeros(1, dtype=np.int64), shape=(n_train,), strides=(0,))
    for _ in range(_SPLITS):
        n_i = _approximate_mode(class_counts, n_train, rng)
        t_i = _approximate_mode(class_counts - n_i, n_test, rng)
        test_parts = []
        for i, rows in enumerate(class_indices):
            permutation = rng.permutation(class_counts[i])
            # Each class is used whole (n_i + t_i is its size): its test rows are the tail.
            test_parts.append(rows[permutation[n_i[i] : n_i[i] + t_i[i]]])
        rng.shuffle(train_draws)  # scikit-learn permutes the train rows
        yield rng.permutation(np.concatenate(test_parts))


def _approximate_mode(
    class_counts: np.ndarray, n_draws: int, rng: np.random.RandomState
) -> np.ndarray:
    """scikit-learn's ``_approximate_mode``: per-class draws, remainders given out at random."""
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need_to_add = int(n_draws - floored.sum())
    if need_to_add > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (inds,) = np.where(remainder == value)
            add_now = min(len(inds), need_to_add)
            inds = rng.choice(inds, size=add_now, replace=False)
            floored[inds] += 1
            need_to_add -= add_now
            if need_to_add == 0:
                break
    return floored.astype(int)
