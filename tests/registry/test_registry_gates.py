"""Gates with numbers on both sides of their limits (no workspace, no training)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from workbench.registry.evaluation import Scored, segment_table
from workbench.registry.gates import contract_gate, performance_gate, sanity_gate, segment_gate
from workbench.snapshots.contract import Violation


def test_performance_gate_tolerance_and_margin():
    champ = {"auc": 0.80}
    assert performance_gate("binary", {"auc": 0.795}, champ, tolerance=0.01).passed
    failed = performance_gate("binary", {"auc": 0.78}, champ, tolerance=0.01)
    assert not failed.passed and failed.numbers["delta"] == pytest.approx(-0.02)
    assert "worse than tolerance" in failed.summary
    assert not performance_gate("binary", {"auc": 0.805}, champ, 0.01, min_improvement=0.01).passed
    assert performance_gate("binary", {"auc": 0.815}, champ, 0.01, min_improvement=0.01).passed
    # rmse: lower is better, so a higher rmse is worse
    assert not performance_gate("regression", {"rmse": 1.2}, {"rmse": 1.0}, 0.1).passed
    assert performance_gate("regression", {"rmse": 0.9}, {"rmse": 1.0}, 0.0).passed
    first = performance_gate("binary", {"auc": 0.7}, None, 0.01)
    assert first.passed and "no champion" in first.summary


def _scored(y, p) -> Scored:
    return Scored("binary", np.asarray(y, float), np.asarray(p, float), {})


def test_segment_table_auc_matches_the_pooled_formula():
    from workbench.experiments.metrics import compute_metrics

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 400)
    p = np.clip(y * 0.3 + rng.random(400) * 0.7, 0, 1)
    seg = pl.Series(["a"] * 200 + ["b"] * 200)
    table = segment_table(seg, _scored(y, p))
    for value, lo in (("a", 0), ("b", 200)):
        row = table.filter(pl.col("segment") == value).row(0, named=True)
        expected = compute_metrics("binary", y[lo : lo + 200], p[lo : lo + 200])["auc"]
        assert row["metric"] == pytest.approx(expected)
        assert row["positive_rate"] == pytest.approx(float(np.mean(p[lo : lo + 200] >= 0.5)))


def test_segment_gate_gap_and_parity():
    # segment a: perfect ranking, all positive predictions; b: inverted ranking, none positive
    y = [0, 1] * 50 + [0, 1] * 50
    p = [0.6, 0.9] * 50 + [0.4, 0.1] * 50
    seg = pl.Series(["a"] * 100 + ["b"] * 100)
    table = segment_table(seg, _scored(y, p))
    result = segment_gate("gender", table, "auc", max_gap=0.1, max_parity=0.1, min_rows=30)
    assert not result.passed
    assert result.numbers["gap"] == pytest.approx(1.0)
    assert result.numbers["parity_difference"] == pytest.approx(1.0)
    assert "auc gap 1.000 > 0.1" in result.summary and "parity" in result.summary
    loose = segment_gate("gender", table, "auc", max_gap=1.0, max_parity=1.0, min_rows=30)
    assert loose.passed
    # small segments are left out, so the gap is not computed
    few = segment_gate("gender", table, "auc", max_gap=0.1, max_parity=0.1, min_rows=101)
    assert few.passed and "left out" in few.notes[0]
    # a named column the holdout lacks: said so in the result, with what to do
    absent = segment_gate("gender", None, "auc", 0.1, 0.1, 30)
    assert absent.passed and absent.summary == "not checked: the holdout has no column 'gender'"
    assert absent.numbers == {"column": "gender", "checked": False}
    assert "[gates] segment_columns" in absent.notes[0]


def test_sanity_gate():
    ok = sanity_gate(np.array([0.1, 0.5, 0.9]), latency_ms=50, max_latency_ms=100)
    assert ok.passed
    assert not sanity_gate(np.array([0.1, np.nan]), 50, 100).passed
    constant = sanity_gate(np.full(10, 0.3), 50, 100)
    assert not constant.passed and "constant" in constant.summary
    slow = sanity_gate(np.array([0.1, 0.9]), latency_ms=250, max_latency_ms=100)
    assert not slow.passed and slow.numbers["latency_ms_per_10k"] == 250


def test_contract_gate_ranges_are_notes_unless_enforced():
    high = Violation("monthly_charges", "max", "3 values above 120")
    nulls = Violation("total_charges", "nullable", "5 null values, expected none")
    assert contract_gate([high], "churn@v1", enforce_ranges=False).passed
    assert not contract_gate([high], "churn@v1", enforce_ranges=True).passed
    failed = contract_gate([high, nulls], "churn@v1", enforce_ranges=False)
    assert not failed.passed and failed.numbers["violations"] == 1
    none = contract_gate(None, None)
    assert none.passed and "no parent" in none.notes[0]
