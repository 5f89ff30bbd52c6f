"""The experiments facade on a real workspace: train, rerun, sweeps, failures, queries, compare."""

from __future__ import annotations

import os

import polars as pl
import pytest

from tests.experiments.conftest import FAST
from workbench.errors import Cancelled, InputError, NotFoundError
from workbench.progress import CallbackProgress


def _objects(ws) -> set[str]:
    return set(ws.objects.digests())


def test_train_records_everything(demo_ws):
    ws = demo_ws
    seen = []
    rec = ws.train(
        "churn@v1",
        params=FAST,
        note="baseline",
        mlflow=False,
        on_iteration=lambda i, tr, va: seen.append(i),
    )
    assert rec.status == "finished" and rec.reason is None and rec.note == "baseline"
    assert rec.snapshot_ref == "churn@v1" and rec.snapshot_hash == ws.snapshot("churn").object_hash
    assert rec.target == "churn" and rec.task == "binary" and rec.author == ws.actor
    # the key is not a feature; the time column is dropped; text target mapping recorded
    assert "customer_id" not in rec.model_meta["features"]
    assert "observed_at" not in rec.model_meta["features"]
    assert rec.model_meta["classes"] == ["No", "Yes"]
    assert set(rec.metrics) == {"auc", "logloss", "accuracy", "f1", "precision", "recall"}
    assert rec.params["num_iterations"] == "60" and rec.spec["params"] == FAST
    assert rec.split["n_test"] == 400 and rec.seed == 42
    assert rec.environment["pid"] == str(os.getpid()) and "lightgbm" in rec.environment
    assert seen == list(range(1, len(seen) + 1)) and rec.best_iteration <= len(seen)
    assert {rec.model_hash, rec.curves_hash} <= _objects(ws)
    # gc keeps run objects (they live in *_hash columns)
    assert ws.gc() == [] and {rec.model_hash, rec.curves_hash} <= _objects(ws)
    # the model scores the recorded holdout exactly as training evaluated it
    holdout = ws.run_holdout(rec.id)
    assert holdout.height == 400
    scores = ws.run_model(rec.id).predict(holdout)
    assert scores.shape == (400,) and scores.min() >= 0 and scores.max() <= 1
    curves = ws.curves_frame(rec.id)
    assert set(curves["dataset"].unique()) == {"train", "valid"}
    assert ws.load_curves(f"run {rec.id}")["best_iteration"] == rec.best_iteration
    actions = [e.action for e in ws.audit_log() if e.subject == f"run {rec.id}"]
    assert actions == ["run.started", "run.finished"]
    assert ws.audit_verify() == []
    # a soft-deleted run's objects are reclaimed by gc; verify stays clean
    ws.delete_run(rec.id)
    assert set(ws.gc()) == {rec.model_hash, rec.curves_hash}
    assert ws.verify().ok


def test_rerun_reproduces_metrics_exactly(demo_ws):
    ws = demo_ws
    first = ws.train("churn", params={**FAST, "num_leaves": 15}, split="time", mlflow=False)
    again = ws.rerun(first.id, mlflow=False)
    assert again.id != first.id and again.note == f"rerun of run {first.id}"
    assert again.metrics == first.metrics
    assert again.split == first.split and again.split["kind"] == "time"
    assert again.model_hash == first.model_hash  # byte-identical model text


@pytest.mark.slow
def test_grid_in_separate_processes(demo_ws):
    ws = demo_ws
    ticks = []
    progress = CallbackProgress(on_advance=ticks.append)
    grid = {"learning_rate": [0.1, 0.3], "num_leaves": [15]}
    records = ws.train_grid("churn@v1", grid, jobs=2, params=FAST, mlflow=False, progress=progress)
    assert len(records) == 2 and len(ticks) == 2
    assert [(r.params["num_leaves"], r.params["learning_rate"]) for r in records] == [
        ("15", "0.1"), ("15", "0.3"),
    ]  # fmt: skip
    assert [r.params["num_threads"] for r in records] == ["2", "2"]  # FAST sets it
    assert all(r.status == "finished" for r in records)
    pids = {r.environment["pid"] for r in records}
    assert str(os.getpid()) not in pids
    frame = ws.runs(where="num_leaves = 15", sort="-learning_rate")
    assert frame["learning_rate"].to_list() == [0.3, 0.1]
    assert frame["num_leaves"].dtype == pl.Int64


