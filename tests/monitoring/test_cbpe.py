"""CBPE equals NannyML 0.13.1's on the same chunks: every estimate, sampling error, band,
realized value, threshold and alert (reference thresholds excepted: ours leave the chunk
out). Then the behaviour NannyML does not have: notes instead of NaN, warnings, bytes."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from tests.monitoring.conftest import (
    assert_matches_nannyml,
    nannyml_cbpe,
    nannyml_reference_realized,
)
from workbench.errors import InputError
from workbench.monitoring import (
    CBPE,
    ConstantThreshold,
    FittedCBPE,
    PeriodChunker,
    SizeChunker,
    binary_classification_data,
    load_fitted,
)

METRICS = ["roc_auc", "accuracy", "f1", "precision", "recall"]


@pytest.fixture(scope="module")
def data() -> tuple[pl.DataFrame, pl.DataFrame]:
    """12,000 reference and 12,000 analysis rows, two minutes apart (about 17 days each)."""
    return binary_classification_data(12_000, 12_000, seed=3, step=timedelta(minutes=2))


@pytest.fixture(scope="module")
def by_size(data):
    reference, analysis = data
    fitted = CBPE("y_pred_proba", "y_true", "y_pred", chunker=SizeChunker(1_500)).fit(reference)
    theirs = nannyml_cbpe(reference, analysis, METRICS, chunk_size=1_500)
    return fitted, fitted.estimate(analysis), theirs


def test_estimates_equal_nannyml_on_size_chunks(by_size):
    fitted, ours, (estimator, theirs) = by_size
    assert fitted.calibration.applied == estimator.needs_calibration
    assert fitted.calibration.applied  # the synthetic scores are over-confident
    worst = assert_matches_nannyml(ours, theirs)
    assert worst < 1e-12  # far inside the 1e-6 asked for


def test_estimates_equal_nannyml_on_day_chunks(data):
    reference, analysis = data
    chunker = PeriodChunker("timestamp", "day")
    ours = CBPE("y_pred_proba", "y_true", "y_pred", chunker=chunker).fit(reference)
    _, theirs = nannyml_cbpe(
        reference, analysis, METRICS, chunk_period="D", timestamp_column_name="timestamp"
    )
    result = ours.estimate(analysis)
    assert_matches_nannyml(result, theirs)
    first = result.estimates[0]
    assert first.chunk_key == "2024-01-01" and first.start_time is not None


def test_partial_labels_and_derived_predictions_equal_nannyml(data):
    """Analysis labels missing on a third of the rows and on all of one chunk; no y_pred
    column (ours derives it at 0.5, NannyML gets the same labels as a column)."""
    reference, analysis = data
    rng = np.random.default_rng(0)
    hide = (rng.random(analysis.height) < 0.3) | (np.arange(analysis.height) < 1_500)
    partial = analysis.with_columns(
        pl.when(pl.Series(hide)).then(None).otherwise(pl.col("y_true")).alias("y_true")
    )
    ours = CBPE("y_pred_proba", "y_true", chunker=SizeChunker(1_500)).fit(reference.drop("y_pred"))
    _, theirs = nannyml_cbpe(reference, partial, METRICS, chunk_size=1_500)
    result = ours.estimate(partial.drop("y_pred"), include_reference=False)
    reference_rows = theirs[theirs[("chunk", "period")] == "analysis"].reset_index(drop=True)
    assert_matches_nannyml(result, reference_rows)
    unlabelled = result.filter(metric="accuracy").estimates[0]
    assert unlabelled.realized is None and unlabelled.realized_note == "no labels in this chunk"
    assert unlabelled.estimated is not None


def test_reference_chunks_are_judged_against_the_other_reference_chunks(by_size):
    fitted, ours, (_, theirs) = by_size
    for metric in METRICS:
        realized = nannyml_reference_realized(theirs, metric)
        rows = ours.filter(period="reference", metric=metric).estimates
        assert len(rows) == len(realized) == 8
        for i, row in enumerate(rows):
            others = np.delete(realized, i)
            mean, std = np.nanmean(others), np.nanstd(others)
            assert row.lower_threshold == pytest.approx(max(0.0, mean - 3 * std), abs=1e-12)
            assert row.upper_threshold == pytest.approx(min(1.0, mean + 3 * std), abs=1e-12)
            alert = row.estimated < row.lower_threshold or row.estimated > row.upper_threshold
            assert row.alert == alert
        # Analysis chunks face thresholds from all reference chunks, as in NannyML.
        expected = theirs[(metric, "lower_threshold")].iloc[-1]
        assert fitted.thresholds[metric][0] == pytest.approx(expected, abs=1e-12)


def test_fewer_than_six_reference_chunks_warn(data):
    reference, analysis = data
    fitted = CBPE("y_pred_proba", "y_true", "y_pred", chunker=SizeChunker(3_000)).fit(reference)
    assert len(fitted.warnings) == 1 and "only 4 chunk(s)" in fitted.warnings[0]
    assert fitted.estimate(analysis).warnings == fitted.warnings
    enough = CBPE("y_pred_proba", "y_true", "y_pred", chunker=SizeChunker(2_000)).fit(reference)
    assert enough.warnings == ()


def test_one_class_chunks_tiny_chunks_and_equal_scores_equal_nannyml(data):
    """Analysis of 40 rows in chunks of 7 (the last of 5 rows): one chunk whose labels are
    all 1, one whose scores are all equal; reference of 1,400 rows in chunks of 7."""
    reference, analysis = data
    reference = reference.head(1_400)
    small = (
        analysis.head(40)
        .with_columns(
            pl.when(pl.int_range(40) < 7).then(1).otherwise(pl.col("y_true")).alias("y_true"),
            pl.when(pl.int_range(40).is_between(7, 13))
            .then(0.42)
            .otherwise(pl.col("y_pred_proba"))
            .alias("y_pred_proba"),
        )
        .with_columns((pl.col("y_pred_proba") >= 0.5).cast(pl.Int64).alias("y_pred"))
    )
    ours = CBPE("y_pred_proba", "y_true", "y_pred", chunker=SizeChunker(7)).fit(reference)
    _, theirs = nannyml_cbpe(reference, small, METRICS, chunk_size=7)
    result = ours.estimate(small)
    assert_matches_nannyml(result, theirs)
    first = result.filter(period="analysis", metric="roc_auc").estimates[0]
    assert first.realized is None
    assert first.realized_note == "the labels in this chunk hold one class"
    assert result.filter(period="analysis").estimates[-1].rows == 5


def test_a_reference_of_one_repeated_score_equals_nannyml():
    reference, analysis = binary_classification_data(3_000, 3_000, seed=9)
    flat = reference.with_columns(pl.lit(0.3).alias("y_pred_proba"), pl.lit(0).alias("y_pred"))
    ours = CBPE("y_pred_proba", "y_true", "y_pred", chunker=SizeChunker(500)).fit(flat)
    estimator, theirs = nannyml_cbpe(flat, analysis, METRICS, chunk_size=500)
    assert ours.calibration.applied == estimator.needs_calibration
    assert_matches_nannyml(ours.estimate(analysis), theirs)


@pytest.mark.parametrize("bad", [None, float("nan")])
def test_missing_probabilities_are_a_clear_error(data, bad):
    reference, analysis = data
    broken = analysis.with_columns(
        pl.when(pl.int_range(analysis.height) == 5)
        .then(bad)
        .otherwise(pl.col("y_pred_proba"))
        .alias("y_pred_proba")
    )
    fitted = CBPE("y_pred_proba", "y_true", "y_pred", chunker=SizeChunker(1_500)).fit(reference)
    with pytest.raises(InputError, match=r"'y_pred_proba' has 1 empty value"):
        fitted.estimate(broken)
    with pytest.raises(InputError, match=r"'y_pred_proba' has 1 empty value"):
        CBPE("y_pred_proba", "y_true", "y_pred").fit(broken)


def test_other_bad_inputs_are_clear_errors(data):
    reference, _ = data
    estimator = CBPE("y_pred_proba", "y_true", "y_pred", chunker=SizeChunker(1_500))
    with pytest.raises(InputError, match="outside \\[0, 1\\]"):
        estimator.fit(reference.with_columns(pl.col("y_pred_proba") * 2))
    with pytest.raises(InputError, match="other than 0 and 1"):
        estimator.fit(reference.with_columns(pl.col("y_true") + 1))
    with pytest.raises(InputError, match="hold one class"):
        estimator.fit(reference.with_columns(pl.lit(1).alias("y_true")))
    with pytest.raises(InputError, match="has no column 'score'"):
        CBPE("score", "y_true").fit(reference)
    with pytest.raises(InputError, match="unknown metric"):
        CBPE("y_pred_proba", "y_true", metrics=["auc"])


def test_fitted_estimators_round_trip_through_bytes(by_size, data):
    fitted, ours, _ = by_size
    _, analysis = data
    blob = fitted.to_bytes()
    again = CBPE("y_pred_proba", "y_true", "y_pred", chunker=SizeChunker(1_500)).fit(data[0])
    assert again.to_bytes() == blob  # deterministic: one fit, one content-addressed object
    loaded = FittedCBPE.from_bytes(blob)
    assert load_fitted(blob) == loaded
    assert loaded.estimate(analysis) == ours
    assert loaded.calibration.reason == fitted.calibration.reason


def test_constant_thresholds_and_result_views(by_size, data):
    reference, analysis = data
    fitted = CBPE(
        "y_pred_proba",
        "y_true",
        "y_pred",
        metrics=["roc_auc", "accuracy"],
        chunker=SizeChunker(1_500),
        thresholds={"accuracy": ConstantThreshold(lower=0.72)},
    ).fit(reference)
    result = fitted.estimate(analysis)
    assert all(e.lower_threshold == 0.72 for e in result.filter(metric="accuracy"))
    assert all(e.upper_threshold is None for e in result.filter(metric="accuracy"))
    frame = result.to_polars()
    assert frame.height == 2 * 16 and frame["metric"].unique().sort().to_list() == [
        "accuracy",
        "roc_auc",
    ]
    assert {e.chunk_key for e in result.alerts()} <= set(frame["chunk_key"])
    html = result._repr_html_()
    assert "<table>" in html and "roc_auc" in html and "ALERT" in html
    assert "alerts=" in repr(result) and "FittedCBPE(" in repr(fitted)


@pytest.mark.slow
def test_estimates_equal_nannyml_at_200k_rows():
    reference, analysis = binary_classification_data(200_000, 200_000, seed=21)
    ours = CBPE("y_pred_proba", "y_true", "y_pred", chunker=SizeChunker(20_000)).fit(reference)
    _, theirs = nannyml_cbpe(reference, analysis, METRICS, chunk_size=20_000)
    assert assert_matches_nannyml(ours.estimate(analysis), theirs) < 1e-12


def test_zoned_times_pandas_frames_and_another_chunker_for_new_data(data):
    reference, analysis = data
    zoned = [
        frame.with_columns(pl.col("timestamp").dt.replace_time_zone("Europe/Amsterdam"))
        for frame in (reference, analysis)
    ]
    days = CBPE("y_pred_proba", "y_true", "y_pred", chunker=PeriodChunker("timestamp", "day"))
    fitted = days.fit(zoned[0].to_pandas())
    frame = fitted.estimate(zoned[1].to_pandas()).to_polars()
    assert frame.schema["start_time"] == pl.Datetime("us", "Europe/Amsterdam")
    assert frame["start_time"][0].hour == 0  # midnight where the data was recorded
    weekly = fitted.estimate(zoned[1], chunker=PeriodChunker("timestamp", "week"))
    keys = {e.chunk_key for e in weekly.filter(period="analysis")}
    assert keys == {"2024-01-15/2024-01-21", "2024-01-22/2024-01-28", "2024-01-29/2024-02-04"}


@pytest.mark.parametrize("labels", ["none", "all", "some missing"])
def test_chunk_runs_from_one_sort_equal_masked_sorts(labels):
    """The runs read off one sort of group-tagged score bits are each group's sorted
    scores, edge values (0, -0.0, 1, ties) included."""
    from workbench.monitoring.binary_metrics import _sorted_runs

    rng = np.random.default_rng(11)
    n = 5_000
    proba = np.round(rng.random(n), 2)  # ties
    proba[:4] = [0.0, -0.0, 1.0, 1.0]
    y_pred = (rng.random(n) < 0.4).astype(np.float64)
    y_true = None if labels == "none" else (rng.random(n) < 0.3).astype(np.float64)
    if labels == "some missing":
        y_true[rng.random(n) < 0.2] = np.nan
    starts, stops = np.array([0, 1_000, 4_000]), np.array([1_000, 4_000, 5_000])
    runs = _sorted_runs(proba, y_pred, y_true, starts, stops, threads=False)
    for (a, b), chunk in zip(zip(starts, stops, strict=True), runs, strict=True):
        said = y_pred[a:b] == 1
        groups = [np.ones(b - a, dtype=bool)]
        if y_true is not None:
            truth = y_true[a:b]
            groups = [truth == 1, truth == 0, np.isnan(truth)]
        assert len(chunk) == len(groups)
        for pair, group in zip(chunk, groups, strict=True):
            for run, mask in zip(pair, [said & group, ~said & group], strict=True):
                expected = np.sort(proba[a:b][mask])
                assert np.array_equal(run, expected)  # -0.0 may come back as 0.0


@pytest.mark.parametrize("decimals", [None, 2])
def test_realized_auc_from_ascending_runs_equals_scikit_learn(decimals):
    from sklearn.metrics import roc_auc_score

    from workbench.monitoring.binary_metrics import _mann_whitney_auc

    rng = np.random.default_rng(12)
    scores = rng.random(20_000)
    if decimals is not None:
        scores = np.round(scores, decimals)  # ties, within and across the classes
    labels = rng.random(len(scores)) < scores
    said = rng.random(len(scores)) < 0.5
    positives = [np.sort(scores[labels & said]), np.sort(scores[labels & ~said])]
    negatives = [np.sort(scores[~labels & said]), np.sort(scores[~labels & ~said])]
    ours = _mann_whitney_auc(positives, negatives)
    assert abs(ours - roc_auc_score(labels, scores)) <= 1e-12


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("decimals", [None, 3])
def test_references_mostly_positive_or_negative_equal_nannyml(data, flip, decimals):
    """NannyML's ROC AUC sampling error works on the rarer class: with most labels 1 it
    flips labels and scores (the ascending order of the flipped scores, ties or not)."""

    def prepared(frame: pl.DataFrame) -> pl.DataFrame:
        score, label = pl.col("y_pred_proba"), pl.col("y_true")
        if flip:
            score, label = 1 - score, 1 - label
        if decimals is not None:
            score = score.round(decimals)
        return frame.with_columns(y_true=label, y_pred_proba=score).with_columns(
            y_pred=(pl.col("y_pred_proba") >= 0.5).cast(pl.Int64)
        )

    reference, analysis = (prepared(frame) for frame in data)
    assert (reference["y_true"].mean() > 0.5) != flip  # the synthetic data: 51% positive
    ours = CBPE("y_pred_proba", "y_true", "y_pred", metrics=METRICS, chunker=SizeChunker(2_000))
    result = ours.fit(reference).estimate(analysis)
    _, theirs = nannyml_cbpe(reference, analysis, METRICS, chunk_size=2_000)
    assert_matches_nannyml(result, theirs)


def test_a_reference_not_calibrated_equals_nannyml(data):
    """A model separating the reference's classes is not calibrated (NannyML's rule for a
    ROC AUC above 0.999): the reference is judged on its uncalibrated scores."""
    reference, analysis = data
    rng = np.random.default_rng(4)
    separated = reference.with_columns(
        y_pred_proba=0.1 + 0.8 * pl.col("y_true") + pl.Series(rng.uniform(0, 0.05, 12_000))
    ).with_columns(y_pred=(pl.col("y_pred_proba") >= 0.5).cast(pl.Int64))
    ours = CBPE("y_pred_proba", "y_true", "y_pred", chunker=SizeChunker(2_000)).fit(separated)
    estimator, theirs = nannyml_cbpe(separated, analysis, METRICS, chunk_size=2_000)
    assert not ours.calibration.applied
    assert not estimator.needs_calibration
    assert_matches_nannyml(ours.estimate(analysis), theirs)
