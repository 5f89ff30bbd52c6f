"""DLE equals NannyML 0.13.1's DLE on the same chunks.

Exact equality is possible here (we reach ~1e-15): NannyML trains ``LGBMRegressor()`` with
its defaults, and we train ``lightgbm.train`` with the same parameters on the same matrix
(features in the given order, then the prediction; text as NannyML's ordinal codes), so
LightGBM builds the same bins and trees; the test asserts the trees are identical. Both
sides run LightGBM on one thread: with different thread counts LightGBM may sum gradients in
another order, and the models could then differ in the last bits.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from tests.monitoring.conftest import assert_matches_nannyml, nannyml_dle
from workbench.errors import InputError
from workbench.monitoring import DLE, FittedDLE, SizeChunker, load_fitted, regression_data

FEATURES = ["x1", "x2", "x3", "segment"]
THREADS = {"num_threads": 1}


def _trees(model_text: str) -> str:
    return model_text[model_text.index("Tree=0") : model_text.index("end of trees")]


@pytest.fixture(scope="module")
def data() -> tuple[pl.DataFrame, pl.DataFrame]:
    """6,000 reference and 6,000 analysis rows; the analysis drifts to noisier regions, has
    a category the reference never saw, and missing text."""
    reference, analysis = regression_data(6_000, 6_000, seed=5, step=timedelta(minutes=5))
    n = analysis.height
    segment = (
        pl.when(pl.int_range(n) % 97 == 0)
        .then(pl.lit("new"))
        .when(pl.int_range(n) % 89 == 0)
        .then(None)
        .otherwise(pl.col("segment"))
    )
    return reference, analysis.with_columns(segment.alias("segment"))


@pytest.fixture(scope="module")
def by_size(data):
    reference, analysis = data
    ours = DLE(FEATURES, "y_pred", "y_true", chunker=SizeChunker(750), lightgbm_params=THREADS)
    fitted = ours.fit(reference)
    theirs = nannyml_dle(reference, analysis, FEATURES, ["mae", "rmse"], chunk_size=750)
    return fitted, fitted.estimate(analysis), theirs


def test_estimates_equal_nannyml_and_the_trees_are_the_same(by_size):
    fitted, ours, (estimator, theirs) = by_size
    for metric in estimator.metrics:
        theirs_model = metric._dee_model.booster_.model_to_string()
        assert _trees(fitted.models[metric.column_name]) == _trees(theirs_model)
    assert assert_matches_nannyml(ours, theirs) < 1e-12


def test_drift_raises_the_estimated_errors(by_size):
    _, ours, _ = by_size
    mae = ours.filter(period="analysis", metric="mae").estimates
    first, last = mae[0], mae[-1]
    assert last.estimated > first.estimated * 1.3
    assert last.realized > first.realized * 1.3
    assert last.alert and not first.alert


def test_missing_text_in_the_reference_is_a_category_of_its_own(data):
    reference, analysis = data
    holes = reference.with_columns(
        pl.when(pl.int_range(reference.height) % 50 == 0)
        .then(None)
        .otherwise(pl.col("segment"))
        .alias("segment")
    )
    ours = DLE(FEATURES, "y_pred", "y_true", chunker=SizeChunker(1_500), lightgbm_params=THREADS)
    fitted = ours.fit(holes)
    assert fitted.categories["segment"] == ["NML_missing_value", "a", "b", "c"]
    _, theirs = nannyml_dle(holes, analysis, FEATURES, ["mae", "rmse"], chunk_size=1_500)
    assert_matches_nannyml(fitted.estimate(analysis), theirs)


def test_labels_are_optional_when_estimating(by_size, data):
    fitted, ours, _ = by_size
    _, analysis = data
    unlabelled = fitted.estimate(analysis.drop("y_true"), include_reference=False)
    labelled = ours.filter(period="analysis")
    for a, b in zip(unlabelled, labelled, strict=True):
        assert a.estimated == b.estimated and a.sampling_error == b.sampling_error
        assert a.realized is None and a.realized_note == "no label column"


def test_fitted_dle_round_trips_through_bytes(by_size, data):
    fitted, ours, _ = by_size
    blob = fitted.to_bytes()
    assert fitted.to_bytes() == blob
    loaded = FittedDLE.from_bytes(blob)
    assert isinstance(load_fitted(blob), FittedDLE)
    assert loaded.estimate(data[1]) == ours  # boosters rebuilt from text predict the same
    assert "FittedDLE(" in repr(loaded)


def test_bad_configurations_and_inputs_are_clear_errors(data):
    reference, _ = data
    with pytest.raises(InputError, match="both a feature and a target"):
        DLE(["x1", "y_pred"], "y_pred", "y_true")
    with pytest.raises(InputError, match="unknown metric"):
        DLE(FEATURES, "y_pred", "y_true", metrics=["mape"])
    broken = reference.with_columns(pl.lit(None, dtype=pl.Float64).alias("y_pred"))
    with pytest.raises(InputError, match="'y_pred' has 6000 empty value"):
        DLE(FEATURES, "y_pred", "y_true").fit(broken)


@pytest.mark.slow
def test_estimates_equal_nannyml_on_day_chunks_at_60k_rows():
    reference, analysis = regression_data(60_000, 60_000, seed=8)
    ours = DLE(FEATURES, "y_pred", "y_true", lightgbm_params=THREADS)
    from workbench.monitoring import PeriodChunker

    fitted = DLE(
        FEATURES,
        "y_pred",
        "y_true",
        chunker=PeriodChunker("timestamp", "day"),
        lightgbm_params=THREADS,
    ).fit(reference)
    _, theirs = nannyml_dle(
        reference,
        analysis,
        FEATURES,
        list(ours.metrics or ()),
        chunk_period="D",
        timestamp_column_name="timestamp",
    )
    assert assert_matches_nannyml(fitted.estimate(analysis), theirs) < 1e-12
    assert np.isfinite([e.estimated for e in fitted.estimate(analysis)]).all()
