"""The drift facade (Workspace.drift & co.) and `workbench drift` through the real entry point."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.drift.workspace import build_drift_workspace
from tests.helpers import run_cli
from workbench.errors import InputError, NotFoundError


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return build_drift_workspace(tmp_path_factory.mktemp("drift-facade") / "ws")


@pytest.fixture
def ws(template, tmp_path):
    from workbench.api import Workspace

    root = tmp_path / "ws"
    shutil.copytree(template, root)
    return Workspace(root)


def test_report_is_stored_and_reloads_equal(ws):
    report = ws.drift("churn@v1", "prod-2025-10")
    assert report.id is not None and report.reference == "churn@v1"
    assert report.current == "prod-2025-10@v1"
    # target reported apart; key and time columns left out
    assert report.target is not None and report.target.column == "churn"
    names = [c.column for c in report.columns]
    assert "customer_id" not in names and "observed_at" not in names and "churn" not in names
    assert "payment_method" in report.drifted_columns
    assert report.column("payment_method").new_categories == ["Crypto wallet"]

    again = ws.drift_report(report.id)
    assert again.to_dict() == report.to_dict()
    assert ws.drift_report(str(report.id)).to_dict() == report.to_dict()

    frame = ws.drift_reports()
    assert frame["id"].to_list() == [report.id]
    row = frame.row(0, named=True)
    assert row["reference"] == "churn@v1" and row["n_drifted"] == report.n_drifted
    assert row["target_column"] == "churn"
    assert any(e.action == "drift.report" for e in ws.audit_log())
    with ws.store.read() as con:
        n = con.execute("select count(*) from drift_columns where report_id = ?", [report.id])
        assert n.fetchall()[0][0] == len(report.all_columns())


def test_reference_statistics_are_computed_once(ws, monkeypatch):
    from workbench.api import Workspace
    from workbench.drift import stats

    calls = []
    real = stats.compute_reference_stats
    monkeypatch.setattr(
        stats, "compute_reference_stats", lambda *a, **k: calls.append(a) or real(*a, **k)
    )
    first = ws.drift("churn@v1", "prod-2025-07", save=False)
    # a new Workspace object (a new process, as far as caches go) reads the stored stats
    fresh = Workspace(ws.root)
    for month in ("2025-08", "2025-09", "2025-10"):
        fresh.drift("churn@v1", f"prod-{month}", save=False)
    fresh.drift_batches("churn@v1")
    assert len(calls) == 1
    with ws.store.read() as con:
        rows = con.execute("select stats_hash from drift_reference_stats").fetchall()
    assert len(rows) == 1 and ws.objects.exists(rows[0][0])
    # and the numbers equal a direct engine run on the frames
    from workbench.drift import compute_drift

    direct = compute_drift(
        ws.scan("churn@v1"), ws.scan("prod-2025-07"), columns=[c.column for c in first.columns],
        target="churn",
    )  # fmt: skip
    assert direct.to_dict()["columns"] == first.to_dict()["columns"]


def test_stored_statistics_of_an_older_format_are_computed_again(ws):
    from workbench.api import Workspace

    first = ws.drift("churn@v1", "prod-2025-07", save=False)
    with ws.store.write() as con:
        (digest,) = con.execute("select stats_hash from drift_reference_stats").fetchall()[0]
        older = ws.objects.put_bytes(b"ARROW1\0\0" + b"\0" * 64)  # an Arrow IPC file's magic
        con.execute("update drift_reference_stats set stats_hash = ?", [older])
    again = Workspace(ws.root).drift("churn@v1", "prod-2025-07", save=False)
    assert again.to_dict()["columns"] == first.to_dict()["columns"]
    with ws.store.read() as con:
        rows = con.execute("select stats_hash from drift_reference_stats").fetchall()
    assert rows == [(digest,)]  # replaced by the same statistics in the current format


def test_windows_and_batches(ws):
    weeks = ws.drift_windows("churn@v1", "prod-2025-09", every="week")
    assert weeks.height >= 4 and {"window_start", "rows", "drift_share"} <= set(weeks.columns)
    assert weeks["rows"].sum() == ws.snapshot("prod-2025-09").n_rows
    assert "monthly_charges:drifted" in weeks.columns and "customer_id:score" not in weeks.columns
    assert ws.drift_windows("churn@v1", "prod-2025-09", every="auto").height == weeks.height

    batches = ws.drift_batches("churn@v1")
    assert batches["current"].to_list() == [f"prod-2025-{m:02d}@v1" for m in (7, 8, 9, 10)]
    flagged = batches.filter(batches["flagged"])
    assert flagged["current"].to_list() == ["prod-2025-09@v1"]
    assert "total_charges nulls" in flagged["flags"][0]
    top = batches.sort("top_severity", descending=True)
    assert top["current"][0] == "prod-2025-09@v1" and top["top_column"][0] == "monthly_charges"
    assert ws.drift_reports().is_empty()  # the batches view does not store reports by default


def test_bad_input(ws, tmp_path):
    with pytest.raises(NotFoundError):
        ws.drift("churn@v1", "nope@v3")
    with pytest.raises(InputError, match="no column 'bogus'"):
        ws.drift("churn@v1", "prod-2025-07", columns="tenure_months,bogus")
    with pytest.raises(InputError, match="unknown drift method"):
        ws.drift("churn@v1", "prod-2025-07", method="t-test")
    with pytest.raises(InputError):
        ws.drift("churn@v1", "prod-2025-07", threshold=-1)
    with pytest.raises(InputError, match="window size"):
        ws.drift_windows("churn@v1", "prod-2025-07", every="fortnight")
    with pytest.raises(InputError, match="is a folder"):
        ws.drift_html("churn@v1", "prod-2025-07", tmp_path)


def test_overrides_and_method(ws):
    rep = ws.drift(
        "churn@v1", "prod-2025-09", columns=["monthly_charges", "support_calls"],
        numerical=["support_calls"], method="psi", threshold=0.2, save=False,
    )  # fmt: skip
    assert [c.column for c in rep.columns] == ["monthly_charges", "support_calls"]
    assert rep.column("support_calls").column_type == "numerical"
    assert {c.method for c in rep.all_columns()} == {"psi"}
    assert {c.threshold for c in rep.all_columns()} == {0.2}


def test_tables_are_created_for_workspaces_that_skipped_version_4(ws):
    """A store made between two releases lacks migration 4 but has 5: opening applies it."""
    from workbench.store import Store

    with ws.store.write() as con:
        for table in ("drift_columns", "drift_reports", "drift_reference_stats"):
            con.execute(f"drop table {table}")
        con.execute("delete from schema_version where version = 4")
    Store._migrated.clear()
    assert ws.drift_reports().is_empty()
    assert ws.drift("churn@v1", "prod-2025-07").id is not None


def test_cli_methods_match_the_engine():
    import workbench.cli.main  # noqa: F401  (the CLI registers its groups on import)
    from workbench.cli.drift import METHOD_NAMES
    from workbench.drift import METHODS

    assert set(METHOD_NAMES) == set(METHODS)


def test_cli_process_does_not_import_scipy(ws):
    """`workbench drift` (first run computing the statistics, then a stored one, every
    default method) loads no SciPy: `import scipy.stats` alone cost 0.6-2.4 s per call."""
    import os
    import subprocess
    import sys

    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('SCIPY=' + ','.join(sorted(m for m in sys.modules "
        "if m.split('.')[0] == 'scipy')), file=sys.stderr))\n"
        "from workbench.cli.main import entry; entry()\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "WORKBENCH_WORKSPACE"}
    for args in (("churn@v1", "prod-2025-09", "--json"), ("churn@v1", "prod-2025-10"),
                 ("churn@v1", "prod-2025-09", "--method", "ks", "--no-save"),
                 ("churn@v1", "prod-2025-09", "--method", "chisquare", "--no-save")):  # fmt: skip
        res = subprocess.run(
            [sys.executable, "-c", code, "-w", str(ws.root), "drift", *args],
            capture_output=True, text=True, env=env, timeout=120,
        )  # fmt: skip
        assert res.returncode == 0, res.stderr
        assert res.stderr.strip().splitlines()[-1] == "SCIPY=", (args, res.stderr[-500:])


@pytest.mark.slow
def test_cli(ws):
    def cli(*args):
        return run_cli("-w", str(ws.root), "drift", *args)

    table = cli("churn@v1", "prod-2025-09")
    assert table.returncode == 0, table.stderr
    out = table.stdout
    assert "monthly_charges" in out and "DRIFT" in out and "target drift: churn" in out
    assert "2/11 columns drifted" in out and "data quality:" in out

    js = cli("churn@v1", "prod-2025-10", "--json", "--fail-on-drift")
    assert js.returncode == 0, js.stderr
    data = json.loads(js.stdout)
    assert data["n_drifted"] == 4 and data["dataset_drifted"] is False and data["id"]

    failing = cli("churn@v1", "prod-2025-10", "--threshold", "0.01", "--fail-on-drift", "--json")
    assert failing.returncode == 1
    assert json.loads(failing.stdout)["dataset_drifted"] is True
    assert failing.stderr.strip().splitlines()[-1].startswith("error: dataset drift")

    listed = cli("list", "--json")
    assert listed.returncode == 0, listed.stderr
    ids = [r["id"] for r in json.loads(listed.stdout)]
    assert len(ids) == 3 and ids[1] == data["id"]
    shown = cli("show", str(data["id"]), "--json")
    assert json.loads(shown.stdout)["columns"] == data["columns"]

    weeks = cli("churn@v1", "prod-2025-09", "--by", "week", "--json")
    assert weeks.returncode == 0 and len(json.loads(weeks.stdout)) >= 4

    for args in (("churn@v1", "nope"), ("churn@v1", "prod-2025-07", "--columns", "bogus"),
                 ("churn@v1", "prod-2025-07", "--method", "t"), ("show", "999")):  # fmt: skip
        bad = cli(*args)
        assert bad.returncode == 2, (args, bad.stdout, bad.stderr)
        assert len(bad.stderr.strip().splitlines()) == 1 and bad.stderr.startswith("error:")

    # notes (new categories, nulls) stay readable on an 80-column terminal: under the table
    for columns, inline in (("80", False), ("140", True)):
        shown = run_cli("-w", str(ws.root), "drift", "churn@v1", "prod-2025-10",
                        env={"COLUMNS": columns}).stdout  # fmt: skip
        assert max(len(line) for line in shown.splitlines()) <= int(columns)
        row = next(line for line in shown.splitlines() if line.startswith(" payment_method"))
        assert ("new: Crypto wallet" in row) is inline, shown
        assert ("\nnotes:\n  payment_method: new: Crypto wallet\n" in shown) is not inline
