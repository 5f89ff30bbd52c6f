"""Records in a notebook: every result type the facade returns has ``to_polars()`` and a
readable, escaped ``_repr_html_``; lists come back as ``RecordList`` with a fixed schema."""

from __future__ import annotations

from datetime import datetime
from html.parser import HTMLParser

import polars as pl
import pytest

from workbench.api import RecordList
from workbench.display import SHOWN_ROWS, cell, frame

WHEN = datetime(2025, 7, 1, 9, 30)
EVIL = "<script>alert(1)</script>"


class _Tags(HTMLParser):
    """Collects the text and checks that tags nest (what a browser would render)."""

    VOID = {"br", "hr", "img", "meta", "input"}

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, (tag, self.open)
        self.open.pop()

    def handle_data(self, data):
        self.text.append(data)


def readable(html: str) -> str:
    """The text of ``html``, after checking its tags nest and no user text became a tag."""
    assert "<script>" not in html
    parser = _Tags()
    parser.feed(html)
    parser.close()
    assert parser.open == [], parser.open
    return " ".join(parser.text)


def _snapshot():
    from workbench.api import Snapshot

    profile = [
        {"name": "age", "dtype": "Int64", "kind": "numeric", "null_share": 0.0, "distinct": 40,
         "min": 18.0, "max": 70.0, "mean": 41.5, "std": 9.25},
        {"name": "plan", "dtype": "String", "kind": "categorical", "null_share": 0.1,
         "distinct": 3, "top_values": [("basic", 20)]},
        {"name": "charges", "dtype": "String", "kind": "categorical", "null_share": 0.0,
         "distinct": 39, "not_numbers": 2, "not_number_values": [" "]},
    ]  # fmt: skip
    return Snapshot(
        id=1, name="customers", version=2, parent_id=None, object_hash="ab" * 32,
        object_size=1, n_rows=40, n_columns=3, schema={}, profile_data=profile,
        target="churned", time_column=None, key_column="customer_id", source_path=None,
        source_hash=None, message=EVIL, author="ana", created_at=WHEN,
    )  # fmt: skip


def _run(run_id: int, auc: float, leaves: str):
    from workbench.api import RunRecord

    return RunRecord(
        id=run_id, created_at=WHEN, status="finished", snapshot_ref="customers@v2",
        snapshot_hash="ab" * 32, target="churned", task="binary", note=EVIL, duration_s=1.5,
        best_iteration=12, params={"num_leaves": leaves, "learning_rate": "0.05"},
        metrics={"auc": auc, "logloss": 0.4}, tags={"owner": "ana"},
    )  # fmt: skip


def _decision():
    from workbench.api import Decision, Evidence
    from workbench.registry.gates import GateResult

    evidence = Evidence(
        reason=EVIL, holdout="prod-2025-08 (3,000 rows)", primary_metric="auc",
        challenger="m@v2", champion="m@v1",
        metrics={"champion": {"auc": 0.8}, "challenger": {"auc": 0.82}},
        gates=[GateResult("metric: auc", True, "0.82 >= 0.80", {"delta": 0.02}),
               GateResult("contract", False, "2 checks failed", {"segments": [{"a": 1}]})],
    )  # fmt: skip
    return Decision(
        id=3, kind="promote", model_name="m", version=2, alias="champion", status="approved",
        reason=EVIL, gates_passed=False, evidence=evidence, proposed_by="bob",
        proposed_at=WHEN, decided_by="alice", decided_at=WHEN, comment=EVIL, override=True,
    )  # fmt: skip


def test_snapshot_shows_its_profile_and_lists_show_one_row_each():
    from workbench.api import Snapshot

    snap = _snapshot()
    profile = snap.to_polars()
    assert profile["column"].to_list() == ["age", "plan", "charges"]
    assert profile.filter(pl.col("column") == "age")["max"].item() == "70"
    assert "not numbers" in profile.filter(pl.col("column") == "charges")["note"].item()
    text = readable(snap._repr_html_())
    assert "customers@v2" in text and "40 rows × 3 columns" in text and EVIL in text
    listed = RecordList(Snapshot, [snap, snap])
    frame_ = listed.to_polars()
    assert frame_.height == 2 and frame_["ref"].to_list() == ["customers@v2"] * 2
    assert frame_.schema["created_at"] == pl.Datetime("us")
    assert "2 snapshots" in readable(listed._repr_html_())


