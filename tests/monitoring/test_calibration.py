"""Isotonic regression equals scikit-learn's; the calibration decision, its splits and its
calibration errors equal NannyML's (which uses scikit-learn)."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from workbench.errors import InputError
from workbench.monitoring.calibration import (
    _ece_ties_shared,
    _expected_calibration_error,
    _sorted_ece,
    _tie_margin,
    decide_calibration,
)
from workbench.monitoring.calibration_splits import CalibrationSplits, _stratified_test_parts
from workbench.monitoring.isotonic import (
    fit_binary_distinct,
    fit_isotonic,
    isotonic_blocks,
    pool_adjacent_violators,
)


def _scores(n: int, seed: int, decimals: int | None = None, slope: float = 1.8):
    """Labels from a logistic model and an over-confident score (``slope`` > 1)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(np.float64)
    p = 1 / (1 + np.exp(-slope * z + 0.05 * rng.normal(size=n)))
    return y, p if decimals is None else np.round(p, decimals)


@pytest.mark.parametrize(
    "case",
    ["continuous", "ties", "near-duplicates", "one value", "two points", "real-valued targets"],
)
def test_isotonic_fit_and_prediction_equal_scikit_learn(case):
    from sklearn.isotonic import IsotonicRegression

    rng = np.random.default_rng(5)
    y, x = _scores(20_000, 1, decimals=3 if case == "ties" else None)
    if case == "near-duplicates":  # scores < 1e-15 apart count as one in scikit-learn
        x = np.concatenate([x, x[:3000] + 4e-16, x[:1000] + 8e-16])
        y = np.concatenate([y, 1 - y[:3000], y[:1000]])
    if case == "one value":
        x = np.full(len(y), 0.3)
    if case == "two points":
        x, y = np.array([0.2, 0.7]), np.array([1.0, 0.0])
    if case == "real-valued targets":
        y = np.sin(6 * x) + rng.normal(0, 0.3, len(x))
    theirs = IsotonicRegression(out_of_bounds="clip").fit(x, y)
    order = np.argsort(x, kind="stable")
    ours = fit_isotonic(x[order], y[order])
    # The step functions agree to rounding. Their knots may not: SciPy's PAV (which
    # scikit-learn calls) can leave two adjacent blocks of equal mean apart, one ulp from
    # each other, where we pool them.
    probe = np.concatenate([rng.uniform(-0.2, 1.2, 5000), x, ours.x, theirs.X_thresholds_])
    assert np.abs(ours.predict(probe) - theirs.predict(probe)).max() <= 1e-12


def test_pool_adjacent_violators_on_a_long_staircase():
    """A rising staircase with a drop at the end merges one step per round: the stack pass
    takes over, and the answer is still scikit-learn's."""
    from sklearn.isotonic import isotonic_regression

    values = np.arange(20_000, dtype=np.float64)
    values[-1] = -1.0
    weights = np.random.default_rng(0).integers(1, 4, len(values)).astype(np.float64)
    expected = isotonic_regression(values, sample_weight=weights)
    assert np.abs(pool_adjacent_violators(values, weights) - expected).max() <= 1e-9


@pytest.mark.parametrize("n", [25, 2_001, 30_000])
def test_test_parts_are_scikit_learns_stratified_shuffle_split(n):
    from sklearn.model_selection import StratifiedShuffleSplit

    y, p = _scores(n, 2)
    splitter = StratifiedShuffleSplit(n_splits=10, test_size=0.1, random_state=42)
    theirs = [test for _, test in splitter.split(p, y)]
    ours = list(_stratified_test_parts(y))
    assert len(ours) == 10
    for a, b in zip(ours, theirs, strict=True):
        assert np.array_equal(a, b)  # the same rows in the same order
    for process in (False, True):  # drawn on a thread, and in a forked child
        with CalibrationSplits(y, process=process) as splits:
            drawn = list(splits)
        assert len(drawn) == 10
        for a, b in zip(drawn, theirs, strict=True):
            assert np.array_equal(a, b)


