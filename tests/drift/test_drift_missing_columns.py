"""A current snapshot lacking reference columns fails the check: a broken feed must not pass CI.

Before, snapshots sharing no column reported "0/0 columns drifted ... no dataset drift" and
`--fail-on-drift` exited 0.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from tests.helpers import run_cli
from workbench.drift import Status, compute_drift


def _frame(n: int, seed: int, columns: list[str]) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    data = {
        "a": rng.normal(0, 1, n),
        "b": rng.normal(5, 2, n),
        "c": rng.normal(0, 1, n),
        "d": rng.choice(["x", "y", "z"], n),
        "y": rng.integers(0, 2, n),
        "t": [date(2025, 1, 1) + timedelta(days=i % 3) for i in range(n)],
    }
    return pl.DataFrame({k: data[k] for k in columns})


# -- engine ---------------------------------------------------------------------------------
def test_no_shared_column_is_a_failure_not_no_drift() -> None:
    ref, cur = _frame(300, 1, ["a", "b", "y"]), _frame(300, 2, ["c", "d"])
    rep = compute_drift(ref, cur, target="y")
    assert rep.n_tested == 0 and not rep.dataset_drifted
    assert rep.missing_columns == ["a", "b", "y"]
    assert rep.failed
    assert rep.failures == [
        "3 reference columns missing from the current data: a, b, y",
        "no column could be tested",
    ]
    assert "no dataset drift" not in rep.verdict and "FAILED" in str(rep)
    d = rep.to_dict()
    assert d["failed"] is True and d["missing_columns"] == ["a", "b", "y"]
    assert [c["status"] for c in d["columns"]] == ["new", "new", "missing", "missing"]
    assert d["target"]["status"] == Status.MISSING


def test_one_missing_feature_fails_even_without_drift() -> None:
    ref, cur = _frame(2000, 1, ["a", "b", "c"]), _frame(2000, 2, ["a", "c"])
    rep = compute_drift(ref, cur)
    assert rep.n_tested == 2 and rep.n_drifted == 0 and not rep.dataset_drifted
    assert rep.column("b").status == Status.MISSING
    assert rep.failures == ["1 reference column missing from the current data: b"]
    assert rep.verdict.startswith("0/2 columns drifted, share 0.00 < 0.5: no dataset drift; ")
    assert rep.verdict.endswith("FAILED: 1 reference column missing from the current data: b")


def test_nothing_tested_is_a_failure() -> None:
    text = pl.DataFrame({"note": [f"free text {i}" for i in range(50)]})
    rep = compute_drift(text, text)
    assert rep.n_tested == 0 and rep.missing_columns == []
    assert rep.failures == ["no column could be tested"]


def test_a_complete_current_does_not_fail() -> None:
    ref, cur = _frame(500, 1, ["a", "b", "d"]), _frame(500, 2, ["a", "b", "d", "c"])
    rep = compute_drift(ref, cur)
    assert rep.new_columns == ["c"] and not rep.failed and rep.failures == []


# -- workspace and the real CLI ---------------------------------------------------------------
@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """ref (a, b, d, target y, time t); same: all of them; short: no b; other: c (and t) only."""
    from workbench.api import Workspace

    root = tmp_path_factory.mktemp("drift-missing") / "ws"
    ws = Workspace.init(root)
    (root / "data").mkdir()
    shapes = {
        "ref": (1, ["a", "b", "d", "y", "t"]),
        "same": (2, ["a", "b", "d", "y", "t"]),
        "short": (3, ["a", "d", "y", "t"]),
        "other": (4, ["c", "t"]),
    }
    for name, (seed, cols) in shapes.items():
        path = root / "data" / f"{name}.csv"
        _frame(1500, seed, cols).write_csv(path)
        target = "y" if "y" in cols else None
        ws.add_snapshot(path, name, target=target, time_column="t")
    return Workspace(root)


def test_workspace_report_fails_and_reloads_failed(ws) -> None:
    rep = ws.drift("ref", "short")
    assert rep.failed and rep.missing_columns == ["b"]
    again = ws.drift_report(rep.id)
    assert again.failed and again.failures == rep.failures
    assert again.to_dict() == rep.to_dict()
    assert not ws.drift("ref", "same", save=False).failed
    batches = ws.drift_batches("ref", ["same", "other"])
    assert batches["flagged"].to_list() == [False, True]
    assert "no column could be tested" in batches["flags"][1]


def _cli(ws, *args: str):
    return run_cli("-w", str(ws.root), "drift", *args)


def test_cli_fails_on_no_shared_column(ws) -> None:
    res = _cli(ws, "ref", "other", "--fail-on-drift")
    assert res.returncode == 1, res.stderr
    assert res.stderr.strip() == (
        "error: 4 reference columns missing from the current data: a, b, d, y; "
        "no column could be tested"
    )
    assert "no dataset drift" not in res.stdout and "FAILED" in res.stdout
    rows = {line.split()[0]: line.split()[-1] for line in res.stdout.splitlines()[1:7]}
    assert rows["a"] == rows["b"] == rows["d"] == "missing" and rows["c"] == "new"
    assert "target drift: y: missing" in res.stdout

    js = _cli(ws, "ref", "other", "--json", "--fail-on-drift")
    assert js.returncode == 1 and len(js.stderr.strip().splitlines()) == 1
    data = json.loads(js.stdout)
    assert data["failed"] is True and data["missing_columns"] == ["a", "b", "d", "y"]
    assert data["n_tested"] == 0 and "no column could be tested" in data["failures"]

    # without --fail-on-drift the report says so and the command succeeds
    plain = _cli(ws, "ref", "other", "--no-save")
    assert plain.returncode == 0 and "FAILED" in plain.stdout


def test_cli_fails_on_one_missing_column(ws) -> None:
    res = _cli(ws, "ref", "short", "--json", "--fail-on-drift")
    assert res.returncode == 1
    assert res.stderr.strip() == "error: 1 reference column missing from the current data: b"
    data = json.loads(res.stdout)
    assert data["failed"] is True and data["missing_columns"] == ["b"]
    assert {c["column"]: c["status"] for c in data["columns"]}["b"] == "missing"

    ok = _cli(ws, "ref", "same", "--json", "--fail-on-drift")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["failed"] is False


def test_cli_windows_fail_on_missing_column(ws) -> None:
    res = _cli(ws, "ref", "short", "--by", "day", "--fail-on-drift")
    assert res.returncode == 1
    (line,) = res.stderr.strip().splitlines()  # a window may also have drifted: said first
    assert line.startswith("error: ")
    assert line.endswith(
        "3 of 3 day windows failed: 1 reference column missing from the current data: b"
    )
    assert "FAILED in 3 windows" in res.stdout
    js = _cli(ws, "ref", "same", "--by", "day", "--json", "--fail-on-drift")
    windows = json.loads(js.stdout)
    assert [w["failed"] for w in windows] == [False] * 3
    assert js.returncode == (1 if any(w["dataset_drifted"] for w in windows) else 0)
