"""Windows of the prediction log and their figures: volume, data quality, drift against the
training data, prediction drift, realized and estimated performance, latency and errors.

``assign_windows`` cuts logged rows into hour/day/week/month windows (UTC calendar periods,
keyed as NannyML's period chunker spells them) or into batches (a pause longer than the gap
starts a new one). ``window_figures`` computes one ``WindowFigures`` for the rows of one
window served by one model version in one role, against that version's ``VersionReference``.

Drift here always uses distances (Wasserstein for numbers, Jensen-Shannon for categories,
Evidently's choices for large data): Evidently's defaults switch to p-value tests below 1,000
reference rows, and a window's score must mean the same thing in every window for a
timeline or a ``feature_score`` policy to make sense.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from ..errors import InputError

if TYPE_CHECKING:
    from ..drift.results import DriftOptions
    from ..drift.stats import ColumnStats, ReferenceStats

__all__ = [
    "WINDOW_SIZES",
    "VersionReference",
    "WindowFigures",
    "assign_windows",
    "split_windows",
    "column_types",
    "drift_options",
    "error_expression",
    "window_figures",
]

WINDOW_SIZES = ("hour", "day", "week", "month", "batch")
_TRUNCATE = {"hour": "1h", "day": "1d", "week": "1w", "month": "1mo"}
#: the monitoring names of the run's holdout metrics
HOLDOUT_NAMES = {"roc_auc": "auc", "accuracy": "accuracy", "f1": "f1", "precision": "precision",
                 "recall": "recall", "mae": "mae", "rmse": "rmse"}  # fmt: skip
#: metrics where lower is better
LOWER_IS_BETTER = frozenset({"mae", "rmse"})
INPUT_PREFIX = "in_"
KEY, START, END = "window_key", "window_start", "window_end"


@dataclass(frozen=True)
class VersionReference:
    """What one model version's windows are judged against: its training data's statistics,
    its holdout predictions' statistics, the fitted performance estimator and its holdout
    metrics."""

    model: str
    version: int
    task: str
    features: tuple[str, ...]
    #: statistics of the training snapshot's feature columns (the drift reference)
    stats: ReferenceStats
    #: statistics of the holdout's predictions (column ``prediction``), or None
    prediction_stats: ReferenceStats | None = None
    #: a ``FittedCBPE`` (binary) or ``FittedDLE`` (regression), or None
    estimator: Any = None
    #: the class value counted as positive (binary), as the log's ``predicted_label`` spells it
    positive: str | None = None
    #: the run's holdout metrics, under monitoring's names (roc_auc, accuracy, ..., rmse)
    holdout: Mapping[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        """``model@vN``."""
        return f"{self.model}@v{self.version}"

    @property
    def primary_metric(self) -> str:
        """roc_auc for binary models, rmse for regression."""
        return "roc_auc" if self.task == "binary" else "rmse"


@dataclass
class WindowFigures:
    """One window of one model version in one role: everything the report shows and the
    policies judge. Missing values are None with a note saying why."""

    window_key: str
    window_start: datetime | None
    window_end: datetime | None
    role: str
    model: str
    version: int
    rows: int
    labelled: int = 0
    latency_p50_ms: float | None = None
    latency_p99_ms: float | None = None
    error_rate: float | None = None
    #: feature -> share of nulls in the window, and the training data's
    null_shares: dict[str, float] = field(default_factory=dict)
    reference_null_shares: dict[str, float] = field(default_factory=dict)
    #: feature -> values never seen in training
    new_categories: dict[str, list[str]] = field(default_factory=dict)
    #: share of rows holding at least one unseen category
    new_category_share: float | None = None
    n_tested: int = 0
    n_drifted: int = 0
    drift_share: float | None = None
    #: feature -> drift score (a distance) and whether it drifted
    feature_scores: dict[str, float | None] = field(default_factory=dict)
    drifted_features: list[str] = field(default_factory=list)
    prediction_drift: float | None = None
    prediction_drifted: bool | None = None
    #: metric -> value on the labelled rows
    realized: dict[str, float | None] = field(default_factory=dict)
    #: metric -> CBPE/DLE estimate, with its sampling-error band and the reference thresholds
    estimated: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def max_null_increase(self) -> tuple[str | None, float]:
        """(feature, increase) of the largest rise in null share over the training data."""
        best: tuple[str | None, float] = (None, 0.0)
        for name, share in self.null_shares.items():
            rise = share - self.reference_null_shares.get(name, 0.0)
            if rise > best[1]:
                best = (name, rise)
        return best

    @property
    def max_feature_score(self) -> tuple[str | None, float | None]:
        """(feature, score) of the most drifted feature."""
        scored = [(k, v) for k, v in self.feature_scores.items() if v is not None]
        if not scored:
            return None, None
        return max(scored, key=lambda kv: kv[1])

    def performance(self, metric: str) -> tuple[float | None, str]:
        """The metric's value and where it comes from: ``realized`` on the labelled rows when
        there are any, else ``estimated``."""
        value = self.realized.get(metric)
        if value is not None:
            return value, "realized"
        est = self.estimated.get(metric) or {}
        return est.get("value"), "estimated"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (times as ISO text)."""
        d = asdict(self)
        for k in (START, END):
            d[k] = d[k].isoformat() if d[k] is not None else None
        return _finite(d)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WindowFigures:
        """Inverse of ``to_dict``."""
        d = dict(data)
        for k in (START, END):
            d[k] = datetime.fromisoformat(d[k]) if d.get(k) else None
        return cls(**d)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