@pytest.mark.parametrize(
    "n,decimals,slope",
    [(3_000, None, 1.8), (30_000, 3, 1.8), (30_000, None, 1.0), (20_000, 2, 1.0), (40, None, 1.8)],
)
def test_decision_and_calibration_errors_equal_nannyml(n, decimals, slope):
    from nannyml import calibration as nml_calibration
    from sklearn.model_selection import StratifiedShuffleSplit

    y, p = _scores(n, 3, decimals, slope)
    calibration = decide_calibration(y, p)
    expected = nml_calibration.needs_calibration(
        pd.Series(y), pd.Series(p), nml_calibration.IsotonicCalibrator()
    )
    assert calibration.applied == expected
    # The two errors NannyML compares, rebuilt from its own functions.
    tests, raw, calibrated = [], [], []
    for train, test in StratifiedShuffleSplit(10, test_size=0.1, random_state=42).split(p, y):
        calibrator = nml_calibration.IsotonicCalibrator()
        calibrator.fit(p[train], y[train])
        tests.append(y[test])
        raw.append(p[test])
        calibrated.append(calibrator.calibrate(p[test]))
    y_test = np.concatenate(tests)
    edges = nml_calibration._get_bin_index_edges(len(y_test), 10)
    ece = nml_calibration._calculate_expected_calibration_error
    assert calibration.ece_before == pytest.approx(
        ece(y_test, np.concatenate(raw), edges), abs=1e-15
    )
    theirs_after = ece(y_test, np.concatenate(calibrated), edges)
    # Ours shares each tie cut by a bin edge (NannyML's value depends on its sort's order of
    # the tie): as far from theirs as the ties at the edges allow, equal where they decide.
    margin = _tie_margin(np.sort(np.concatenate(calibrated)))
    assert abs(calibration.ece_after - theirs_after) <= margin
    # ... and theirs exactly unless ours is decisively apart from the error before.
    assert calibration.ece_after == pytest.approx(theirs_after, abs=1e-15) or (
        abs(calibration.ece_before - calibration.ece_after) > margin
    )
    if calibration.applied:
        final = nml_calibration.IsotonicCalibrator()
        final.fit(p, y)
        assert np.abs(calibration.apply(p) - final.calibrate(p)).max() <= 1e-12


def test_nearly_perfect_or_one_class_references_are_not_calibrated():
    y = np.array([0.0] * 50 + [1.0] * 50)
    p = np.linspace(0.01, 0.99, 100)
    decision = decide_calibration(y, p)
    assert not decision.applied and "above 0.999" in decision.reason
    assert np.array_equal(decision.apply(p), p)
    ones = np.ones(100)
    assert not decide_calibration(ones, p).applied


def test_a_class_with_one_row_cannot_be_split():
    y = np.zeros(100)
    y[7] = 1.0
    p = np.random.default_rng(0).random(100)
    with pytest.raises(InputError, match="single row"):
        decide_calibration(y, p)


def test_ece_needs_enough_rows():
    with pytest.raises(InputError, match="too few"):
        _expected_calibration_error(np.array([0.0, 1.0, 1.0]), np.array([0.1, 0.5, 0.7]))


def test_replayed_blocks_are_scipys_pava_to_the_bit():
    """Block by block, the replay gives SciPy's ``isotonic_regression`` exactly, including
    the ulp-apart neighbours that exact means would pool."""
    from scipy.optimize import isotonic_regression

    y, x = _scores(30_000, 4, slope=1.0)
    order = np.argsort(x, kind="stable")
    blocks = isotonic_blocks(x[order], y[order])
    replayed = blocks.scipy_values(np.arange(len(blocks.values)))
    assert np.array_equal(replayed, isotonic_regression(y[order]).x)
    exact = np.repeat(blocks.values, np.diff(blocks.bounds))
    assert np.abs(replayed - exact).max() <= 1e-15


def test_shared_tie_error_is_the_sorted_error_without_ties_and_near_any_order_with_them():
    rng = np.random.default_rng(5)
    distinct = rng.random(5_003)
    labels = (rng.random(5_003) < distinct).astype(np.float64)
    shared = _ece_ties_shared(np.sort(distinct), np.sort(distinct[labels == 1]))
    assert shared == _expected_calibration_error(labels, distinct)  # to the bit
    # Steps, as isotonic calibration makes: ties cut by bin edges.
    steps = np.round(distinct, 1)
    ascending = np.sort(steps)
    shared = _ece_ties_shared(ascending, np.sort(steps[labels == 1]))
    margin = _tie_margin(ascending)
    errors = []
    for seed in range(20):
        order = np.lexsort((np.random.default_rng(seed).random(len(steps)), steps))
        errors.append(_sorted_ece(labels[order], steps[order]))
    assert max(errors) > min(errors)  # the order of ties moves NannyML's measure...
    assert all(abs(e - shared) <= margin for e in errors)  # ...within the margin
    # One tie holding every row: each bin gets the overall share of positives.
    flat = np.full(1_000, 0.3)
    ones = np.zeros(1_000)
    ones[:250] = 1
    assert _ece_ties_shared(flat, flat[ones == 1]) == pytest.approx(0.05, abs=1e-12)


