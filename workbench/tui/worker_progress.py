"""Progress of a core call in a thread worker, reported to the UI thread as messages."""

from __future__ import annotations

from collections.abc import Callable

from textual.message import Message

from ..progress import CallbackProgress, CancelToken

__all__ = ["posting_progress"]


def posting_progress(
    post: Callable[[Message], object],
    started: Callable[[str, float | None], Message],
    advanced: Callable[[float], Message] | None = None,
    cancel: CancelToken | None = None,
) -> CallbackProgress:
    """A ``Progress`` that posts ``started(task, total)`` when a phase begins and
    ``advanced(amount)`` as work is done (``post`` is ``post_message``: safe from a thread)."""

    def on_start(task: str, total: float | None) -> None:
        post(started(task, total))

    def on_advance(amount: float) -> None:
        if advanced is not None:
            post(advanced(amount))

    return CallbackProgress(
        on_start=on_start, on_advance=on_advance if advanced is not None else None, cancel=cancel
    )
