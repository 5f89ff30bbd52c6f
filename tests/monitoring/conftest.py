"""Shared helpers for the monitoring tests: seeded data and NannyML 0.13.1 as the oracle.

NannyML is a test dependency only (the ``dev`` extra); it is imported inside the helpers so
that collecting these tests does not load it.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
import pytest

from workbench.monitoring import PerformanceResult
from workbench.monitoring.nannyml_compat import difference_from_nannyml

# NannyML sends usage analytics unless told not to; tests stay offline.
os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")

#: the equality the brief asks for; we reach ~1e-15 (see the tests' assertions)
TOLERANCE = 1e-6


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


def assert_matches_nannyml(
    ours: PerformanceResult, theirs: Any, *, reference_thresholds: bool = False
) -> float:
    """Chunk keys, periods and bounds agree with NannyML's; every number is within
    ``TOLERANCE`` (None for its NaN); analysis alerts agree. Reference thresholds differ by
    design (leave-one-out) and are compared only when asked. Returns the largest
    difference seen."""
    frame = ours.to_polars()
    for metric in ours.metrics:
        mine = frame.filter(pl.col("metric") == metric)
        assert mine.height == len(theirs), (metric, mine.height, len(theirs))
        assert mine["chunk_key"].to_list() == theirs[("chunk", "key")].tolist()
        assert mine["period"].to_list() == theirs[("chunk", "period")].tolist()
        assert mine["start_index"].to_list() == theirs[("chunk", "start_index")].tolist()
        assert mine["end_index"].to_list() == theirs[("chunk", "end_index")].tolist()
        expected = theirs[(metric, "alert")].tolist()
        for i, (alert, period) in enumerate(zip(mine["alert"], mine["period"], strict=True)):
            if period == "analysis":
                b = expected[i]
                assert alert == (bool(b) if b == b else False), f"{metric} alert chunk {i}"
    worst = difference_from_nannyml(ours, theirs, reference_thresholds=reference_thresholds)
    assert worst <= TOLERANCE, worst
    return worst


def nannyml_reference_realized(theirs: Any, metric: str) -> np.ndarray:
    """NannyML's realized values on the reference chunks (what thresholds come from)."""
    rows = theirs[theirs[("chunk", "period")] == "reference"]
    return rows[(metric, "realized")].to_numpy(dtype=float)
