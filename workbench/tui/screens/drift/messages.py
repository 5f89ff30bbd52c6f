"""Messages the Drift screen's workers post (handled on the UI thread by the screen)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    import polars as pl

    from ....presentation import ColumnDistribution, DriftReport

__all__ = [
    "RefsLoaded", "DriftPhase", "DriftAdvanced", "DriftComputed", "DriftStopped",
    "DistributionLoaded", "WindowsComputed", "BatchesComputed", "ExportFinished", "ReportSaved",
]  # fmt: skip


class RefsLoaded(Message):
    """The snapshot references (newest first) were read."""

    def __init__(self, refs: list[tuple[str, str]], time_columns: dict[str, bool]) -> None:
        super().__init__()
        self.refs = refs
        self.time_columns = time_columns


class DriftPhase(Message):
    """A computation began a phase (``total`` None when its size is unknown)."""

    def __init__(self, run: int, task: str, total: float | None) -> None:
        super().__init__()
        self.run, self.task, self.total = run, task, total


class DriftAdvanced(Message):
    """Work done in the current phase."""

    def __init__(self, run: int, amount: float) -> None:
        super().__init__()
        self.run, self.amount = run, amount


class DriftComputed(Message):
    """The report for the chosen pair is ready."""

    def __init__(self, run: int, report: DriftReport) -> None:
        super().__init__()
        self.run, self.report = run, report


class DriftStopped(Message):
    """A computation ended without a result: cancelled, or with an error to show."""

    def __init__(self, run: int, what: str, error: str | None = None) -> None:
        super().__init__()
        self.run, self.what, self.error = run, what, error


class DistributionLoaded(Message):
    """One column's distributions were computed for the detail pane."""

    def __init__(self, column: str, dist: ColumnDistribution | None, error: str | None) -> None:
        super().__init__()
        self.column, self.dist, self.error = column, dist, error


class WindowsComputed(Message):
    """Drift per time window of the current snapshot."""

    def __init__(self, run: int, pair: tuple[str, str], frame: pl.DataFrame, every: str):
        super().__init__()
        self.run, self.pair, self.frame, self.every = run, pair, frame, every


class BatchesComputed(Message):
    """Drift of every batch against the reference (the months view)."""

    def __init__(self, run: int, reference: str, frame: pl.DataFrame) -> None:
        super().__init__()
        self.run, self.reference, self.frame = run, reference, frame


class ExportFinished(Message):
    """The Evidently HTML report was written (or failed)."""

    def __init__(self, path: Path | None, error: str | None = None) -> None:
        super().__init__()
        self.path, self.error = path, error


class ReportSaved(Message):
    """The shown report was stored."""

    def __init__(self, report_id: int | None, error: str | None = None) -> None:
        super().__init__()
        self.report_id, self.error = report_id, error
