"""Drift per time window against one reference."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from workbench.drift import (
    compute_drift,
    compute_reference_stats,
    drift_over_time,
    infer_column_types,
    window_reports,
)


@pytest.fixture(scope="module")
def data() -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(3)
    ref = pl.DataFrame({"x": rng.normal(0, 1, 3000), "c": rng.choice(["a", "b", "c"], 3000)})
    n = 90 * 40
    t0 = datetime(2024, 1, 1)
    ts = [t0 + timedelta(hours=24 * i / 40) for i in range(n)]
    month = np.array([t.month for t in ts])
    cur = pl.DataFrame(
        {
            "ts": ts,
            "x": rng.normal(np.where(month == 3, 1.0, 0.0), 1),
            "c": np.where(month == 3, "c", rng.choice(["a", "b", "c"], n)),
        }
    )
    return ref, cur


def test_monthly_table(data) -> None:
    ref, cur = data
    table = drift_over_time(ref, cur, "ts", "month")
    assert table.height == 3 and table["rows"].sum() == cur.height
    assert table["window_start"].to_list() == [datetime(2024, m, 1) for m in (1, 2, 3)]
    assert table["drift_share"].to_list() == [0.0, 0.0, 1.0]
    assert table["dataset_drifted"].to_list() == [False, False, True]
    assert {"x:score", "x:drifted", "c:score", "c:drifted"} <= set(table.columns)


def test_windows_equal_direct_runs_and_stored_stats(data) -> None:
    ref, cur = data
    stats = compute_reference_stats(ref)
    with_stats = drift_over_time(stats, cur, "ts", "week")
    assert with_stats.equals(drift_over_time(ref, cur, "ts", "week"))
    types = infer_column_types(cur.drop("ts"))
    for start, rows, rep in window_reports(stats, cur, "ts", "week"):
        part = cur.filter(pl.col("ts").dt.truncate("1w") == start).drop("ts")
        assert part.height == rows
        assert rep.to_dict() == compute_drift(ref, part, column_types=types).to_dict()


def test_daily_windows_count(data) -> None:
    ref, cur = data
    assert drift_over_time(ref, cur, "ts", "day").height == 90
