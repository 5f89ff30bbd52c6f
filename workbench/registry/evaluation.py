"""Scoring a model on labelled rows: labels, predictions, metrics, segments and latency.

Everything is computed with NumPy and Polars (no scikit-learn, no Fairlearn). Segment metrics
are one Polars ``group_by``: AUC per segment from average ranks (Mann-Whitney), RMSE, accuracy,
and the positive-prediction rate used for demographic parity.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import InputError

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

    from ..experiments.model import Model

__all__ = [
    "PRIMARY_METRIC",
    "Scored",
    "labels",
    "score",
    "segment_table",
    "latency_ms_per_10k",
    "higher_is_better",
]

#: the metric gates compare, per task
PRIMARY_METRIC = {"binary": "auc", "regression": "rmse", "multiclass": "logloss"}
#: the metric compared between segments, per task
SEGMENT_METRIC = {"binary": "auc", "regression": "rmse", "multiclass": "accuracy"}
#: rows scored to measure latency
LATENCY_ROWS = 10_000


def higher_is_better(metric: str) -> bool:
    """Direction of a metric."""
    from ..experiments.metrics import HIGHER_IS_BETTER

    return HIGHER_IS_BETTER.get(metric, True)


@dataclass
class Scored:
    """A model's predictions on labelled rows and the metrics they give."""

    task: str
    y: np.ndarray
    p: np.ndarray
    metrics: dict[str, float]


def labels(model: Model, target: pl.Series) -> np.ndarray:
    """True labels encoded as the model encodes them (class index, or the value)."""
    import polars as pl

    classes = model.meta.classes
    if target.null_count():
        raise InputError(f"the holdout has {target.null_count()} rows without a label")
    if classes is None:
        return target.cast(pl.Float64).to_numpy()
    text = target.cast(pl.String)
    codes = text.replace_strict(
        [str(c) for c in classes], list(range(len(classes))), default=None, return_dtype=pl.Float64
    )
    if codes.null_count():
        unknown = sorted(set(text.filter(codes.is_null()).to_list()))[:3]
        raise InputError(f"the holdout has labels the model does not know: {unknown}")
    return codes.to_numpy()


def score(model: Model, df: pl.DataFrame) -> Scored:
    """Predict ``df`` and compute the holdout metrics of the model's task."""
    from ..experiments.metrics import compute_metrics

    task = model.meta.task
    target = model.meta.target
    if target not in df.columns:
        raise InputError(f"the holdout has no label column {target!r}")
    y = labels(model, df.get_column(target))
    p = model.predict(df)
    return Scored(task, y, p, compute_metrics(task, y, p))


def segment_table(segment: pl.Series, scored: Scored, threshold: float = 0.5) -> pl.DataFrame:
    """Per segment value: rows, positives, the segment metric and the positive-prediction rate."""
    import numpy as np
    import polars as pl

    p = scored.p
    if scored.task == "multiclass":
        pred = np.argmax(p, axis=1).astype("float64")
        p = pred
    else:
        pred = (p >= threshold).astype("float64")
    frame = pl.DataFrame(
        {
            "segment": segment.cast(pl.String).fill_null("(null)"),
            "y": scored.y,
            "p": p,
            "pred": pred,
        }
    )
    frame = frame.with_columns(rank=pl.col("p").rank("average").over("segment"))
    table = frame.group_by("segment").agg(
        n=pl.len(),
        n_pos=pl.col("y").sum(),
        rank_pos=pl.col("rank").filter(pl.col("y") == 1).sum(),
        rmse=((pl.col("p") - pl.col("y")) ** 2).mean().sqrt(),
        accuracy=(pl.col("pred") == pl.col("y")).mean(),
        positive_rate=pl.col("pred").mean(),
    )
    n_neg = pl.col("n") - pl.col("n_pos")
    auc = (pl.col("rank_pos") - pl.col("n_pos") * (pl.col("n_pos") + 1) / 2) / (
        pl.col("n_pos") * n_neg
    )
    table = table.with_columns(
        auc=pl.when((pl.col("n_pos") > 0) & (n_neg > 0)).then(auc).otherwise(None)
    )
    metric = SEGMENT_METRIC[scored.task]
    return table.select("segment", "n", pl.col(metric).alias("metric"), "positive_rate").sort(
        "segment"
    )


def latency_ms_per_10k(model: Model, df: pl.DataFrame) -> float:
    """Milliseconds to score 10,000 rows (rows drawn from ``df``, with replacement if fewer)."""
    if df.height == 0:
        raise InputError("cannot time scoring on an empty frame")
    rows = (
        df.head(LATENCY_ROWS)
        if df.height >= LATENCY_ROWS
        else df.sample(LATENCY_ROWS, with_replacement=True, seed=0)
    )
    model.predict(rows.head(10))  # warm up (first call allocates)
    start = time.perf_counter()
    model.predict(rows)
    return (time.perf_counter() - start) * 1000.0
