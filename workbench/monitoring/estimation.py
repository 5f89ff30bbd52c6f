"""What CBPE and DLE share: chunking the data, thresholds from reference chunks (leave-one-out
for the reference's own chunks), and the warning about too few reference chunks."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Protocol, Self

import numpy as np
import polars as pl

from ..errors import InputError
from .chunking import Chunk, Chunker, CountChunker, chunker_from_dict
from .inputs import FrameLike, load_columns
from .results import ChunkEstimate, PerformanceResult, Period, metric_rows
from .serialization import records_from_json, records_to_json
from .thresholds import (
    Bounds,
    StandardDeviationThreshold,
    Threshold,
    clamp_thresholds,
    leave_one_out_thresholds,
    threshold_from_dict,
)

__all__ = [
    "MIN_REFERENCE_CHUNKS",
    "Chunked",
    "EstimatorConfig",
    "FittedEstimator",
    "Metric",
    "ReferenceThresholds",
    "analysis_records",
    "chunk_frame",
    "few_chunks_warning",
    "reference_result",
    "reference_thresholds",
]

Note = str | None
Realized = tuple[list[float | None], list[Note]]


class Metric(Protocol):
    """What an estimator's metric offers (``binary_metrics``, ``regression_metrics``)."""

    @property
    def name(self) -> str: ...

    @property
    def limits(self) -> Bounds: ...

    def estimate(self, batch: Any) -> tuple[np.ndarray, list[Note]]: ...

    def sampling_error(self, components: tuple[float, float], rows: np.ndarray) -> np.ndarray: ...

    def realize(self, batch: Any) -> Realized: ...


_SOURCE_ROW = "__workbench_source_row"
#: NannyML's advice (it warns below six chunks): fewer make the thresholds' spread unreliable.
MIN_REFERENCE_CHUNKS = 6


@dataclass(frozen=True)
class Chunked:
    """A frame in chunk order (rows after the last chunk cut off) and its chunks."""

    frame: pl.DataFrame
    chunks: list[Chunk]
    #: for each row of ``frame``, its position in the frame given to ``chunk_frame``
    source_rows: np.ndarray
    source_height: int
    #: whether ``source_rows`` is 0, 1, 2, ... (the chunker kept the given order)
    in_source_order: bool = False

    def in_chunk_order(self, values: np.ndarray) -> np.ndarray:
        """``values``, one per row of the frame given to ``chunk_frame``, in chunk order."""
        if self.in_source_order:
            return values[: len(self.source_rows)]  # a view: no gather
        return values[self.source_rows]

    @property
    def starts(self) -> np.ndarray:
        return np.array([c.start_index for c in self.chunks], dtype=np.int64)

    @property
    def stops(self) -> np.ndarray:
        return np.array([c.end_index + 1 for c in self.chunks], dtype=np.int64)


def chunk_frame(frame: pl.DataFrame, chunker: Chunker) -> Chunked:
    """Order ``frame`` as ``chunker`` does and cut it; chunks are contiguous from row 0."""
    indexed = frame.with_row_index(_SOURCE_ROW)
    ordered = chunker.order(indexed)
    kept_order = ordered is indexed
    chunks = chunker.split(ordered)
    end = chunks[-1].end_index + 1 if chunks else 0
    ordered = ordered.slice(0, end)
    rows = ordered[_SOURCE_ROW].to_numpy()
    return Chunked(ordered.drop(_SOURCE_ROW), chunks, rows, frame.height, kept_order)


@dataclass(frozen=True)
class ReferenceThresholds:
    """Thresholds from every reference chunk (for analysis chunks) and, per reference chunk,
    from the others (for that chunk itself)."""

    all_chunks: Bounds
    leave_one_out: list[Bounds]


def reference_thresholds(
    threshold: Threshold, realized: Sequence[float | None], limits: Bounds
) -> ReferenceThresholds:
    """Clamped thresholds from the metric's realized values on the reference chunks."""
    values = np.array([np.nan if v is None else v for v in realized], dtype=np.float64)
    lower_limit, upper_limit = limits
    return ReferenceThresholds(
        all_chunks=clamp_thresholds(threshold.thresholds(values), lower_limit, upper_limit),
        leave_one_out=leave_one_out_thresholds(threshold, values, lower_limit, upper_limit),
    )


def few_chunks_warning(count: int) -> str | None:
    """The warning for a reference cut into fewer than six chunks, or None."""
    if count >= MIN_REFERENCE_CHUNKS:
        return None
    return (
        f"the reference makes only {count} chunk(s): thresholds from fewer than "
        f"{MIN_REFERENCE_CHUNKS} chunks are unreliable, and each reference chunk is judged "
        f"against the other {max(count - 1, 0)}; use smaller chunks or more reference data"
    )