def test_run_record_is_a_row_like_workspace_runs():
    run = _run(7, 0.81234, "31")
    row = run.to_polars()
    assert row.columns[:9] == ["id", "created_at", "status", "snapshot", "target", "task",
                               "duration_s", "best_iteration", "note"]  # fmt: skip
    assert row["auc"].item() == 0.81234 and row["num_leaves"].item() == 31
    assert row["learning_rate"].item() == 0.05 and row["tag.owner"].item() == "ana"
    text = readable(run._repr_html_())
    assert "run 7" in text and "0.8123" in text and "num_leaves" in text


def test_runs_of_a_sweep_share_one_frame():
    from workbench.api import RunRecord

    runs = RecordList(RunRecord, [_run(1, 0.8, "7"), _run(2, 0.9, "31")])
    out = runs.to_polars()
    assert out["id"].to_list() == [1, 2] and out["num_leaves"].to_list() == [7, 31]
    empty = RecordList(RunRecord).to_polars()
    assert empty.height == 0 and "note" in empty.columns


def test_comparison_shows_metrics_deltas_and_differing_params():
    from workbench.experiments.compare import compare

    cmp = compare([_run(1, 0.8, "7"), _run(2, 0.85, "31")], {})
    assert cmp.to_polars().equals(cmp.metrics_frame())
    text = readable(cmp._repr_html_())
    assert "+0.0500" in text and "num_leaves" in text and "Runs 1, 2" in text


def test_drift_report_lists_drifted_columns_first_with_the_verdict():
    from workbench.presentation import ColumnDrift, DriftReport

    cols = [
        ColumnDrift("age", "numerical", "ks", score=0.5, threshold=0.05, n_ref=10, n_cur=10),
        ColumnDrift("plan", "categorical", "jensenshannon", score=0.4, threshold=0.1,
                    drifted=True, new_categories=[EVIL]),
    ]  # fmt: skip
    report = DriftReport(cols, n_tested=2, n_drifted=1, share=0.5, dataset_drifted=True,
                         reference="a@v1", current="b@v1", rows_ref=10, rows_cur=10)  # fmt: skip
    html = report._repr_html_()
    text = readable(html)
    assert "1/2 columns drifted" in text and "DATASET DRIFT" in text
    assert html.index(">plan<") < html.index(">age<")  # drifted first
    assert report.to_polars().height == 2


def test_registry_records():
    from workbench.api import AliasMove, Decision, ModelVersion

    mv = ModelVersion(
        id=1, name="m", version=2, run_id=7, snapshot_ref="customers@v2", snapshot_hash=None,
        model_hash="cd" * 32, task="binary", target="churned", mlflow_version="2",
        intended_use=EVIL, author="ana", created_at=WHEN, aliases=["champion"],
    )  # fmt: skip
    assert mv.to_polars()["aliases"].item() == "champion"
    assert "holds champion" in readable(mv._repr_html_())
    moves = RecordList(AliasMove, [
        AliasMove(1, "m", "champion", None, 1, "move", "alice", EVIL, 1, WHEN),
        AliasMove(2, "m", "champion", 1, 2, "move", "alice", "better", 3, WHEN),
        AliasMove(3, "m", "champion", 2, 1, "rollback", "alice", "odd scores", None, WHEN),
    ])  # fmt: skip
    history = moves.to_polars()
    assert history["to_version"].to_list() == [1, 2, 1]
    assert history["decision_id"].to_list() == [1, 3, None]
    assert "3 alias moves" in readable(moves._repr_html_())
    d = _decision()
    assert d.to_polars()["override"].item() is True
    text = readable(d._repr_html_())
    assert "#3 promote m@v2 to champion" in text and "override" in text
    assert "gates failed" in text and "+0.0200" not in text and "0.02" in text
    assert d.evidence.gates_frame()["passed"].to_list() == [True, False]
    assert d.evidence.metrics_frame()["change"].item() == pytest.approx(0.02)
    assert RecordList(Decision).to_polars().columns[:3] == ["id", "kind", "title"]
    assert readable(RecordList(Decision)._repr_html_()) == "no decisions"


