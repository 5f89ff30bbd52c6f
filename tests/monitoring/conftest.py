"""Shared helpers for the monitoring tests: seeded data and NannyML 0.13.1 as the oracle.

NannyML is a test dependency only (the ``dev`` extra); it is imported inside the helpers so
that collecting these tests does not load it.
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
import pytest

from workbench.monitoring import PerformanceResult

# NannyML sends usage analytics unless told not to; tests stay offline.
os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")

#: the equality the brief asks for; we reach ~1e-15 (see the tests' assertions)
TOLERANCE = 1e-6

#: our record field -> NannyML's result column (second level)
COLUMNS = {
    "estimated": "value",
    "sampling_error": "sampling_error",
    "realized": "realized",
    "upper_band": "upper_confidence_boundary",
    "lower_band": "lower_confidence_boundary",
    "upper_threshold": "upper_threshold",
    "lower_threshold": "lower_threshold",
}


@pytest.fixture(autouse=True)
def _quiet_nannyml():
    """NannyML logs and warns for every chunk; keep the test output readable."""
    logging.disable(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
    logging.disable(logging.NOTSET)


def nannyml_cbpe(
    reference: pl.DataFrame,
    analysis: pl.DataFrame,
    metrics: Sequence[str],
    **chunking: Any,
) -> tuple[Any, Any]:
    """(fitted NannyML CBPE, its result frame) for the synthetic columns."""
    nml = pytest.importorskip("nannyml")
    estimator = nml.CBPE(
        y_pred_proba="y_pred_proba",
        y_pred="y_pred",
        y_true="y_true",
        problem_type="classification_binary",
        metrics=list(metrics),
        **chunking,
    )
    estimator.fit(reference.to_pandas())
    return estimator, estimator.estimate(analysis.to_pandas()).to_df()


def nannyml_dle(
    reference: pl.DataFrame,
    analysis: pl.DataFrame,
    features: Sequence[str],
    metrics: Sequence[str],
    **chunking: Any,
) -> tuple[Any, Any]:
    """(fitted NannyML DLE, its result frame), LightGBM on one thread as ours (OpenMP
    threads that spin on a busy shared machine made two threads 3x slower than one)."""
    nml = pytest.importorskip("nannyml")
    estimator = nml.DLE(
        feature_column_names=list(features),
        y_pred="y_pred",
        y_true="y_true",
        metrics=list(metrics),
        hyperparameters={"n_jobs": 1},
        **chunking,
    )
    estimator.fit(reference.to_pandas())
    return estimator, estimator.estimate(analysis.to_pandas()).to_df()


def _same(ours: float | None, theirs: float) -> bool:
    if ours is None:
        return theirs is None or (isinstance(theirs, float) and math.isnan(theirs))
    return abs(ours - theirs) <= TOLERANCE


def assert_matches_nannyml(
    ours: PerformanceResult, theirs: Any, *, reference_thresholds: bool = False
) -> float:
    """Every number of every chunk and metric equals NannyML's (None for its NaN); chunk
    keys and sizes agree. Reference thresholds differ by design (leave-one-out), so they
    are compared only when asked. Returns the largest difference seen."""
    frame = ours.to_polars()
    worst = 0.0
    for metric in ours.metrics:
        mine = frame.filter(pl.col("metric") == metric)
        assert mine.height == len(theirs), (metric, mine.height, len(theirs))
        assert mine["chunk_key"].to_list() == theirs[("chunk", "key")].tolist()
        assert mine["period"].to_list() == theirs[("chunk", "period")].tolist()
        assert mine["start_index"].to_list() == theirs[("chunk", "start_index")].tolist()
        assert mine["end_index"].to_list() == theirs[("chunk", "end_index")].tolist()
        for field, column in COLUMNS.items():
            values = mine[field].to_list()
            expected = theirs[(metric, column)].tolist()
            for i, (a, b) in enumerate(zip(values, expected, strict=True)):
                judged_by_others = "threshold" in field and mine["period"][i] == "reference"
                if judged_by_others and not reference_thresholds:
                    continue
                b = float("nan") if b is None else float(b)
                assert _same(a, b), f"{metric} {field} chunk {i}: ours {a}, NannyML {b}"
                if a is not None and not math.isnan(b):
                    worst = max(worst, abs(a - b))
        analysis = [i for i in range(mine.height) if mine["period"][i] == "analysis"]
        alerts = mine["alert"].to_list()
        expected_alerts = theirs[(metric, "alert")].tolist()
        for i in analysis:
            b = expected_alerts[i]
            assert alerts[i] == (bool(b) if b == b else False), f"{metric} alert chunk {i}"
    return worst


def nannyml_reference_realized(theirs: Any, metric: str) -> np.ndarray:
    """NannyML's realized values on the reference chunks (what thresholds come from)."""
    rows = theirs[theirs[("chunk", "period")] == "reference"]
    return rows[(metric, "realized")].to_numpy(dtype=float)
