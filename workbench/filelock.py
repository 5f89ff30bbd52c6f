"""Advisory file locks (``flock``) with jittered backoff and a clear "busy" error.

The store's reader-writer lock (``meta.lock``) and the object store's collection lock
(``objects.lock``) both use it. ``flock`` locks belong to an open file: a process that dies,
even by SIGKILL, releases them, so a crash never leaves a workspace locked.
"""

from __future__ import annotations

import fcntl
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import WorkspaceBusy

__all__ = ["backoff", "hold", "try_lock"]


def backoff(
    timeout: float,
    first_delay: float,
    max_delay: float,
    busy: str = "another process holds the store",
) -> Iterator[None]:
    """Each ``next()`` sleeps a jittered, doubling delay; past ``timeout`` it raises
    ``WorkspaceBusy``. The clock starts at the first conflict, not before."""
    deadline = time.monotonic() + timeout
    delay = first_delay
    while True:
        if time.monotonic() >= deadline:
            raise WorkspaceBusy(
                f"workspace busy: {busy}", hint=f"gave up after {timeout:g} s; try again"
            )
        time.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, max_delay)
        yield


@contextmanager
def hold(
    path: Path,
    exclusive: bool,
    timeout: float | Callable[[], float],
    busy: str = "another process holds the store",
    first_delay: float = 0.002,
    max_delay: float = 0.1,
) -> Iterator[None]:
    """Hold ``flock`` on ``path`` (created if missing), shared or exclusive, for the block.

    ``timeout`` may be a callable: it is asked only when the lock is taken, so callers that
    never wait never pay for it (the settings load lazily).
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
        waits = None
        while True:
            try:
                fcntl.flock(fd, mode)
                break
            except BlockingIOError:
                if waits is None:
                    limit = timeout() if callable(timeout) else timeout
                    waits = backoff(limit, first_delay, max_delay, busy)
                next(waits)
        yield
    finally:
        os.close(fd)  # releases the lock


def try_lock(path: Path, exclusive: bool) -> int | None:
    """Take ``flock`` on ``path`` without waiting: the open descriptor (close it to release),
    or None when another process holds a conflicting lock."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd
