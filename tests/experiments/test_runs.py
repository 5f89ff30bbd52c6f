"""The runs repository in a real DuckDB store: lifecycle, listing, filters, sort, limit and
injection. Each call runs in its own transaction, as the service runs them."""

from __future__ import annotations

import json

import pytest

from workbench.errors import InputError, NotFoundError
from workbench.experiments import RunInput
from workbench.experiments import repository as repo
from workbench.experiments.records import curves_bytes, parse_curves


def start_run(store, spec, **kw):
    spec = spec.to_dict() if hasattr(spec, "to_dict") else spec
    with store.write() as con:
        return repo.insert_run(con, spec, **kw)


def finish_run(store, run_id, result, objects, mlflow_run_id=None):
    model_hash = objects.put_bytes(result.model_text.encode())
    curves_hash = objects.put_bytes(curves_bytes(result))
    with store.write() as con:
        repo.record_finished(
            con, run_id, result, model_hash=model_hash, curves_hash=curves_hash,
            mlflow_run_id=mlflow_run_id,
        )  # fmt: skip


def fail_run(store, run_id, status, reason=None):
    with store.write() as con:
        repo.record_ended(con, run_id, status, reason)


def tag_run(store, run_id, key, value):
    with store.write() as con:
        repo.set_tag(con, run_id, key, value)


def delete_run(store, run_id):
    with store.write() as con:
        repo.set_deleted(con, run_id, True)


def get_run(store, run_id):
    with store.read() as con:
        return repo.get_run(con, run_id)


def list_runs(store, *args, **kw):
    with store.read() as con:
        return repo.list_runs(con, *args, **kw)


def insert_runs(store, runs):
    with store.write() as con:
        return repo.insert_many(con, runs)


def test_lifecycle(store, objects, churn_result):
    run_id = start_run(store, churn_result.spec, snapshot_ref="churn@v1", snapshot_hash="ab12cd")
    assert get_run(store, run_id).status == "running"
    finish_run(store, run_id, churn_result, objects, mlflow_run_id="m1")
    tag_run(store, run_id, "owner", "ana")
    run = get_run(store, run_id)
    assert run.status == "finished" and run.mlflow_run_id == "m1"
    assert run.metrics == pytest.approx(churn_result.metrics)
    assert run.params["num_leaves"] == "31" and run.params["deterministic"] == "true"
    assert run.tags == {"owner": "ana"}
    assert run.split["n_test"] == churn_result.split.n_test
    assert run.model_meta["categories"] == {"plan": ["basic", "plus", "pro"]}
    assert objects.read_bytes(run.model_hash).decode() == churn_result.model_text
    curves = parse_curves(objects.read_bytes(run.curves_hash))
    assert curves["curves"] == churn_result.curves
    wide = list_runs(store, "auc > 0.5 and snapshot = churn@v1 and tag.owner = ana", "-auc")
    assert wide["id"].to_list() == [run_id]
    assert wide["num_leaves"].to_list() == [31] and wide["learning_rate"].to_list() == [0.05]
    assert wide["auc"][0] == pytest.approx(churn_result.metrics["auc"])
    assert list_runs(store, "snapshot = ab12")["id"].to_list() == [run_id]
    with pytest.raises(InputError, match="not running"):
        finish_run(store, run_id, churn_result, objects)


def test_fail_cancel_delete(store):
    a, b = start_run(store, {"target": "y"}), start_run(store, {"target": "y"})
    fail_run(store, a, "cancelled", "cancelled by the user")
    fail_run(store, b, "failed", "boom")
    assert get_run(store, a).reason == "cancelled by the user"
    assert list_runs(store, "status = cancelled")["id"].to_list() == [a]
    delete_run(store, b)
    assert list_runs(store)["id"].to_list() == [a]
    assert list_runs(store, include_deleted=True)["id"].to_list() == [b, a]
    with pytest.raises(NotFoundError):
        get_run(store, 999)
    with pytest.raises(InputError):
        fail_run(store, a, "finished")


@pytest.fixture
def many(store):
    runs = [
        RunInput(
            params={"num_leaves": leaves, "learning_rate": lr, "boosting": "gbdt"},
            metrics={"auc": auc, "logloss": 1 - auc},
            tags={"owner": "ana" if i % 2 else "bo"},
            snapshot_ref=f"churn@v{1 + i % 3}",
            target="churn",
            task="binary",
        )
        for i, (leaves, lr, auc) in enumerate(
            [(15, 0.1, 0.7), (31, 0.05, 0.9), (31, 0.1, 0.8), (63, 0.05, 0.85), (31, 0.01, 0.6)]
        )
    ]
    return insert_runs(store, runs)


def test_filter_sort_limit(store, many):
    ids = many
    got = list_runs(store, "auc > 0.65 and num_leaves = 31", "-auc")
    assert got["id"].to_list() == [ids[1], ids[2]]
    got = list_runs(store, "num_leaves >= 31 or auc < 0.71", "auc", limit=2)
    assert got["auc"].to_list() == [0.6, 0.7]
    got = list_runs(store, "not (snapshot = churn@v2) and tag.owner = ana", "-learning_rate,-id")
    assert got["id"].to_list() == [ids[3]]
    got = list_runs(store, "snapshot != churn@v3", "-learning_rate,-id")
    assert got["id"].to_list() == [ids[0], ids[3], ids[1], ids[4]]
    assert list_runs(store, limit=0).height == 0
    assert list_runs(store, sort="num_leaves, -auc")["num_leaves"].to_list() == [15, 31, 31, 31, 63]
    assert list_runs(store, "boosting = gbdt").height == 5
    with pytest.raises(InputError, match="unknown field"):
        list_runs(store, "aucc > 1")


@pytest.mark.parametrize(
    "text",
    [
        "auc > 0; drop table runs",
        "auc > 0 or 1=1",
        "note = '' ; delete from runs; --'",
        'note = "\'; drop table run_metrics; --"',
        "tag.owner = 'x'' or ''1''=''1'",
    ],
)
def test_injection_leaves_tables_intact(store, many, text):
    try:
        got = list_runs(store, text)
        assert got.height == 0
    except InputError:
        pass
    assert list_runs(store).height == 5
    with store.read() as con:
        assert con.execute("select count(*) from run_keys").fetchone()[0] == 6
        assert con.execute("select count(m0) + count(m1) from runs").fetchone()[0] == 10


def test_tag_key_validation(store, many):
    with pytest.raises(InputError):
        tag_run(store, many[0], "bad key; drop", "x")
    tag_run(store, many[0], "owner", None)
    assert get_run(store, many[0]).tags == {}
    assert json.loads(json.dumps(get_run(store, many[0]).spec)) == {}