def _records(
    metric: Metric,
    components: tuple[float, float],
    chunks: list[Chunk],
    batch: Any,
    period: Period,
    thresholds: list[Bounds],
    realized: Realized,
) -> list[ChunkEstimate]:
    estimated, notes = metric.estimate(batch)
    return metric_rows(
        metric.name,
        chunks,
        period,
        estimated=estimated,
        sampling_error=metric.sampling_error(components, batch.rows),
        realized=realized[0],
        thresholds=thresholds,
        limits=metric.limits,
        estimate_notes=notes,
        realized_notes=realized[1],
    )


def _chunk_major(per_metric: list[list[ChunkEstimate]]) -> tuple[ChunkEstimate, ...]:
    """Records ordered by chunk, then metric (each inner list is one metric over chunks)."""
    return tuple(r for chunk_rows in zip(*per_metric, strict=True) for r in chunk_rows)


def reference_result(
    metrics: Sequence[Metric],
    components: Mapping[str, tuple[float, float]],
    chunked: Chunked,
    batch: Any,
    threshold_for: Callable[[str], Threshold],
    realized_by: Mapping[str, Realized] | None = None,
) -> tuple[PerformanceResult, dict[str, Bounds]]:
    """The reference's own chunk records (leave-one-out thresholds) with the setup's
    warnings, and per metric the thresholds from all reference chunks. ``realized_by``
    holds the metrics' realized values when the caller has them already."""
    thresholds: dict[str, Bounds] = {}
    per_metric = []
    for metric in metrics:
        if realized_by is not None:
            realized = realized_by[metric.name]
        else:
            realized = metric.realize(batch)
        strategy = threshold_for(metric.name)
        found = reference_thresholds(strategy, realized[0], metric.limits)
        thresholds[metric.name] = found.all_chunks
        per_metric.append(
            _records(
                metric,
                components[metric.name],
                chunked.chunks,
                batch,
                "reference",
                found.leave_one_out,
                realized,
            )
        )
    warnings = [w for w in [few_chunks_warning(len(chunked.chunks))] if w]
    warnings += [
        f"{m.name}: no reference chunk has a realized value, so there are no thresholds"
        for m in metrics
        if thresholds[m.name] == (None, None)
        and isinstance(threshold_for(m.name), StandardDeviationThreshold)
    ]
    names = tuple(m.name for m in metrics)
    return PerformanceResult(_chunk_major(per_metric), names, tuple(warnings)), thresholds


def analysis_records(
    metrics: Sequence[Metric],
    components: Mapping[str, tuple[float, float]],
    chunked: Chunked,
    batch: Any,
    thresholds: Mapping[str, Bounds],
) -> tuple[ChunkEstimate, ...]:
    """Records for new data's chunks, judged against thresholds from all reference chunks."""
    count = len(chunked.chunks)
    return _chunk_major(
        [
            _records(
                m,
                components[m.name],
                chunked.chunks,
                batch,
                "analysis",
                [thresholds[m.name]] * count,
                m.realize(batch),
            )
            for m in metrics
        ]
    )


