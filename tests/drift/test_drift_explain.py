"""What the UI needs: distributions, explanations, tables, JSON, Evidently's HTML."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import polars as pl
import pytest

from workbench.drift import (
    CATEGORICAL,
    column_distribution,
    compute_drift,
    evidently_html_report,
    explain,
)


def _frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(9)
    ref = pl.DataFrame({"x": rng.normal(0, 1, 1500), "c": rng.choice(["a", "b"], 1500)})
    cur = pl.DataFrame({"x": rng.normal(0.5, 1, 800), "c": rng.choice(["a", "b", "n"], 800)})
    return ref, cur


def test_numerical_distribution_on_shared_edges() -> None:
    ref, cur = _frames()
    d = column_distribution(ref, cur, "x")
    assert len(d.edges) == len(d.ref_counts) + 1 == len(d.cur_counts) + 1
    assert sum(d.ref_counts) == 1500 and sum(d.cur_counts) == 800
    assert abs(sum(d.cur_shares) - 1) < 1e-12


def test_categorical_distribution() -> None:
    ref, cur = _frames()
    d = column_distribution(ref, cur, "c", CATEGORICAL)
    assert set(d.categories) == {"a", "b", "n"} and d.edges is None
    assert d.ref_counts[d.categories.index("n")] == 0
    json.dumps(d.to_dict())


def test_explain_and_outputs() -> None:
    ref, cur = _frames()
    rep = compute_drift(ref, cur)
    line = explain(rep.column("x"))
    assert "Wasserstein distance (normed)" in line and ">= 0.1" in line and "drift" in line
    assert "never seen in the reference: ['n']" in explain(rep.column("c"))
    table = rep.to_polars()
    assert table.height == 2 and table["drifted"].to_list() == [True, True]
    json.dumps(rep.to_dict())
    assert "columns drifted" in str(rep) and "DriftReport(" in repr(rep)


@pytest.mark.slow  # imports Evidently (~4 s of CPU)
def test_evidently_html_report(tmp_path, no_evidently_widgets) -> None:
    ref, cur = _frames()
    out = evidently_html_report(ref.head(300), cur.head(300), tmp_path / "drift.html")
    assert out.stat().st_size > 10_000 and "<html" in out.read_text()[:2000].lower()


def test_core_imports_no_ui_or_evidently() -> None:
    code = (
        "import sys, workbench.drift\n"
        "bad = [m for m in ('textual', 'rich', 'click', 'evidently', 'pandas') if m in sys.modules]\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