# -- windows ----------------------------------------------------------------------------------


def check_window(size: str) -> str:
    """``size`` if it is a window size; an input error otherwise."""
    if size not in WINDOW_SIZES:
        raise InputError(f"unknown window {size!r}", hint=f"use one of {', '.join(WINDOW_SIZES)}")
    return size


def _key_format(size: str) -> str:
    return {"hour": "%Y-%m-%d %H:00", "day": "%Y-%m-%d", "week": "%Y-%m-%d", "month": "%Y-%m"}[size]


def assign_windows(frame: pl.DataFrame, size: str, gap_minutes: float = 30.0) -> pl.DataFrame:
    """``frame`` (with a UTC ``time`` column) plus ``window_key``, ``window_start`` and
    ``window_end`` (exclusive); batches come sorted by time, calendar windows in any order.

    Calendar windows are UTC periods; a week starts on Monday and its key is its first day.
    ``batch`` windows start at the first row after a pause longer than ``gap_minutes``; a
    batch's key is its first row's time and it ends just after its last row.
    """
    check_window(size)
    t = pl.col("time")
    if size != "batch":
        every = _TRUNCATE[size]
        # Keys and ends are made per window, not per row (strftime over 10M rows: ~1 s).
        out = frame.with_columns(t.dt.truncate(every).alias(START))
        starts = out.select(pl.col(START).unique())
        keyed = starts.with_columns(
            pl.col(START).dt.offset_by(every).alias(END),
            pl.col(START).dt.strftime(_key_format(size)).alias(KEY),
        )
        return out.join(keyed, on=START, how="left")
    ordered = frame.sort("time")
    gap = timedelta(minutes=gap_minutes)
    batch_id = (t.diff() > gap).fill_null(False).cum_sum()
    ordered = ordered.with_columns(batch_id.alias("__batch"))
    bounds = pl.col("time")
    ordered = ordered.with_columns(
        bounds.min().over("__batch").alias(START),
        (bounds.max().over("__batch") + timedelta(microseconds=1)).alias(END),
    )
    return ordered.with_columns(
        pl.col(START).dt.strftime("batch %Y-%m-%d %H:%M:%S").alias(KEY)
    ).drop("__batch")


