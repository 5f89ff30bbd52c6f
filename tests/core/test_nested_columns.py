"""Parquet files with nested, binary, decimal and duration columns are added, not crashed on.

The profile cast every non-numeric column to text for its top values, which Polars refuses
for List and Array columns (and duration, and Decimal's histogram): ``data add`` printed a
traceback after the object was written, leaving an orphan in objects/.
"""

from __future__ import annotations

import datetime as dt
import decimal

import polars as pl
import pytest

from tests.helpers import run_cli
from workbench.api import Workspace
from workbench.snapshots import importer


def _nested_parquet(path):
    pl.DataFrame(
        {
            "id": [1, 2, 3],
            "tags": [["a", "b"], ["c"], None],
            "pair": pl.Series([[1, 2], [3, 4], [5, 6]], dtype=pl.Array(pl.Int64, 2)),
            "address": [{"city": "Oslo", "zip": [1]}, {"city": "Rome", "zip": []}, None],
            "blob": [b"\xff\x00", b"ok", None],
            "amount": [decimal.Decimal("1.50"), decimal.Decimal("2.25"), None],
            "wait": [dt.timedelta(hours=1), dt.timedelta(days=2), None],
        }
    ).write_parquet(path)
    return path


def test_nested_columns_are_added_and_marked_not_summarised(tmp_path):
    proj = tmp_path / "proj"
    Workspace.init(proj)
    src = _nested_parquet(tmp_path / "nested.parquet")
    res = run_cli("data", "add", str(src), "--name", "nested", cwd=proj)
    assert res.returncode == 0, res.stderr
    assert "added nested@v1: 3 rows x 7 columns" in res.stdout
    snap = Workspace.open(proj).snapshot("nested")
    by_name = {p.name: p for p in snap.profile}
    for name in ("tags", "pair", "address", "blob"):
        assert by_name[name].kind == "other" and not by_name[name].summarised
        assert by_name[name].null_share == (0 if name == "pair" else pytest.approx(1 / 3))
    assert by_name["tags"].distinct == 2 and by_name["blob"].distinct == 2
    assert (by_name["amount"].min, by_name["amount"].max) == (1.5, 2.25)
    assert (by_name["wait"].min, by_name["wait"].max) == ("1h", "2d")
    shown = run_cli("data", "show", "nested", cwd=proj, env={"COLUMNS": "200"})
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.count("values not summarised") == 4
    contract = run_cli("data", "contract", "nested", cwd=proj)
    assert contract.returncode == 0 and "[columns.tags]" in contract.stdout
    checked = run_cli("data", "validate", str(src), "--against", "nested", cwd=proj)
    assert checked.returncode == 0, checked.stderr


def test_a_failing_profile_leaves_no_object(ws, tmp_path, monkeypatch):
    src = tmp_path / "d.csv"
    src.write_text("id,x\n1,2\n")

    def broken(df):
        raise RuntimeError("profile failed")

    monkeypatch.setattr(importer, "profile_frame", broken)
    with pytest.raises(RuntimeError, match="profile failed"):
        ws.add_snapshot(src, "d")
    assert list(ws.objects.digests()) == []
    assert list(ws.objects.tmp.iterdir()) == []
    assert ws.snapshots() == []
