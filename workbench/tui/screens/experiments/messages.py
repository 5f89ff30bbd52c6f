"""Messages the Experiments screen's workers post (handled on the UI thread by the screen)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from ....api import RunRecord
    from ...widgets.run_table import RunRows
    from ..train_form import SnapshotChoice

__all__ = [
    "RunsLoaded", "RunsRejected", "RunDetailLoaded", "LaunchReady", "TrainingPhase",
    "TrainingIterations", "TrainingEnded",
]  # fmt: skip


class RunsLoaded(Message):
    """The runs table was read with a filter and sort."""

    bubble = False  # for this screen only

    def __init__(self, rows: RunRows, token: int, where: str, sort: str) -> None:
        super().__init__()
        self.rows = rows
        self.token = token
        self.where = where
        self.sort = sort


class RunsRejected(Message):
    """The filter or sort could not be used (the parser's one-line reason)."""

    bubble = False  # for this screen only

    def __init__(self, error: str, where: str, sort: str) -> None:
        super().__init__()
        self.error = error
        self.where = where
        self.sort = sort


class RunDetailLoaded(Message):
    """One run's record (for the line under the table)."""

    bubble = False  # for this screen only

    def __init__(self, run: RunRecord) -> None:
        super().__init__()
        self.run = run


class LaunchReady(Message):
    """The snapshots the launch form offers were read."""

    bubble = False  # for this screen only

    def __init__(self, snapshots: list[SnapshotChoice]) -> None:
        super().__init__()
        self.snapshots = snapshots


class TrainingPhase(Message):
    """The training began a phase (loading, train, logging to MLflow)."""

    bubble = False  # for this screen only

    def __init__(self, task: str, total: float | None) -> None:
        super().__init__()
        self.task = task
        self.total = total


class TrainingIterations(Message):
    """Iterations done up to ``iteration``; ``valid`` holds the new validation values."""

    bubble = False  # for this screen only

    def __init__(self, iteration: int, valid: list[float]) -> None:
        super().__init__()
        self.iteration = iteration
        self.valid = valid


class TrainingEnded(Message):
    """The training ended: finished (``run``), cancelled or failed (``error``)."""

    bubble = False  # for this screen only

    def __init__(
        self,
        status: str,
        run: RunRecord | None = None,
        error: str | None = None,
        run_id: int | None = None,
    ) -> None:
        super().__init__()
        self.status = status
        self.run = run
        self.error = error
        self.run_id = run_id