def split_windows(
    frame: pl.DataFrame, size: str, gap_minutes: float = 30.0
) -> list[tuple[str, datetime, datetime, pl.DataFrame]]:
    """``(key, start, end, rows)`` per window holding rows, oldest first.

    Calendar windows are found in one pass (each row's window index by a binary search of
    its time among the window starts, which come from the first and last time), then one
    partition: no per-row key text, sort or zoned comparison, which over ten million rows
    cost more than the figures themselves.
    """
    check_window(size)
    if frame.height == 0:
        return []
    if size == "batch":
        cut = assign_windows(frame, size, gap_minutes)
        return [
            (str(part[KEY][0]), part[START][0], part[END][0], part.drop(KEY, START, END))
            for part in cut.partition_by(KEY, maintain_order=True)
        ]
    first, last = frame["time"].min(), frame["time"].max()
    bounds = window_bounds(_first_key(first, size), size)
    assert bounds is not None
    starts = [bounds[0]]
    while starts[-1] <= last:  # type: ignore[operator]
        starts.append(window_bounds(starts[-1].strftime(_key_format(size)), size)[1])  # type: ignore[index]
    # One pass: each row's window index from its time's physical value (microseconds).
    edges = np.array([int(t.timestamp() * 1_000_000) for t in starts], dtype=np.int64)
    micros = frame["time"].dt.cast_time_unit("us").cast(pl.Int64).to_numpy()
    out = []
    if len(micros) < 2 or bool(np.all(micros[1:] >= micros[:-1])):
        # Already in time order (the log is read day folder by day folder, each segment in
        # time order): windows are zero-copy slices.
        cuts = np.searchsorted(micros, edges, side="left")
        for i, start in enumerate(starts[:-1]):
            a, b = int(cuts[i]), int(cuts[i + 1])
            if b > a:
                out.append((start.strftime(_key_format(size)), start, starts[i + 1],
                            frame.slice(a, b - a)))  # fmt: skip
        return out
    index = np.searchsorted(edges, micros, side="right") - 1
    parts = frame.with_columns(pl.Series("__window", index)).partition_by(
        "__window", as_dict=True, include_key=False
    )
    for (i,), part in sorted(parts.items()):
        start = starts[int(i)]
        out.append((start.strftime(_key_format(size)), start, starts[int(i) + 1], part))
    return out


def _first_key(first: Any, size: str) -> str:
    moment = first.astimezone(UTC)
    if size == "week":
        moment = moment - timedelta(days=moment.weekday())
    return moment.strftime(_key_format(size))


def window_bounds(key: str, size: str) -> tuple[datetime, datetime] | None:
    """The [start, end) of a calendar window from its key (None for batches)."""
    if size == "batch":
        return None
    fmt = _key_format(size)
    start = datetime.strptime(key, fmt).replace(tzinfo=UTC)
    if size == "hour":
        return start, start + timedelta(hours=1)
    if size == "day":
        return start, start + timedelta(days=1)
    if size == "week":
        return start, start + timedelta(days=7)
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return start, start.replace(year=year, month=month)


# -- figures ----------------------------------------------------------------------------------


def drift_options(drift_share: float | None) -> DriftOptions:
    """Distances for every column (see the module doc), Evidently's default thresholds."""
    from ..drift.results import DriftOptions

    return DriftOptions(
        num_method="wasserstein",
        cat_method="jensenshannon",
        drift_share=0.5 if drift_share is None else drift_share,
    )


def column_types(stats: ReferenceStats, features: Sequence[str]) -> dict[str, str]:
    """Each feature's drift type from the training data (Evidently's rule: integers with at
    most ten distinct values and all text are categories), the same in every window."""
    types = {}
    for name in features:
        col = stats[name]
        kind = col.values.dtype.kind
        if kind == "f" or (kind in "iu" and col.n_unique > 10):
            types[name] = "numerical"
        else:
            types[name] = "categorical"
    return types


