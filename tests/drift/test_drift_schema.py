"""Schema drift and degenerate data are reported per column, never raised."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest

from workbench.drift import DriftOptions, Status, compute_drift


def _frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(0)
    ref = pl.DataFrame(
        {
            "a": rng.normal(0, 1, 400),
            "gone": rng.normal(0, 1, 400),
            "n": rng.integers(0, 100, 400),
            "s": rng.choice(["x", "y"], 400),
            "y": rng.integers(0, 2, 400),
            "p": rng.random(400),
        }
    )
    cur = pl.DataFrame(
        {
            "a": rng.normal(1, 1, 300),
            "n": rng.normal(50, 30, 300),  # Int64 -> Float64
            "s": rng.integers(0, 2, 300),  # String -> Int64: not comparable
            "added": rng.random(300),
            "y": rng.integers(0, 2, 300),
            "p": rng.random(300) + 0.5,
        }
    )
    return ref, cur


def test_schema_changes_are_reported() -> None:
    ref, cur = _frames()
    rep = compute_drift(ref, cur, target="y", prediction="p", numerical=["s"])
    assert rep.missing_columns == ["gone"]
    assert rep.new_columns == ["added"]
    n = rep.column("n")
    assert n.status == Status.OK and "dtype changed from Int64 to Float64" in n.message
    assert rep.column("s").status == Status.ERROR
    assert rep.column("a").drifted
    # target and prediction are tested but apart from the share
    assert rep.target is not None and rep.target.role == "target" and rep.target.tested
    assert rep.prediction is not None and rep.prediction.drifted
    assert {c.column for c in rep.columns} == {"a", "gone", "n", "s", "added"}
    assert rep.n_tested == 2  # a and n
    assert rep.share == rep.n_drifted / 2


def test_empty_current_is_an_error_per_column() -> None:
    ref, cur = _frames()
    rep = compute_drift(ref, cur.clear())
    assert rep.rows_cur == 0 and rep.n_tested == 0 and not rep.dataset_drifted
    statuses = {c.column: c.status for c in rep.columns}
    assert statuses["a"] == Status.ERROR and statuses["gone"] == Status.MISSING
    assert "no rows" in rep.column("a").message


def test_all_null_and_all_inf_columns() -> None:
    ref = pl.DataFrame({"a": [1.0, 2.0, 3.0] * 10, "b": [1.0, 2.0, 3.0] * 10})
    cur = pl.DataFrame({"a": [None] * 12, "b": [np.inf, -np.inf, np.nan] * 4}).cast(pl.Float64)
    rep = compute_drift(ref, cur)
    for name in ("a", "b"):
        col = rep.column(name)
        assert col.status == Status.ERROR and "no non-null values in the current" in col.message
        assert col.null_share_cur == 1.0


def test_nulls_and_inf_are_cleaned_and_reported() -> None:
    ref = pl.DataFrame({"a": [1.0, 2.0, None, np.inf, 5.0, 6.0, 7.0, 8.0]})
    cur = pl.DataFrame({"a": [1.0, 2.0, 3.0, -np.inf]})
    col = compute_drift(ref, cur).column("a")
    assert (col.n_ref, col.n_cur) == (6, 3)
    assert col.null_share_ref == pytest.approx(2 / 8) and col.null_share_cur == 0.25


def test_new_category_chisquare_no_warning() -> None:
    """Evidently: p = 0 with a divide-by-zero warning. We: p = 0, drift, named, silent."""
    ref = pl.DataFrame({"c": ["a", "b"] * 200})
    cur = pl.DataFrame({"c": ["a", "b"] * 140 + ["z", "q"] * 10})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        col = compute_drift(ref, cur, options=DriftOptions(method="chisquare")).column("c")
    assert col.method == "chisquare" and col.score == 0.0 and col.drifted
    assert col.new_categories == ["q", "z"]
    assert "values only in current: q, z" in col.message


def test_unusable_choices_become_errors() -> None:
    ref = pl.DataFrame({"c": ["a", "b", "c"] * 50, "x": np.arange(150, dtype=float)})
    cur = ref.clone()
    rep = compute_drift(ref, cur, options=DriftOptions(per_column_method={"c": "ks", "x": "nope"}))
    assert rep.column("c").status == Status.ERROR and "needs a numerical" in rep.column("c").message
    assert rep.column("x").status == Status.ERROR and "unknown method" in rep.column("x").message


def test_text_and_datetime_are_skipped() -> None:
    ref = pl.DataFrame(
        {
            "t": [f"free text {i}" for i in range(50)],
            "d": pl.date_range(pl.date(2024, 1, 1), pl.date(2024, 2, 19), eager=True),
        }
    )
    rep = compute_drift(ref, ref)
    assert rep.column("t").status == Status.SKIPPED and rep.column("t").column_type == "text"
    assert rep.column("d").status == Status.SKIPPED
    assert rep.n_tested == 0


def test_dataset_drift_share_rule() -> None:
    rng = np.random.default_rng(1)
    ref = pl.DataFrame({f"c{i}": rng.normal(0, 1, 2000) for i in range(4)})
    cur = pl.DataFrame({f"c{i}": rng.normal(1 if i < 2 else 0, 1, 2000) for i in range(4)})
    rep = compute_drift(ref, cur)
    assert rep.n_drifted == 2 and rep.share == 0.5 and rep.dataset_drifted  # share >= 0.5
    rep = compute_drift(ref, cur, options=DriftOptions(drift_share=0.6))
    assert not rep.dataset_drifted
