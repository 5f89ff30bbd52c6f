"""Our scores equal Evidently 0.7's (rtol 1e-9) with identical drift flags and methods."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tests.drift.conftest import CATEG_COLS, NUMERIC_COLS, make_frame
from workbench.drift import (
    CATEGORICAL,
    NUMERICAL,
    DriftOptions,
    column_drift,
    compute_drift,
    compute_reference_stats,
)

# Evidently as the oracle: importing it and running its reports costs ~10 s of CPU.
pytestmark = pytest.mark.slow

RTOL = 1e-9
NUM_METHODS = ["ks", "wasserstein", "psi", "kl_div", "jensenshannon", "hellinger"]
CAT_METHODS = ["chisquare", "z", "psi", "kl_div", "jensenshannon", "hellinger"]
# (reference rows, current rows): Evidently's two default paths (<= 1000 and > 1000).
SIZES = {"small": (600, 500), "large": (3000, 2500)}


def _assert_same(ours, theirs, label: str) -> None:
    score, drifted, method = theirs
    assert ours.status == "ok", f"{label}: {ours.status} {ours.message}"
    assert ours.method == method, label
    assert ours.score == pytest.approx(score, rel=RTOL, abs=1e-300), label
    assert ours.drifted == drifted, label


@pytest.fixture(scope="module", params=list(SIZES))
def frames(request) -> tuple[pl.DataFrame, pl.DataFrame]:
    n_ref, n_cur = SIZES[request.param]
    return make_frame(n_ref, seed=1), make_frame(n_cur, seed=2, shift=0.25)


def test_default_preset_matches(frames, evidently_preset) -> None:
    """Types inferred, default methods, scores, flags and the drifted share all agree."""
    ref, cur = frames
    theirs = evidently_preset(ref, cur)
    report = compute_drift(ref, cur)
    assert {c.column for c in report.columns} == set(theirs["columns"])
    for col in report.columns:
        _assert_same(col, theirs["columns"][col.column], col.column)
    assert report.n_drifted == theirs["count"]
    assert report.share == pytest.approx(theirs["share"], rel=RTOL)


def test_forced_methods_match(frames, evidently_oracle) -> None:
    """Every method on every column kind it applies to."""
    ref, cur = frames
    pairs = [(c, m) for c in NUMERIC_COLS for m in NUM_METHODS]
    pairs += [(c, m) for c in CATEG_COLS for m in CAT_METHODS]
    theirs = evidently_oracle(ref, cur, pairs, numerical=NUMERIC_COLS, categorical=CATEG_COLS)
    ref_stats, cur_stats = compute_reference_stats(ref), compute_reference_stats(cur)
    for col, method in pairs:
        ctype = NUMERICAL if col in NUMERIC_COLS else CATEGORICAL
        ours = column_drift(ref_stats[col], cur_stats[col], ctype, DriftOptions(method=method))
        _assert_same(ours, theirs[(col, method)], f"{col}/{method}")


def test_tiny_samples_match(evidently_oracle) -> None:
    """A handful of rows per side (exact KS with ties, tiny bins)."""
    ref = pl.DataFrame({"x": [1.0, 2.0, 2.0, 3.5, 7.0, 7.0, 9.0], "c": list("aabbbca")})
    cur = pl.DataFrame({"x": [2.0, 2.0, 3.0, 8.0, 10.0], "c": list("abccd")})
    pairs = [("x", m) for m in NUM_METHODS] + [("c", m) for m in CAT_METHODS]
    theirs = evidently_oracle(ref, cur, pairs, numerical=["x"], categorical=["c"])
    rs, cs = compute_reference_stats(ref), compute_reference_stats(cur)
    for col, method in pairs:
        ctype = NUMERICAL if col == "x" else CATEGORICAL
        ours = column_drift(rs[col], cs[col], ctype, DriftOptions(method=method))
        _assert_same(ours, theirs[(col, method)], f"{col}/{method}")


def test_threshold_precedence_matches(evidently_preset) -> None:
    """per column > per type > global > method default, as DataDriftPreset resolves it."""
    ref, cur = make_frame(1500, seed=3), make_frame(1200, seed=4, shift=0.1)
    kwargs = {
        "threshold": 0.3,
        "num_threshold": 0.05,
        "per_column_threshold": {"normal": 0.01, "letters": 0.02},
    }
    theirs = evidently_preset(ref, cur, **kwargs)
    opts = DriftOptions(
        threshold=0.3, num_threshold=0.05, per_column_threshold=kwargs["per_column_threshold"]
    )
    report = compute_drift(ref, cur, options=opts)
    for col in report.columns:
        _assert_same(col, theirs["columns"][col.column], col.column)
    assert report.column("normal").threshold == 0.01
    assert report.column("skewed").threshold == 0.05
    assert report.column("flag").threshold == 0.3


TELCO = (
    Path(__file__).resolve().parents[2] / "../shared/datasets/telco_churn/Telco-Customer-Churn.csv"
)


@pytest.mark.skipif(not TELCO.exists(), reason="telco churn dataset not available")
def test_telco_churn_matches(evidently_preset) -> None:
    """A real table: split by tenure so that the halves differ."""
    df = pl.read_csv(TELCO, infer_schema_length=10_000)
    df = df.with_columns(pl.col("TotalCharges").cast(pl.Float64, strict=False))
    df = df.drop("customerID")
    ref, cur = df.filter(pl.col("tenure") < 30), df.filter(pl.col("tenure") >= 30)
    theirs = evidently_preset(ref, cur)
    report = compute_drift(ref, cur)
    tested = {c.column: c for c in report.columns if c.tested}
    assert set(tested) == set(theirs["columns"])
    for name, col in tested.items():
        _assert_same(col, theirs["columns"][name], name)
    assert report.share == pytest.approx(theirs["share"], rel=RTOL)


def test_large_ks_and_wasserstein_match_scipy() -> None:
    """Past scipy's exact limit (10 000 rows) KS uses the asymptotic path; ties included."""
    from scipy import stats

    rng = np.random.default_rng(7)
    a = np.round(rng.normal(0, 1, 30_000), 2)
    b = np.round(rng.normal(0.02, 1.1, 25_000), 2)
    rs = compute_reference_stats(pl.DataFrame({"x": a}))["x"]
    cs = compute_reference_stats(pl.DataFrame({"x": b}))["x"]
    ks = column_drift(rs, cs, NUMERICAL, DriftOptions(method="ks"))
    assert ks.score == pytest.approx(stats.ks_2samp(a, b)[1], rel=RTOL)
    wd = column_drift(rs, cs, NUMERICAL, DriftOptions(method="wasserstein"))
    expected = stats.wasserstein_distance(a, b) / max(np.std(a), 0.001)
    assert wd.score == pytest.approx(expected, rel=RTOL)
