"""Moving many files at once: a few threads, one progress bar in bytes, Ctrl-C that stops.

Workers never touch the ``Progress`` (a rich bar, a Textual adapter): they add the bytes they
move to a counter, and the calling thread forwards it and checks for cancellation between
short waits. On Ctrl-C (``KeyboardInterrupt`` in the calling thread) or a cancel, a flag makes
every worker's next report raise, the queued transfers are dropped, and the call returns only
once the running ones have stopped: nothing keeps writing after the command has ended.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from ..errors import Cancelled
from ..progress import Progress
from .backends import Report

__all__ = ["Transfer", "run_transfers"]


@dataclass(frozen=True)
class Transfer:
    """One file to move: its size (for the bar) and the work, given a ``Report``."""

    size: int
    run: Callable[[Report], None]


def run_transfers(
    transfers: Sequence[Transfer], progress: Progress, task: str, threads: int = 4
) -> int:
    """Run every transfer on ``threads`` threads; returns the bytes moved."""
    if not transfers:
        return 0
    progress.start(task, total=float(sum(t.size for t in transfers)))
    stop = threading.Event()
    lock = threading.Lock()
    moved = 0

    def report(amount: int) -> None:
        nonlocal moved
        if stop.is_set():
            raise Cancelled("transfer stopped")
        with lock:
            moved += amount

    shown = 0
    pool = ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="transfer")
    futures: list[Future[None]] = [pool.submit(t.run, report) for t in transfers]
    try:
        pending: set[Future[None]] = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.1, return_when=FIRST_EXCEPTION)
            with lock:
                delta, shown = moved - shown, moved
            if delta:
                progress.advance(delta)
            for future in done:
                future.result()  # the first failure stops the rest
            progress.check_cancelled()
    except BaseException:
        stop.set()
        for future in futures:
            future.cancel()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return moved