def test_lineage_tree_as_rows_and_nested_lists():
    from workbench.presentation import LineageNode

    tree = LineageNode("model", "m@v1", "aa" * 32, "registered by ana", [
        LineageNode("run", "run 1", "bb" * 32, None, [
            LineageNode("snapshot", "customers@v2", "cc" * 32, EVIL, [
                LineageNode("source", "/data/c.csv", "dd" * 32),
                LineageNode("snapshot", "customers@v1", "ee" * 32),
            ]),
        ]),
    ])  # fmt: skip
    rows = tree.to_polars()
    assert rows["label"].to_list() == ["m@v1", "run 1", "customers@v2", "/data/c.csv",
                                       "customers@v1"]  # fmt: skip
    assert rows["parent"].to_list() == [None, "m@v1", "run 1", "customers@v2", "customers@v2"]
    assert rows["depth"].to_list() == [0, 1, 2, 3, 3]
    text = readable(tree._repr_html_())
    assert "model m@v1" in text and "aaaaaaaaaaaa" in text and EVIL in text


def test_audit_entries_and_verdict():
    from workbench.api import AuditEntry, AuditVerdict

    entry = AuditEntry(5, WHEN, "alice", "alias.moved", "m@champion", {"to": 2}, "0" * 64,
                       "f" * 64, os_account="ana", state={"alias_moves/1": "x"})  # fmt: skip
    row = entry.to_polars()
    assert row["os_account"].item() == "ana" and row["rows_written"].item() == 1
    assert row["signed"].item() is False and row["details"].item() == '{"to": 2}'
    log = RecordList(AuditEntry, [entry] * (SHOWN_ROWS + 5))
    assert f"newest {SHOWN_ROWS} of {SHOWN_ROWS + 5} shown" in readable(log._repr_html_())
    intact = AuditVerdict([], entries=5)
    assert intact == [] and intact.ok and "intact (5 entries verified)" in intact.summary()
    broken = AuditVerdict([f"entry 3: {EVIL}"], entries=5)
    assert not broken.ok and broken.to_polars().height == 1
    assert "broken: 1 problem(s)" in readable(broken._repr_html_())


def test_verify_and_diff_of_a_real_workspace(ws, tmp_path):
    data = tmp_path / "d.csv"
    pl.DataFrame({"id": [1, 2, 3], "x": [1.0, 2.0, 3.0]}).write_csv(data)
    ws.add_snapshot(data, "d", key="id")
    pl.DataFrame({"id": [1, 2, 4], "x": [1.0, 2.5, 9.0]}).write_csv(data)
    ws.add_snapshot(data, "d")
    report = ws.verify()
    assert report.to_polars().height == 0
    assert "2 objects verified: intact" in readable(report._repr_html_())
    diff = ws.diff("d@v1", "d@v2")
    assert "x" in diff.to_polars()["column"].to_list()
    text = readable(diff._repr_html_())
    assert "1 added, 1 removed, 1 changed" in text
    verdict = ws.audit_verify()
    assert verdict.ok and verdict.entries == len(ws.audit_log()) == 2
    assert str(verdict.head) == str(ws.audit_anchor())
    assert ws.snapshots().to_polars()["ref"].to_list() == ["d@v2", "d@v1"]


def test_frame_and_cell_helpers():
    out = frame([{"a": 1, "extra": "x"}, {"a": None}], {"a": "Int64", "b": "String"})
    assert out.columns == ["a", "b", "extra"] and out.schema["b"] == pl.String
    assert frame([], {"a": "Int64"}).schema == pl.Schema({"a": pl.Int64})
    assert cell(0.812345) == "0.8123" and cell(15000) == "15,000" and cell(None) == "–"
    assert cell(1e-5) == "1e-05" and cell(True) == "yes" and cell(EVIL).startswith("&lt;")
