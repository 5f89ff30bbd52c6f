"""Typed results of performance estimation: one record per chunk and metric.

A value that cannot be computed is ``None`` with a note saying why (NannyML returns NaN and
logs). ``PerformanceResult.to_polars()`` gives one row per record; in a notebook the result
shows as an HTML table.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any, Literal

import numpy as np
import polars as pl

from .chunking import Chunk
from .thresholds import Bounds

__all__ = ["ChunkEstimate", "PerformanceResult", "metric_rows"]

Period = Literal["reference", "analysis"]


@dataclass(frozen=True)
class ChunkEstimate:
    """One metric on one chunk: the estimate, its sampling-error band, thresholds, alert and
    the realized value where labels exist."""

    chunk_key: str
    chunk_index: int
    period: Period
    start_index: int
    end_index: int
    start_time: datetime | None
    end_time: datetime | None
    rows: int
    metric: str
    estimated: float | None
    sampling_error: float | None
    #: ``estimated -/+ 3 * sampling_error``, clamped to the metric's range
    lower_band: float | None
    upper_band: float | None
    lower_threshold: float | None
    upper_threshold: float | None
    #: the estimate lies outside the thresholds
    alert: bool
    realized: float | None
    #: why ``estimated`` (or the band) is missing
    estimate_note: str | None = None
    #: why ``realized`` is missing
    realized_note: str | None = None


_SCHEMA: dict[str, Any] = {
    "chunk_key": pl.String,
    "chunk_index": pl.Int64,
    "period": pl.String,
    "start_index": pl.Int64,
    "end_index": pl.Int64,
    "start_time": pl.Datetime("us"),
    "end_time": pl.Datetime("us"),
    "rows": pl.Int64,
    "metric": pl.String,
    "estimated": pl.Float64,
    "sampling_error": pl.Float64,
    "lower_band": pl.Float64,
    "upper_band": pl.Float64,
    "lower_threshold": pl.Float64,
    "upper_threshold": pl.Float64,
    "alert": pl.Boolean,
    "realized": pl.Float64,
    "estimate_note": pl.String,
    "realized_note": pl.String,
}
assert list(_SCHEMA) == [f.name for f in fields(ChunkEstimate)]


@dataclass(frozen=True)
class PerformanceResult:
    """Estimates per chunk and metric, reference chunks first, plus warnings about the setup
    (for example fewer than six reference chunks)."""

    estimates: tuple[ChunkEstimate, ...]
    metrics: tuple[str, ...]
    warnings: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[ChunkEstimate]:
        return iter(self.estimates)

    def __len__(self) -> int:
        return len(self.estimates)

    def filter(self, *, period: str | None = None, metric: str | None = None) -> PerformanceResult:
        """The records of one period and/or one metric."""
        kept = tuple(
            e
            for e in self.estimates
            if (period is None or e.period == period) and (metric is None or e.metric == metric)
        )
        metrics = self.metrics if metric is None else (metric,)
        return PerformanceResult(kept, metrics, self.warnings)

    def alerts(self) -> tuple[ChunkEstimate, ...]:
        """The records whose estimate breaches a threshold."""
        return tuple(e for e in self.estimates if e.alert)

    def to_polars(self) -> pl.DataFrame:
        """One row per chunk and metric, columns as ``ChunkEstimate``'s fields (times in the
        time column's zone, when it had one)."""
        schema = dict(_SCHEMA)
        zone = next((e.start_time.tzinfo for e in self.estimates if e.start_time), None)
        if zone is not None:
            schema["start_time"] = schema["end_time"] = pl.Datetime("us", str(zone))
        return pl.DataFrame([asdict(e) for e in self.estimates], schema=schema, orient="row")

    def __repr__(self) -> str:
        alerts = sum(e.alert for e in self.estimates)
        chunks = len({(e.period, e.chunk_index) for e in self.estimates})
        return (
            f"PerformanceResult(metrics={list(self.metrics)}, chunks={chunks}, "
            f"alerts={alerts}, warnings={len(self.warnings)})"
        )

    def _repr_html_(self) -> str:
        """A table per metric: chunk, estimate with its band, thresholds, realized, alert."""
        parts = [f"<p><b>Performance estimates</b> ({html.escape(', '.join(self.metrics))})</p>"]
        parts += [f"<p style='color:#b45309'>⚠ {html.escape(w)}</p>" for w in self.warnings]
        head = "".join(
            f"<th>{h}</th>"
            for h in ("chunk", "period", "rows", "estimated", "band", "thresholds", "realized", "")
        )
        for metric in self.metrics:
            body = [_html_row(e) for e in self.estimates if e.metric == metric]
            parts.append(
                f"<p><b>{html.escape(metric)}</b></p><table><thead><tr>{head}</tr></thead>"
                f"<tbody>{''.join(body)}</tbody></table>"
            )
        return "".join(parts)


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.4f}"


def _html_row(e: ChunkEstimate) -> str:
    estimated = _fmt(e.estimated) if e.estimate_note is None else f"– ({e.estimate_note})"
    realized = _fmt(e.realized) if e.realized_note is None else f"– ({e.realized_note})"
    cells = (
        e.chunk_key,
        e.period,
        str(e.rows),
        estimated,
        f"{_fmt(e.lower_band)} – {_fmt(e.upper_band)}",
        f"{_fmt(e.lower_threshold)} – {_fmt(e.upper_threshold)}",
        realized,
        "ALERT" if e.alert else "",
    )
    style = " style='background:#fee2e2'" if e.alert else ""
    return f"<tr{style}>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"


def _number(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def metric_rows(
    metric: str,
    chunks: Sequence[Chunk],
    period: Period,
    *,
    estimated: np.ndarray,
    sampling_error: np.ndarray,
    realized: Sequence[float | None],
    thresholds: Sequence[Bounds],
    limits: Bounds,
    estimate_notes: Sequence[str | None],
    realized_notes: Sequence[str | None],
) -> list[ChunkEstimate]:
    """Records for one metric over chunks: bands clamped to ``limits``, alerts from the
    thresholds (one pair per chunk). Shared by every estimator."""
    lower_limit, upper_limit = limits
    out = []
    for i, chunk in enumerate(chunks):
        value = _number(estimated[i])
        error = _number(sampling_error[i])
        note = estimate_notes[i]
        if value is None and note is None:
            note = "not computable"
        lower_band = upper_band = None
        if value is not None and error is not None:
            upper_band = value + 3 * error
            lower_band = value - 3 * error
            if upper_limit is not None:
                upper_band = min(upper_limit, upper_band)
            if lower_limit is not None:
                lower_band = max(lower_limit, lower_band)
        lower, upper = thresholds[i]
        alert = value is not None and (
            (lower is not None and value < lower) or (upper is not None and value > upper)
        )
        out.append(
            ChunkEstimate(
                chunk_key=chunk.key,
                chunk_index=chunk.index,
                period=period,
                start_index=chunk.start_index,
                end_index=chunk.end_index,
                start_time=chunk.start_time,
                end_time=chunk.end_time,
                rows=chunk.rows,
                metric=metric,
                estimated=value,
                sampling_error=error,
                lower_band=lower_band,
                upper_band=upper_band,
                lower_threshold=lower,
                upper_threshold=upper,
                alert=bool(alert),
                realized=_number(r) if (r := realized[i]) is not None else None,
                estimate_note=note,
                realized_note=realized_notes[i],
            )
        )
    return out