def error_expression() -> pl.Expr:
    """A request that got no prediction: no score, no value and no predicted label."""
    return (
        pl.col("score").is_null() & pl.col("value").is_null() & pl.col("predicted_label").is_null()
    )


def window_figures(
    part: pl.DataFrame,
    ref: VersionReference,
    *,
    options: DriftOptions,
    types: Mapping[str, str],
    key: str,
    start: datetime | None,
    end: datetime | None,
    role: str,
) -> WindowFigures:
    """The figures of one window's rows of one version and role (``part``: log rows with
    ``label`` joined, null where no label arrived)."""
    fig = WindowFigures(key, start, end, role, ref.model, ref.version, part.height)
    if part.height == 0:
        return fig
    _operations(part, fig)
    inputs = _inputs(part, ref.features)
    summaries: dict[str, ColumnStats] = {}
    _drift(inputs, ref, fig, options, types, summaries)
    _quality(inputs, ref, fig, summaries)
    _prediction_drift(part, ref, fig, options)
    _performance(part, ref, fig)
    return fig


def _operations(part: pl.DataFrame, fig: WindowFigures) -> None:
    row = part.select(
        pl.col("latency_ms").quantile(0.5, "linear").alias("p50"),
        pl.col("latency_ms").quantile(0.99, "linear").alias("p99"),
        error_expression().mean().alias("errors"),
        pl.col("label").is_not_null().sum().alias("labelled"),
    ).row(0, named=True)
    fig.latency_p50_ms, fig.latency_p99_ms = row["p50"], row["p99"]
    fig.error_rate, fig.labelled = row["errors"], int(row["labelled"])


def _inputs(part: pl.DataFrame, features: Sequence[str]) -> pl.DataFrame:
    present = set(part.columns)
    return part.select(
        pl.col(INPUT_PREFIX + f).alias(f) if INPUT_PREFIX + f in present else pl.lit(None).alias(f)
        for f in features
    )


def _quality(
    inputs: pl.DataFrame,
    ref: VersionReference,
    fig: WindowFigures,
    summaries: Mapping[str, ColumnStats] | None = None,
) -> None:
    """Null shares and categories never seen in training. ``summaries`` are the window's
    column statistics the drift test made, when it made them: a text column's distinct
    values and counts there give its new categories without another pass over the rows."""
    n = inputs.height
    nulls = inputs.select(pl.all().null_count()).row(0, named=True)
    fig.null_shares = {f: nulls[f] / n for f in ref.features}
    fig.reference_null_shares = {f: ref.stats[f].null_share for f in ref.features}
    unseen: list[pl.Series] = []
    new_rows = []
    for name in ref.features:
        col = ref.stats[name]
        if col.values.dtype.kind not in "OUS":
            continue
        summary = (summaries or {}).get(name)
        if summary is not None and inputs.schema[name] == pl.String:
            known_values = set(col.unique[0].tolist())
            values, counts = summary.unique
            is_new = [v not in known_values for v in values.tolist()]
            if any(is_new):
                fig.new_categories[name] = sorted(
                    v for v, new in zip(values.tolist(), is_new, strict=True) if new
                )[:20]
                new_rows.append((name, int(counts[np.asarray(is_new)].sum())))
            continue
        new = _unseen(inputs[name], col)
        if new.any():
            fig.new_categories[name] = sorted(
                inputs[name].cast(pl.String).filter(new).unique().to_list()
            )[:20]
            unseen.append(new)
    if len(new_rows) == 1 and not unseen:
        # One column with new values: its rows holding them are the count itself.
        fig.new_category_share = new_rows[0][1] / n
        return
    unseen += [_unseen(inputs[name], ref.stats[name]) for name, _ in new_rows]
    if unseen:
        any_new = unseen[0]
        for mask in unseen[1:]:
            any_new = any_new | mask
        fig.new_category_share = int(any_new.sum()) / len(any_new)
    else:
        fig.new_category_share = 0.0