def test_grid_goes_on_after_a_failed_combination(demo_ws):
    records = demo_ws.train_grid(
        "churn", {"num_leaves": [1, 7]}, params={**FAST, "num_iterations": 5}, mlflow=False
    )
    assert [r.status for r in records] == ["failed", "finished"]
    assert "num_leaves must be > 1" in records[0].reason


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"params": {"num_leaves": 1}}, "num_leaves must be > 1"),
        ({"params": {"nmu_leaves": 3}}, "unknown LightGBM parameter"),
        ({"params": {"objective": "regression"}}, "objective 'regression' does not fit the task"),
        ({"params": {"objective": "lambdarank"}}, "objective 'lambdarank' does not fit the task"),
        ({"target": "region", "task": "binary"}, "binary needs 2"),
        ({"target": "contract", "task": "regression"}, "regression needs a numeric target"),
    ],
)
def test_failures_are_recorded_with_reason_and_nothing_half_written(demo_ws, kwargs, message):
    ws = demo_ws
    before = _objects(ws)
    with pytest.raises(InputError, match=message) as info:
        ws.train("churn@v1", **{"params": FAST, "mlflow": False, **kwargs})
    rec = ws.run(info.value.run_id)
    assert rec.status == "failed" and message.split("'")[0] in rec.reason
    assert rec.model_hash is None and rec.curves_hash is None and rec.metrics == {}
    assert _objects(ws) == before
    assert ws.runs("status = failed")["id"].to_list() == [rec.id]


def test_objectives_that_fit_the_task_train(demo_ws):
    """cross_entropy fits a Yes/No target (its parameter check used labels 1 and 2 before)."""
    rec = demo_ws.train("churn@v1", params={**FAST, "objective": "xentropy"}, mlflow=False)
    assert rec.status == "finished" and 0.5 < rec.metrics["auc"] <= 1
    assert rec.params["objective"] == "xentropy"


def test_one_class_and_null_target_fail(demo_ws, tmp_path):
    ws = demo_ws
    df = ws.load("churn")
    one = tmp_path / "one.csv"
    df.with_columns(churn=pl.lit("No")).write_csv(one)
    ws.add_snapshot(one, "one", target="churn", key="customer_id", time_column="observed_at")
    nulls = tmp_path / "nulls.csv"
    df.with_columns(
        churn=pl.when(pl.col("tenure_months") < 3).then(None).otherwise(pl.col("churn"))
    ).write_csv(nulls)
    ws.add_snapshot(nulls, "nulls", target="churn", key="customer_id", time_column="observed_at")
    for ref, message in (("one", "only one class"), ("nulls", "null value")):
        with pytest.raises(InputError, match=message) as info:
            ws.train(ref, params=FAST, mlflow=False)
        assert ws.run(info.value.run_id).status == "failed"


def test_cancel_is_recorded(demo_ws):
    ws = demo_ws
    calls = []

    def stop_soon() -> bool:
        calls.append(1)
        return len(calls) > 5

    before = _objects(ws)
    with pytest.raises(Cancelled) as info:
        ws.train("churn", params=FAST, mlflow=False, progress=CallbackProgress(cancel=stop_soon))
    rec = ws.run(info.value.run_id)
    assert rec.status == "cancelled" and rec.reason == "cancelled by the user"
    assert rec.model_hash is None and _objects(ws) == before
    assert ws.audit_log()[-1].details == {"status": "cancelled", "reason": rec.reason}


def test_runs_that_never_finish_show_the_parameters_they_asked_for(demo_ws):
    """Recorded at start, as MLflow logs params first: defaults, seed, the user's values
    under LightGBM's main names; the effective ones replace them when a run finishes."""
    ws = demo_ws
    asked = {**FAST, "n_estimators": 7, "eta": 0.2, "nmu_leaves": 3}  # aliases and a typo
    with pytest.raises(InputError, match="unknown LightGBM parameter") as info:
        ws.train("churn@v1", task="binary", seed=5, params=asked, mlflow=False)
    failed = ws.run(info.value.run_id)
    assert failed.status == "failed"
    assert failed.params["num_iterations"] == "7" and failed.params["learning_rate"] == "0.2"
    assert failed.params["num_leaves"] == "31" and failed.params["seed"] == "5"
    assert failed.params["objective"] == "binary"
    assert "nmu_leaves" not in failed.params and "n_estimators" not in failed.params
    listed = ws.runs("status = failed and num_iterations = 7")
    assert listed["id"].to_list() == [failed.id]

    calls = []
    with pytest.raises(Cancelled) as info:
        ws.train("churn", params={**FAST, "num_leaves": 9}, mlflow=False,
                 progress=CallbackProgress(cancel=lambda: calls.append(1) or len(calls) > 5))  # fmt: skip
    cancelled = ws.run(info.value.run_id)
    assert cancelled.status == "cancelled" and cancelled.params["num_leaves"] == "9"
    assert "objective" not in cancelled.params  # task auto: not known before the data is read

    done = ws.train("churn@v1", params={**FAST, "eta": 0.2}, mlflow=False)
    assert done.params["learning_rate"] == "0.2" and done.params["objective"] == "binary"

    # values LightGBM refuses, asked for by runs that then fail, do not make the columns text
    for bad in ({"num_leaves": "many"}, {"num_iterations": 2.5}):
        with pytest.raises(InputError):
            ws.train("churn@v1", params={**FAST, **bad}, mlflow=False)
    frame = ws.runs()
    assert frame["num_leaves"].dtype == pl.Int64 and frame["num_iterations"].dtype == pl.Int64