@pytest.mark.parametrize("n,positive_share", [(2, 0.5), (50, 0.0), (50, 1.0), (20_001, 0.3)])
def test_binary_fit_from_block_bounds_equals_the_general_fit(n, positive_share):
    """The calibration folds' shortcut (int8 labels, places skipped, the trimmed step read
    off the block bounds) gives the general fit's arrays exactly."""
    rng = np.random.default_rng(n)
    x = np.sort(rng.random(n))
    y = (rng.random(n) < np.clip(x + positive_share - 0.5, 0, 1)).astype(np.float64)
    whole = isotonic_blocks(x, y, distinct=True, binary=True).fit()
    assert fit_binary_distinct(x, y.astype(np.int8)) == whole
    if n > 10:
        skip = np.sort(rng.choice(n, n // 10, replace=False))
        keep = np.ones(n, dtype=bool)
        keep[skip] = False
        part = isotonic_blocks(x[keep], y[keep], distinct=True, binary=True).fit()
        assert fit_binary_distinct(x, y[keep].astype(np.int8), skip) == part


def test_closed_splits_end_a_reader_with_an_error_instead_of_hanging():
    import threading

    y = (np.random.default_rng(3).random(2_000_000) < 0.4).astype(np.float64)
    splits = CalibrationSplits(y)
    parts = iter(splits)
    assert len(next(parts)) == 200_000
    splits.close()
    ended: list[object] = []

    def read_rest() -> None:
        try:
            ended.append(sum(1 for _ in parts))  # the parts drawn before the close, if all
        except RuntimeError as exc:
            ended.append(exc)

    reader = threading.Thread(target=read_rest, daemon=True)
    reader.start()
    reader.join(timeout=60)
    assert ended, "the reader hung"
    assert isinstance(ended[0], RuntimeError) or ended[0] == 9  # an error, or every part


def _reaped(pid: int) -> bool:
    """Whether ``pid`` is gone, reaped by the splits (a zombie keeps its /proc entry)."""
    from pathlib import Path

    return not Path(f"/proc/{pid}").exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the fork is Linux-only")
def test_a_drawing_process_killed_midway_is_reaped_and_the_parts_still_come_right():
    """kill -9 of the child drawing the splits: the parts it had not reported are drawn
    in the parent instead (the same rows as on a thread), and the child is reaped."""
    import os
    import signal
    import time

    y = (np.random.default_rng(5).random(2_000_000) < 0.3).astype(np.float64)
    splits = CalibrationSplits(y, process=True)
    child = splits._child
    assert child is not None
    parts = iter(splits)
    drawn = [next(parts)]
    os.kill(child, signal.SIGKILL)
    drawn.extend(parts)
    with CalibrationSplits(y, process=False) as on_a_thread:
        expected = list(on_a_thread)
    assert len(drawn) == 10
    for a, b in zip(drawn, expected, strict=True):
        assert np.array_equal(a, b)
    deadline = time.monotonic() + 30
    while not _reaped(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _reaped(child)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the fork is Linux-only")
def test_closing_the_splits_stops_and_reaps_the_drawing_process():
    import time

    y = (np.random.default_rng(6).random(2_000_000) < 0.5).astype(np.float64)
    with CalibrationSplits(y, process=True) as splits:
        child = splits._child
        assert child is not None
    deadline = time.monotonic() + 30
    while not _reaped(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _reaped(child)


def test_a_refused_fork_draws_the_splits_on_a_thread(monkeypatch):
    """No process left to fork (EAGAIN): the splits are drawn on a thread, the same ones."""
    import errno

    from workbench.monitoring import calibration_splits

    def refused() -> int:
        raise OSError(errno.EAGAIN, "Resource temporarily unavailable")

    y, _ = _scores(30_000, 8)
    with CalibrationSplits(y, process=False) as on_a_thread:
        expected = list(on_a_thread)
    monkeypatch.setattr(calibration_splits.os, "fork", refused)
    with CalibrationSplits(y, process=True) as splits:
        assert splits._child is None
        drawn = list(splits)
    assert len(drawn) == 10
    for a, b in zip(drawn, expected, strict=True):
        assert np.array_equal(a, b)
