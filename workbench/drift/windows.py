"""Drift over time: the current data cut into day/week/month windows, each against one
reference whose statistics are computed once."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import polars as pl

from ..progress import NULL_PROGRESS, Progress
from .engine import compute_drift, infer_column_types
from .results import DriftOptions, DriftReport
from .stats import FrameLike, ReferenceStats, as_lazy, compute_reference_stats

__all__ = ["drift_over_time", "window_reports"]

_EVERY = {"day": "1d", "daily": "1d", "week": "1w", "weekly": "1w", "month": "1mo"}
_EVERY["monthly"] = "1mo"


def _every(every: str) -> str:
    return _EVERY.get(every.lower(), every)


def window_reports(
    reference: FrameLike | ReferenceStats,
    current: FrameLike,
    time_column: str,
    every: str = "month",
    *,
    columns: Sequence[str] | None = None,
    numerical: Sequence[str] = (),
    categorical: Sequence[str] = (),
    target: str | None = None,
    prediction: str | None = None,
    options: DriftOptions | None = None,
    progress: Progress = NULL_PROGRESS,
) -> Iterator[tuple[Any, int, DriftReport]]:
    """Yield ``(window_start, rows, report)`` per window of ``current``, oldest first.

    ``every`` is "day", "week", "month" or a Polars duration ("2w", "1q"...). Column types
    are inferred once on the whole current data so that every window tests a column the
    same way; the reference is summarised once (or taken as given ``ReferenceStats``).
    """
    cur_lf = as_lazy(current)
    schema = cur_lf.collect_schema()
    exclude = [time_column]
    names = [c for c in (columns or schema.names()) if c not in (time_column,)]
    types = infer_column_types(cur_lf, names, numerical=numerical, categorical=categorical)
    ref = reference
    if not isinstance(ref, ReferenceStats):
        wanted = [c for c in names + [target, prediction] if c]
        ref_names = as_lazy(ref).collect_schema().names()
        ref = compute_reference_stats(ref, [c for c in dict.fromkeys(wanted) if c in ref_names])
    parts = _windows(cur_lf, time_column, _every(every))
    progress.start("drift windows", total=len(parts))
    for start, part in parts:
        progress.check_cancelled()
        report = compute_drift(
            ref,
            part,
            columns=[c for c in names if c not in (target, prediction)],
            column_types=types,
            target=target,
            prediction=prediction,
            exclude=exclude,
            options=options,
        )
        progress.advance()
        yield start, part.height, report


def _windows(lf: pl.LazyFrame, time_column: str, every: str) -> list[tuple[Any, pl.DataFrame]]:
    """Current rows grouped by truncated time, sorted by window start."""
    t = pl.col(time_column)
    dtype = lf.collect_schema()[time_column]
    if dtype == pl.String:
        t = t.str.to_datetime(strict=False)
    key = "__window"
    windows = lf.with_columns(t.dt.truncate(every).alias(key)).filter(pl.col(key).is_not_null())
    df = windows.collect().sort(key)
    out = []
    for part in df.partition_by(key, maintain_order=True):
        out.append((part[key][0], part.drop(key)))
    return out


def drift_over_time(
    reference: FrameLike | ReferenceStats,
    current: FrameLike,
    time_column: str,
    every: str = "month",
    **kwargs: Any,
) -> pl.DataFrame:
    """One row per window: start, rows, tested/drifted counts, share, verdict, ``failed`` and
    ``failures`` (see ``DriftReport.failures``), and per feature column ``<col>:score`` and
    ``<col>:drifted``. Arguments as ``window_reports``."""
    rows = []
    for start, n, rep in window_reports(reference, current, time_column, every, **kwargs):
        row: dict[str, Any] = {
            "window_start": start,
            "rows": n,
            "n_tested": rep.n_tested,
            "n_drifted": rep.n_drifted,
            "drift_share": rep.share,
            "dataset_drifted": rep.dataset_drifted,
            "failed": rep.failed,
            "failures": "; ".join(rep.failures),
        }
        for c in rep.all_columns():
            row[f"{c.column}:score"] = c.score
            row[f"{c.column}:drifted"] = c.drifted if c.tested else None
        rows.append(row)
    return pl.DataFrame(rows, infer_schema_length=None)