def test_usage_errors_record_no_run(demo_ws, tmp_path):
    ws = demo_ws
    with pytest.raises(NotFoundError):
        ws.train("nosuch", mlflow=False)
    with pytest.raises(InputError, match="empty"):
        ws.train_grid("churn", {}, mlflow=False)
    with pytest.raises(InputError, match="not a run id"):
        ws.run("abc")
    with pytest.raises(NotFoundError):
        ws.run(999)
    with pytest.raises(InputError, match="time column 'nope' is not a column of churn@v1"):
        ws.train("churn@v1", split="time", time_column="nope", mlflow=False)
    untimed = tmp_path / "untimed.csv"
    ws.load("churn@v1").drop("observed_at").head(200).write_csv(untimed)
    ws.add_snapshot(untimed, "untimed", target="churn")
    with pytest.raises(InputError, match="a time split on untimed@v1 needs a time column, and it"):
        ws.train("untimed", split="time", mlflow=False)
    with pytest.raises(InputError, match="and its time column is the target"):
        ws.train("churn@v1", target="observed_at", split="time", mlflow=False)
    # columns the snapshot lacks, and options no training can take, are usage errors too
    # (a --target that was not in the data recorded a failed run)
    for kwargs, message in (
        ({"target": "nope"}, "target column 'nope' is not a column of churn@v1"),
        ({"target": "Churn"}, "target column 'Churn' is not a column of churn@v1"),
        ({"exclude": ["region", "nope"]}, "excluded column 'nope' is not a column of churn@v1"),
        ({"time_column": "nope"}, "time column 'nope' is not a column of churn@v1"),
        ({"task": "ranking"}, "unknown task 'ranking'"),
        ({"split": "stratified"}, "unknown split 'stratified'"),
        ({"test_size": 1.5}, "test_size must be between 0 and 1"),
    ):
        with pytest.raises(InputError, match=message) as info:
            ws.train("churn@v1", mlflow=False, **kwargs)
        assert not hasattr(info.value, "run_id")
    with pytest.raises(InputError) as info:
        ws.train("churn@v1", target="Churn", mlflow=False)
    assert info.value.hint == "did you mean 'churn'?"
    with pytest.raises(InputError, match="excluded column 'nope'"):
        ws.train_grid("churn@v1", {"num_leaves": [7, 15]}, exclude=["nope"], mlflow=False)
    assert ws.runs(include_deleted=True).height == 0


def test_tag_delete_compare(demo_ws):
    ws = demo_ws
    a = ws.train("churn", params=FAST, mlflow=False)
    b = ws.train("churn", params={**FAST, "num_leaves": 7}, mlflow=False)
    ws.tag_run(a.id, "owner", "ana")
    assert ws.run(a.id).tags == {"owner": "ana"}
    assert ws.runs("tag.owner = ana")["id"].to_list() == [a.id]
    cmp = ws.compare_runs([a.id, b.id])
    assert cmp.same_data and cmp.ids == [a.id, b.id]
    assert [p.name for p in cmp.differing()] == ["num_leaves"]
    auc = next(m for m in cmp.metrics if m.name == "auc")
    assert auc.deltas[0] == 0 and auc.deltas[1] == pytest.approx(
        b.metrics["auc"] - a.metrics["auc"]
    )
    assert set(cmp.valid_curves()) == {a.id, b.id}
    assert cmp.importances[a.id][0].share > 0
    assert cmp.params_frame(only_diff=True).height == 1
    assert cmp.metrics_frame().columns[-1] == f"delta {b.id}"
    ws.delete_run(b.id)
    assert ws.runs()["id"].to_list() == [a.id]
    ws.delete_run(b.id, restore=True)
    assert ws.runs()["id"].to_list() == [b.id, a.id]
    with pytest.raises(InputError, match="at least two"):
        ws.compare_runs([a.id])
    assert ws.runs(sort="-auc")["auc"].is_sorted(descending=True)