@dataclass(frozen=True, kw_only=True)
class EstimatorConfig:
    """What CBPE's and DLE's configurations share: metrics (None: the estimator's
    defaults), chunking, and threshold strategies per metric (default: mean -/+ 3 standard
    deviations of the reference chunks' realized values, as NannyML)."""

    known_metrics: ClassVar[Mapping[str, Metric]]
    default_metrics: ClassVar[tuple[str, ...]]

    metrics: Sequence[str] | None = None
    chunker: Chunker = field(default_factory=lambda: CountChunker(10))
    thresholds: Mapping[str, Threshold] = field(default_factory=dict)

    def __post_init__(self) -> None:
        metrics = self.metrics if self.metrics is not None else self.default_metrics
        metrics = (metrics,) if isinstance(metrics, str) else tuple(metrics)
        unknown = [m for m in metrics if m not in self.known_metrics]
        if unknown or not metrics:
            raise InputError(
                f"unknown metric(s) {unknown}" if unknown else "no metrics to estimate",
                hint=f"choose from {', '.join(self.known_metrics)}",
            )
        object.__setattr__(self, "metrics", metrics)
        extra = [m for m in self.thresholds if m not in metrics]
        if extra:
            raise InputError(f"thresholds given for metrics not estimated: {extra}")

    @property
    def metric_objects(self) -> list[Metric]:
        """The metrics to estimate, in order."""
        return [self.known_metrics[m] for m in self.metrics or ()]

    def threshold(self, metric: str) -> Threshold:
        """The threshold strategy for ``metric``."""
        return self.thresholds.get(metric) or StandardDeviationThreshold()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (``from_dict`` inverts it)."""
        spec = {f.name: getattr(self, f.name) for f in fields(self)}
        spec["metrics"] = list(self.metrics or ())
        spec["chunker"] = self.chunker.to_dict()
        spec["thresholds"] = {m: t.to_dict() for m, t in self.thresholds.items()}
        return {k: list(v) if isinstance(v, tuple) else v for k, v in spec.items()}

    @classmethod
    def from_dict(cls, spec: dict[str, Any]) -> Self:
        """Rebuild from ``to_dict()``."""
        spec = dict(spec)
        spec["chunker"] = chunker_from_dict(spec["chunker"])
        spec["thresholds"] = {m: threshold_from_dict(t) for m, t in spec["thresholds"].items()}
        return cls(**spec)

    def _data_columns(self) -> list[str]:
        """Columns the estimate reads from new data, besides labels and time."""
        raise NotImplementedError

    def _columns(self, chunker: Chunker, *, labels: bool) -> list[str]:
        """The data columns, the labels when asked, and the chunker's time column."""
        columns = [*self._data_columns(), *([self.y_true] if labels else [])]  # type: ignore[attr-defined]
        if chunker.time_column and chunker.time_column not in columns:
            columns.append(chunker.time_column)
        return columns

    def _judged_reference(
        self,
        frame: pl.DataFrame,
        components: dict[str, tuple[float, float]],
        batch_for: Callable[[Chunked], Any],
        chunked: Chunked | None = None,
        realized_by: Mapping[str, Realized] | None = None,
    ) -> dict[str, Any]:
        """The common fields of a fitted estimator: the reference chunked (``chunked``
        when the caller chunked ``frame`` already), each chunk estimated and judged
        (leave-one-out), and the thresholds for new data."""
        if chunked is None:
            chunked = chunk_frame(frame, self.chunker)
        reference, thresholds = reference_result(
            self.metric_objects,
            components,
            chunked,
            batch_for(chunked),
            self.threshold,
            realized_by,
        )
        return {
            "estimator": self,
            "components": components,
            "thresholds": thresholds,
            "reference": reference,
            "reference_rows": frame.height,
        }

    def _batch(self, chunked: Chunked, fitted: Any, *, labels: bool) -> Any:
        """The metrics' input for ``chunked`` data, given the fitted state."""
        raise NotImplementedError


@dataclass(frozen=True)
class FittedEstimator:
    """What every fitted estimator holds: its configuration, sampling-error components,
    thresholds, and the reference's own chunk records (with warnings about the setup)."""

    estimator: Any
    #: per metric, the sampling-error components fitted on the reference
    components: dict[str, tuple[float, float]]
    #: per metric, (lower, upper) from all reference chunks: what new chunks face
    thresholds: dict[str, Bounds]
    #: the reference's chunks, each judged against the other reference chunks
    reference: PerformanceResult
    reference_rows: int

    @property
    def warnings(self) -> tuple[str, ...]:
        """Warnings about the reference (too few chunks, metrics without thresholds)."""
        return self.reference.warnings

    def __repr__(self) -> str:
        metrics = list(self.reference.metrics)
        return (
            f"{type(self).__name__}(metrics={metrics}, reference_rows={self.reference_rows}, "
            f"reference_chunks={len(self.reference) // len(metrics)}, "
            f"warnings={len(self.warnings)})"
        )

    def estimate(
        self,
        data: FrameLike,
        *,
        chunker: Chunker | None = None,
        include_reference: bool = True,
    ) -> PerformanceResult:
        """Estimated metrics per chunk of ``data`` (labels optional: realized values where
        present), after the reference's chunks unless ``include_reference`` is False."""
        config = self.estimator
        chunker = chunker or config.chunker
        columns = config._columns(chunker, labels=False)
        frame = load_columns(data, columns, [config.y_true], what="data to estimate")
        chunked = chunk_frame(frame, chunker)
        batch = config._batch(chunked, self, labels=config.y_true in frame.columns)
        rows = analysis_records(
            config.metric_objects, self.components, chunked, batch, self.thresholds
        )
        if include_reference:
            rows = self.reference.estimates + rows
        return PerformanceResult(rows, self.reference.metrics, self.warnings)

    def _state(self) -> dict[str, Any]:
        return {
            "estimator": self.estimator.to_dict(),
            "components": {m: list(c) for m, c in self.components.items()},
            "thresholds": {m: list(b) for m, b in self.thresholds.items()},
            "reference": records_to_json(self.reference.estimates),
            "metrics": list(self.reference.metrics),
            "warnings": list(self.warnings),
            "reference_rows": self.reference_rows,
        }

    @staticmethod
    def _fields(state: dict[str, Any], config: type[EstimatorConfig]) -> dict[str, Any]:
        reference = PerformanceResult(
            records_from_json(ChunkEstimate, state["reference"]),
            tuple(state["metrics"]),
            tuple(state["warnings"]),
        )
        return {
            "estimator": config.from_dict(state["estimator"]),
            "components": {m: (c[0], c[1]) for m, c in state["components"].items()},
            "thresholds": {m: (b[0], b[1]) for m, b in state["thresholds"].items()},
            "reference": reference,
            "reference_rows": state["reference_rows"],
        }
