"""The Drift screen's thread workers: each calls the Workspace and posts one message.

A computation reports progress through ``CallbackProgress`` (phase and advance messages) and
stops at its next check once its ``CancelToken`` is cancelled.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work

from ....errors import Cancelled, WorkbenchError
from ....progress import CallbackProgress, CancelToken
from ...worker_progress import posting_progress
from ..base import ScreenMixin
from .messages import (
    BatchesComputed,
    DistributionLoaded,
    DriftAdvanced,
    DriftComputed,
    DriftPhase,
    DriftStopped,
    ExportFinished,
    RefsLoaded,
    ReportSaved,
    WindowsComputed,
)

if TYPE_CHECKING:
    from ....api import Workspace

__all__ = ["DriftWorkers"]


class DriftWorkers(ScreenMixin):
    """Mixed into ``DriftScreen``: the workers, started by its handlers and actions."""

    @work(thread=True, exclusive=True, exit_on_error=False, group="drift-refs",
          description="loading snapshots")  # fmt: skip
    def load_refs(self, ws: Workspace) -> None:
        try:
            snaps = ws.snapshots()
        except WorkbenchError as exc:
            self.post_message(DriftStopped(-1, "loading snapshots", str(exc)))
            return
        refs = [(s.ref, s.name) for s in snaps]
        times = {s.ref: bool(s.time_column) for s in snaps}
        self.post_message(RefsLoaded(refs, times))

    def _progress(self, run: int, token: CancelToken) -> CallbackProgress:
        return posting_progress(
            self.post_message,
            lambda task, total: DriftPhase(run, task, total),
            lambda amount: DriftAdvanced(run, amount),
            token,
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="drift-compute",
          description="computing drift")  # fmt: skip
    def compute(self, ws: Workspace, run: int, token: CancelToken, ref: str, cur: str,
                with_windows: bool) -> None:  # fmt: skip
        progress = self._progress(run, token)
        what = f"drift {ref} → {cur}"
        try:
            report = ws.drift(ref, cur, save=False, progress=progress)
            self.post_message(DriftComputed(run, report))
            if with_windows:
                frame = ws.drift_windows(ref, cur, every="auto", progress=progress)
                every = _window_size(frame)
                self.post_message(WindowsComputed(run, (ref, cur), frame, every))
        except Cancelled:
            self.post_message(DriftStopped(run, what))
            return
        except WorkbenchError as exc:
            self.post_message(DriftStopped(run, what, str(exc)))
            return
        except Exception as exc:  # never crash the screen: show it
            self.post_message(DriftStopped(run, what, f"{type(exc).__name__}: {exc}"))

    @work(thread=True, exclusive=True, exit_on_error=False, group="drift-batches",
          description="comparing batches")  # fmt: skip
    def compute_batches(self, ws: Workspace, run: int, token: CancelToken, ref: str) -> None:
        what = f"drift of every batch against {ref}"
        try:
            frame = ws.drift_batches(ref, progress=self._progress(run, token))
        except Cancelled:
            self.post_message(DriftStopped(run, what))
            return
        except Exception as exc:  # WorkbenchError or a bug: shown, never raised
            text = str(exc) if isinstance(exc, WorkbenchError) else f"{type(exc).__name__}: {exc}"
            self.post_message(DriftStopped(run, what, text))
            return
        self.post_message(BatchesComputed(run, ref, frame))

    @work(thread=True, exclusive=True, exit_on_error=False, group="drift-distribution",
          description="loading the column's distribution")  # fmt: skip
    def load_distribution(self, ws: Workspace, ref: str, cur: str, column: str,
                          column_type: str) -> None:  # fmt: skip
        from ....presentation import column_distribution

        try:
            stats = ws.reference_stats(ref, None)
            if column not in stats:
                stats = ws.reference_stats(ref, [column])
            dist = column_distribution(stats, ws.scan(cur), column, column_type)
        except Exception as exc:  # a column that cannot be drawn is not an error of the app
            self.post_message(DistributionLoaded(column, None, f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(DistributionLoaded(column, dist, None))

    @work(thread=True, exclusive=True, exit_on_error=False, group="drift-export",
          description="exporting the Evidently report")  # fmt: skip
    def export_html(self, ws: Workspace, ref: str, cur: str, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            written = ws.drift_html(ref, cur, path)
        except Exception as exc:
            text = str(exc) if isinstance(exc, WorkbenchError) else f"{type(exc).__name__}: {exc}"
            self.post_message(ExportFinished(None, text))
            return
        self.post_message(ExportFinished(written))

    @work(thread=True, exclusive=True, exit_on_error=False, group="drift-save",
          description="saving the drift report")  # fmt: skip
    def save_report(self, ws: Workspace, ref: str, cur: str) -> None:
        try:
            report = ws.drift(ref, cur, save=True)
        except Exception as exc:
            text = str(exc) if isinstance(exc, WorkbenchError) else f"{type(exc).__name__}: {exc}"
            self.post_message(ReportSaved(None, text))
            return
        self.post_message(ReportSaved(report.id))


def _window_size(frame: Any) -> str:
    """The window size of a windows frame, from the gap between its first two windows."""
    starts = frame["window_start"].to_list() if frame.height else []
    if len(starts) < 2:
        return "window"
    days = (starts[1] - starts[0]).days
    return "day" if days <= 1 else "week" if days <= 7 else "month"