def _unseen(column: pl.Series, col: ColumnStats) -> pl.Series:
    """Per row: a value the training data never held (nulls are not new)."""
    known = pl.Series(col.unique[0].tolist(), dtype=pl.String)
    values = column.cast(pl.String)
    return values.is_not_null() & ~values.is_in(known.implode())


def _drift(
    inputs: pl.DataFrame,
    ref: VersionReference,
    fig: WindowFigures,
    options: DriftOptions,
    types: Mapping[str, str],
    summaries: dict[str, ColumnStats] | None = None,
) -> None:
    from ..drift.engine import compute_drift

    report = compute_drift(
        ref.stats, inputs, columns=list(ref.features), column_types=types, options=options,
        current_stats=summaries,
    )  # fmt: skip
    fig.n_tested, fig.n_drifted = report.n_tested, report.n_drifted
    fig.drift_share = report.share if report.n_tested else None
    for col in report.columns:
        fig.feature_scores[col.column] = col.score if col.tested else None
        if col.tested and col.drifted:
            fig.drifted_features.append(col.column)
        elif not col.tested:
            fig.notes.append(f"{col.column}: {col.status} ({col.message})")


def _prediction_column(task: str) -> str:
    return "score" if task == "binary" else "value"


def _prediction_drift(
    part: pl.DataFrame, ref: VersionReference, fig: WindowFigures, options: DriftOptions
) -> None:
    from ..drift.engine import compute_drift

    if ref.prediction_stats is None:
        return
    frame = part.select(pl.col(_prediction_column(ref.task)).alias("prediction"))
    report = compute_drift(
        ref.prediction_stats, frame, columns=["prediction"],
        column_types={"prediction": "numerical"}, options=options,
    )  # fmt: skip
    col = report.columns[0]
    if col.tested:
        fig.prediction_drift, fig.prediction_drifted = col.score, col.drifted


def _performance(part: pl.DataFrame, ref: VersionReference, fig: WindowFigures) -> None:
    if ref.estimator is None:
        fig.notes.append("no performance estimator for this version")
        return
    from .chunking import SizeChunker

    frame = estimation_frame(part, ref)
    result = ref.estimator.estimate(
        frame, chunker=SizeChunker(frame.height), include_reference=False
    )
    for e in result:
        fig.estimated[e.metric] = {
            "value": e.estimated,
            "sampling_error": e.sampling_error,
            "lower_band": e.lower_band,
            "upper_band": e.upper_band,
            "lower_threshold": e.lower_threshold,
            "upper_threshold": e.upper_threshold,
            "alert": e.alert,
            "note": e.estimate_note,
        }
        fig.realized[e.metric] = e.realized if fig.labelled else None


def estimation_frame(part: pl.DataFrame, ref: VersionReference) -> pl.DataFrame:
    """The columns CBPE or DLE read, from log rows with a joined ``label`` column."""
    if ref.task == "binary":
        positive = ref.positive
        said = pl.col("predicted_label")
        y_pred = (
            pl.when(said.is_null())
            .then((pl.col("score") >= 0.5).cast(pl.Float64))
            .otherwise((said == positive).cast(pl.Float64))
        )
        y_true = (
            pl.when(pl.col("label").is_null())
            .then(None)
            .otherwise((pl.col("label") == positive).cast(pl.Float64))
        )
        return part.select(
            pl.col("score").alias("y_pred_proba"),
            y_pred.alias("y_pred"),
            y_true.alias("y_true"),
        ).filter(pl.col("y_pred_proba").is_not_null())
    inputs = _inputs(part, ref.features)
    return inputs.with_columns(
        part["value"].alias("y_pred"),
        part["label"].cast(pl.Float64, strict=False).alias("y_true"),
    ).filter(pl.col("y_pred").is_not_null())
