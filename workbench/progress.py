"""Progress reporting and cancellation for long core functions.

Core functions take ``progress: Progress = NULL_PROGRESS`` and call it; they never know who
is watching. The CLI passes a rich bar, the TUI an adapter that posts Textual messages from a
worker thread, notebooks may pass tqdm through ``callback_progress``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from .errors import Cancelled

__all__ = [
    "Progress",
    "NullProgress",
    "NULL_PROGRESS",
    "CancelToken",
    "CallbackProgress",
    "CancelOnly",
]


class Progress(Protocol):
    """What a long operation reports to whoever watches it."""

    def start(self, task: str, total: float | None = None) -> None:
        """A new phase begins; ``total`` is None when its size is unknown."""

    def advance(self, amount: float = 1.0) -> None:
        """Work done in the current phase."""

    def check_cancelled(self) -> None:
        """Raise ``Cancelled`` if the user asked to stop."""


class NullProgress:
    """Reports nowhere and never cancels (the default)."""

    def start(self, task: str, total: float | None = None) -> None:
        pass

    def advance(self, amount: float = 1.0) -> None:
        pass

    def check_cancelled(self) -> None:
        pass


NULL_PROGRESS = NullProgress()


class CancelToken:
    """A thread-safe flag a face sets to ask a running operation to stop."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the operation to stop at its next check."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


class CallbackProgress:
    """Adapts plain callables (and a cancel token) to ``Progress``."""

    def __init__(
        self,
        on_start: Callable[[str, float | None], None] | None = None,
        on_advance: Callable[[float], None] | None = None,
        cancel: CancelToken | Callable[[], bool] | None = None,
    ) -> None:
        self._on_start = on_start
        self._on_advance = on_advance
        self._cancel = cancel

    def start(self, task: str, total: float | None = None) -> None:
        if self._on_start:
            self._on_start(task, total)

    def advance(self, amount: float = 1.0) -> None:
        if self._on_advance:
            self._on_advance(amount)

    def check_cancelled(self) -> None:
        c = self._cancel
        if c is None:
            return
        if c.cancelled if isinstance(c, CancelToken) else c():
            raise Cancelled("cancelled by the user")


class CancelOnly:
    """Forwards only cancellation checks: for inner work that reports as one step of an
    outer task (one run of a sweep, one batch of a drift scan)."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    def start(self, task: str, total: float | None = None) -> None:
        pass

    def advance(self, amount: float = 1.0) -> None:
        pass

    def check_cancelled(self) -> None:
        self._progress.check_cancelled()
