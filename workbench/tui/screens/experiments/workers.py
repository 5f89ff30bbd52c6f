"""The Experiments screen's thread workers: each calls the Workspace and posts messages.

Training runs in a thread worker too (LightGBM releases the GIL), reporting through
``CallbackProgress`` and ``on_iteration`` callbacks that post throttled messages, so keys keep
answering while it trains.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from textual import work
from textual.worker import get_current_worker

from ....errors import Cancelled, WorkbenchError
from ....progress import CancelToken
from ...worker_progress import posting_progress
from ..base import ScreenMixin
from .messages import (
    LaunchReady,
    RunDetailLoaded,
    RunsLoaded,
    RunsRejected,
    TrainingEnded,
    TrainingIterations,
    TrainingPhase,
)

if TYPE_CHECKING:
    from ....api import Workspace
    from ..train_form import TrainRequest

__all__ = ["ExperimentsWorkers", "UPDATES_PER_SECOND"]

#: how often the training worker reports iterations to the UI at most
UPDATES_PER_SECOND = 5


class _IterationReporter:
    """``on_iteration`` for the worker thread: batches points, posts a few times a second."""

    def __init__(self, post, per_second: float = UPDATES_PER_SECOND) -> None:
        self._post = post
        self._interval = 1.0 / per_second
        self._last = 0.0
        self._iteration = 0
        self._pending: list[float] = []

    def __call__(self, iteration: int, train: float | None, valid: float | None) -> None:
        # Hand the GIL to the UI thread once per iteration. On small data an iteration is
        # mostly Python (callbacks, evaluation), and without this the UI thread waits up to
        # the 5 ms switch interval each time its event loop wakes: keys took seconds.
        time.sleep(0)
        self._iteration = iteration
        if valid is not None:
            self._pending.append(valid)
        now = time.monotonic()
        if now - self._last >= self._interval:
            self._last = now
            self.flush()

    def flush(self) -> None:
        """Post what is pending (at the end, so the last iterations are not lost)."""
        if self._iteration:
            self._post(TrainingIterations(self._iteration, self._pending))
            self._pending = []


class ExperimentsWorkers(ScreenMixin):
    """Mixed into ``ExperimentsScreen``: the workers, started by its handlers and actions."""

    @work(thread=True, exclusive=True, exit_on_error=False, group="runs-table",
          description="loading runs")  # fmt: skip
    def load_runs(self, ws: Workspace, token: int, where: str, sort: str, marked: set[int]) -> None:
        from ...widgets.run_table import run_rows

        try:
            frame = ws.runs(where=where or None, sort=sort)
        except WorkbenchError as exc:
            self.post_message(RunsRejected(str(exc), where, sort))
            return
        rows = run_rows(frame, marked, sort)
        if not get_current_worker().is_cancelled:
            self.post_message(RunsLoaded(rows, token, where, sort))

    @work(thread=True, exclusive=True, exit_on_error=False, group="run-detail",
          description="loading the run")  # fmt: skip
    def load_detail(self, ws: Workspace, run_id: int) -> None:
        try:
            run = ws.run(run_id)
        except WorkbenchError:
            return  # deleted meanwhile; the next reload drops the row
        if not get_current_worker().is_cancelled:
            self.post_message(RunDetailLoaded(run))

    @work(thread=True, exclusive=True, exit_on_error=False, group="train-form",
          description="reading snapshots")  # fmt: skip
    def load_launch(self, ws: Workspace) -> None:
        from ..train_form import SnapshotChoice

        choices = [
            SnapshotChoice(s.ref, s.target, list(s.schema), s.time_column) for s in ws.snapshots()
        ]
        self.post_message(LaunchReady(choices))

    @work(thread=True, exit_on_error=False, group="preload",
          description="loading LightGBM and MLflow")  # fmt: skip
    def preload_training(self, ws: Workspace) -> None:
        """While the user fills the launch form: the first training then starts at once."""
        ws.preload_training()

    @work(thread=True, exclusive=True, exit_on_error=False, group="training",
          description="training")  # fmt: skip
    def run_training(self, ws: Workspace, request: TrainRequest, token: CancelToken) -> None:
        post = self.post_message
        reporter = _IterationReporter(post)
        progress = posting_progress(post, TrainingPhase, cancel=token)
        try:
            run = ws.train(
                request.ref, request.target, task=request.task, params=request.params,
                split=request.split, test_size=request.test_size, seed=request.seed,
                note=request.note, progress=progress, on_iteration=reporter,
                mlflow=request.mlflow,
            )  # fmt: skip
        except Cancelled as exc:
            reporter.flush()
            post(TrainingEnded("cancelled", run_id=getattr(exc, "run_id", None)))
        except WorkbenchError as exc:
            reporter.flush()
            post(TrainingEnded("failed", error=str(exc), run_id=getattr(exc, "run_id", None)))
        except Exception as exc:  # a bug in the core must not take the UI down
            first = (str(exc).strip().splitlines() or [""])[0]
            post(TrainingEnded("failed", error=f"{type(exc).__name__}: {first}",
                               run_id=getattr(exc, "run_id", None)))  # fmt: skip
        else:
            reporter.flush()
            post(TrainingEnded("finished", run=run, run_id=run.id))
