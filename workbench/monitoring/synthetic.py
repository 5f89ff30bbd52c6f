"""Seeded synthetic monitoring data: a reference period and an analysis period whose second
half drifts, for a binary classifier and for a regressor. Used by tests, the benchmark and
notebooks; nothing here is fitted, so the data are cheap and identical for a given seed."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl

__all__ = ["binary_classification_data", "regression_data"]

_START = datetime(2024, 1, 1)


def _timestamps(n: int, start: datetime, step: timedelta) -> pl.Series:
    return pl.datetime_range(start, start + step * (n - 1), step, eager=True).alias("timestamp")


def _features(
    rng: np.random.Generator, n: int, shift: np.ndarray, scale: np.ndarray | float = 1.0
) -> dict[str, np.ndarray]:
    return {
        "x1": rng.normal(shift, scale, n),
        "x2": rng.normal(0.0, 1.0, n),
        "x3": rng.uniform(-1.0, 1.0, n),
    }


def _drift(n: int, amount: float) -> np.ndarray:
    """No shift in the first half, a linear ramp up to ``amount`` over the second half."""
    ramp = np.zeros(n)
    half = n // 2
    ramp[half:] = np.linspace(0.0, amount, n - half)
    return ramp


def binary_classification_data(
    reference_rows: int = 20_000,
    analysis_rows: int = 20_000,
    *,
    seed: int = 7,
    drift: float = 2.0,
    step: timedelta = timedelta(minutes=1),
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(reference, analysis) frames: features, ``timestamp``, ``y_true`` (0/1), ``y_pred_proba``
    (an over-confident score of the right log-odds, so calibration helps) and ``y_pred``
    (score >= 0.5).

    In the second half of the analysis period ``x1`` concentrates near the decision boundary
    (its spread shrinks to ``1 / (1 + drift)``), so the model's performance falls while the
    relation between features and labels stays the same: the shift CBPE is built for.
    """
    rng = np.random.default_rng(seed)
    frames = []
    start = _START
    for n, shifted in ((reference_rows, False), (analysis_rows, True)):
        scale = 1 / (1 + _drift(n, drift)) if shifted else 1.0
        x = _features(rng, n, np.full(n, 0.25), scale)
        logit = 2.0 * x["x1"] + x["x2"] - 0.5
        y_true = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
        proba = 1 / (1 + np.exp(-1.8 * logit - 0.2 * x["x3"]))
        frames.append(
            pl.DataFrame(
                {
                    **x,
                    "timestamp": _timestamps(n, start, step),
                    "y_true": y_true,
                    "y_pred_proba": proba,
                    "y_pred": (proba >= 0.5).astype(np.int64),
                }
            )
        )
        start = start + step * n
    return frames[0], frames[1]


def regression_data(
    reference_rows: int = 20_000,
    analysis_rows: int = 20_000,
    *,
    seed: int = 11,
    drift: float = 2.0,
    step: timedelta = timedelta(minutes=1),
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(reference, analysis) frames: features (``x1``-``x3`` numbers, ``segment`` text),
    ``timestamp``, ``y_true`` and ``y_pred``. The noise grows with ``x1`` and in segment "c",
    and the analysis period drifts towards both, so the errors (MAE, RMSE) grow.
    """
    rng = np.random.default_rng(seed)
    frames = []
    start = _START
    for n, shifted in ((reference_rows, False), (analysis_rows, True)):
        ramp = _drift(n, drift) if shifted else np.zeros(n)
        x = _features(rng, n, ramp)
        p_c = np.clip(0.2 + 0.2 * ramp, 0, 0.9)
        u = rng.random(n)
        segment = np.where(u < p_c, "c", np.where(u < p_c + (1 - p_c) / 2, "a", "b"))
        signal = 3.0 * x["x1"] + np.sin(2 * x["x2"]) + x["x3"]
        noise_scale = 0.5 + 0.5 * np.abs(x["x1"]) + np.where(segment == "c", 1.0, 0.0)
        y_true = signal + rng.normal(0.0, 1.0, n) * noise_scale
        y_pred = signal + 0.1 * rng.normal(0.0, 1.0, n)
        frames.append(
            pl.DataFrame(
                {
                    **x,
                    "segment": segment,
                    "timestamp": _timestamps(n, start, step),
                    "y_true": y_true,
                    "y_pred": y_pred,
                }
            )
        )
        start = start + step * n
    return frames[0], frames[1]
