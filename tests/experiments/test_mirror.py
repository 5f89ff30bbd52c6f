"""The MLflow mirror after the run is recorded: ``workbench train`` returns without MLflow, a
detached process logs the mirror, ``workbench mlflow sync`` completes whatever is pending,
including a mirror killed midway, without duplicates. Real processes, real MLflow store."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.experiments.conftest import FAST
from tests.helpers import run_cli
from workbench.errors import WorkbenchError

ENV = {"OMP_WAIT_POLICY": "PASSIVE"}
CLI_FAST = ["-p", "num_iterations=40", "-p", "early_stopping_round=10", "-p", "num_threads=2"]


def cli(ws, *args: str, ok: bool = True):
    result = run_cli("-w", str(ws.root), *args, env=ENV, timeout=300)
    if ok:
        assert result.returncode == 0, result.stderr
    return result


def wait_mirrored(ws, run_id: int, timeout: float = 240) -> None:
    """Until the run's background mirror is done (a slow machine needs a while)."""
    deadline = time.monotonic() + timeout
    while ws.run(run_id).mlflow_state == "pending":
        assert time.monotonic() < deadline, "the background mirror never finished"
        time.sleep(0.2)


def mlflow_runs(ws, run_id: int, *, deleted: bool = False) -> list:
    """The MLflow runs tagged as mirroring workbench run ``run_id`` (active, or deleted)."""
    import mlflow
    from mlflow.entities import ViewType

    client = mlflow.MlflowClient(ws.mlflow_tracking_uri)
    view = ViewType.DELETED_ONLY if deleted else ViewType.ACTIVE_ONLY
    experiments = [e.experiment_id for e in client.search_experiments()]
    return client.search_runs(
        experiments, f"tags.`workbench.run_id` = '{run_id}'", run_view_type=view
    )


def test_the_command_returns_before_mlflow_and_a_background_process_mirrors_it(demo_ws):
    """The command's process never imports MLflow; the background mirror logs what the
    training process would have logged (compared with a run mirrored in the foreground)."""
    ws = demo_ws
    code = (
        "import sys\n"
        "from workbench.cli.main import main\n"
        "main(sys.argv[1:])\n"
        "print('MLFLOW-MODULES', sorted(m for m in sys.modules if m.split('.')[0] == 'mlflow'))\n"
    )  # the real command, then what the process imported
    env = {k: v for k, v in os.environ.items() if k != "WORKBENCH_WORKSPACE"} | ENV
    done = subprocess.run(
        [sys.executable, "-c", code, "-w", str(ws.root), "train", "churn@v1", *CLI_FAST],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (run_id,) = ws.runs()["id"].to_list()
    wait_mirrored(ws, run_id)  # before anything can fail: the workspace is removed after
    assert "mlflow: logging in the background" in " ".join(done.stdout.split())
    assert "MLFLOW-MODULES []" in done.stdout
    background = ws.run(run_id)
    assert background.mlflow_state == "mirrored" and background.mlflow_error is None
    assert [r.info.run_id for r in mlflow_runs(ws, run_id)] == [background.mlflow_run_id]
    assert not list((ws.dir / "logs").glob("mirror-*.log"))  # it printed nothing

    shown = json.loads(cli(ws, "runs", "show", str(run_id), "--json").stdout)
    assert shown["mlflow_state"] == "mirrored"
    listed = json.loads(cli(ws, "runs", "list", "--json").stdout)
    assert listed[0]["mlflow_state"] == "mirrored"

    # the same training mirrored by the training process: the same MLflow content
    foreground = ws.train("churn@v1", params={**FAST, "num_iterations": 40})
    assert foreground.mlflow_state == "mirrored" and foreground.metrics == background.metrics
    import mlflow

    client = mlflow.MlflowClient(ws.mlflow_tracking_uri)
    ours, theirs = (client.get_run(r.mlflow_run_id) for r in (background, foreground))
    assert ours.data.params == theirs.data.params
    assert ours.data.metrics == theirs.data.metrics
    skip = {"workbench.run_id", "mlflow.runName", "mlflow.note.content"}
    assert {k: v for k, v in ours.data.tags.items() if k not in skip} == {
        k: v for k, v in theirs.data.tags.items() if k not in skip
    }
    for key in ("valid_binary_logloss", "train_auc"):
        assert [m.value for m in client.get_metric_history(ours.info.run_id, key)] == [
            m.value for m in client.get_metric_history(theirs.info.run_id, key)
        ]
    holdout = ws.run_holdout(run_id)
    model = ws.run_model(run_id)
    mlflow.set_tracking_uri(ws.mlflow_tracking_uri)
    try:
        for path in ("workbench/split.json", "workbench/model_meta.json"):
            assert mlflow.artifacts.load_dict(f"runs:/{ours.info.run_id}/{path}") == (
                mlflow.artifacts.load_dict(f"runs:/{theirs.info.run_id}/{path}")
            )
        loaded = mlflow.pyfunc.load_model(ws.run_model_uri(run_id))
        example = mlflow.models.Model.load(ws.run_model_uri(run_id)).load_input_example(
            mlflow.artifacts.download_artifacts(ws.run_model_uri(run_id))
        )
    finally:
        mlflow.set_tracking_uri(None)
    # the MLflow model takes raw rows (the serving scorer inside MLflow's pyfunc)
    theirs_scores = loaded.predict(holdout.to_pandas())["probability"].to_numpy()
    assert np.array_equal(theirs_scores, model.predict(holdout))
    assert list(example.columns) == model.meta.inputs and len(example) == 5


def _mirror_worker(root: Path) -> int | None:
    """The pid of the background mirror process of the workspace at ``root``, if running."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(b"workbench.experiments.mirror" in a for a in args) and str(root).encode() in args:
            return int(proc.name)
    return None


def _mlflow_status(db: Path, run_id: int) -> str | None:
    """Status of the MLflow run tagged with workbench run ``run_id``, read from the store."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.05) as con:
            row = con.execute(
                "select r.status from runs r join tags t on t.run_uuid = r.run_uuid "
                "where t.key = 'workbench.run_id' and t.value = ? and r.lifecycle_stage = "
                "'active'",
                [str(run_id)],
            ).fetchone()
    except sqlite3.OperationalError:  # no store yet, or MLflow is writing
        return None
    return row[0] if row else None


def test_a_mirror_killed_midway_is_completed_by_sync_without_a_duplicate(demo_ws):
    ws = demo_ws
    # --wait-mlflow: the command logs the mirror itself (and makes MLflow's store)
    waited = json.loads(cli(ws, "train", "churn@v1", *CLI_FAST, "--wait-mlflow", "--json").stdout)
    assert waited["mlflow_state"] == "mirrored" and waited["mlflow_run_id"]
    db = ws.dir / "mlflow" / "mlflow.db"
    for _attempt in range(6):
        run_id = json.loads(cli(ws, "train", "churn@v1", *CLI_FAST, "--json").stdout)["id"]
        deadline, pid, killed = time.monotonic() + 240, None, False
        while time.monotonic() < deadline and not killed:
            pid = pid or _mirror_worker(ws.root)
            if pid is not None and _mlflow_status(db, run_id) == "RUNNING":
                os.kill(pid, signal.SIGKILL)  # midway: the MLflow run exists, unfinished
                killed = True
            elif ws.run(run_id).mlflow_state != "pending":
                break  # it finished between two looks: try again with a new run
            time.sleep(0.01)
        if killed:
            break
    else:
        pytest.fail("never caught the background mirror midway")
    while _mirror_worker(ws.root) is not None:
        time.sleep(0.05)
    assert _mlflow_status(db, run_id) == "RUNNING"  # a half-logged MLflow run is left
    assert ws.run(run_id).mlflow_state == "pending" and ws.run(run_id).mlflow_run_id is None
    (half,) = mlflow_runs(ws, run_id)

    synced = cli(ws, "mlflow", "sync")
    rec = ws.run(run_id)
    assert f"run {run_id}: mlflow {rec.mlflow_run_id}" in synced.stdout
    assert rec.mlflow_state == "mirrored"
    (whole,) = mlflow_runs(ws, run_id)  # one MLflow run: the half one was replaced
    assert whole.info.run_id == rec.mlflow_run_id != half.info.run_id
    assert whole.info.status == "FINISHED" and whole.data.metrics["auc"] == rec.metrics["auc"]
    assert [r.info.run_id for r in mlflow_runs(ws, run_id, deleted=True)] == [half.info.run_id]
    assert ws.run_model_uri(run_id) == f"runs:/{rec.mlflow_run_id}/model"

    again = cli(ws, "mlflow", "sync")  # idempotent
    assert again.stdout.strip() == "no MLflow mirror is pending"
    assert [r.info.run_id for r in mlflow_runs(ws, run_id)] == [rec.mlflow_run_id]
    assert ws.audit_verify() == []  # every mirror state the runs went through was audited


def test_a_complete_mlflow_run_the_store_never_recorded_is_adopted(demo_ws):
    """Killed after MLflow finished the run but before the store recorded it: sync finds the
    MLflow run by its tags and records it instead of logging a second one."""
    from workbench.experiments.mirror import stored_result

    ws = demo_ws
    rec = ws.train("churn@v1", params=FAST, mirror="later")
    assert rec.mlflow_state == "pending" and rec.mlflow_run_id is None
    experiments = ws.services.experiments
    logged = experiments._log_mirror(rec, stored_result(rec, ws.objects, ws.run_holdout(rec.id)))
    (outcome,) = ws.sync_mlflow_runs()
    assert outcome.run_id == rec.id and outcome.mlflow_run_id == logged and not outcome.error
    assert ws.run(rec.id).mlflow_run_id == logged
    assert [r.info.run_id for r in mlflow_runs(ws, rec.id)] == [logged]
    assert ws.sync_mlflow_runs() == []


def test_registering_a_run_whose_mirror_is_pending_mirrors_it_first(demo_ws):
    ws = demo_ws
    rec = ws.train("churn@v1", params=FAST, mirror="later")
    mv = ws.register_model(rec.id, "churn-model")
    run = ws.run(rec.id)
    assert run.mlflow_state == "mirrored" and mv.mlflow_version == "1"
    assert [r.info.run_id for r in mlflow_runs(ws, rec.id)] == [run.mlflow_run_id]
    import mlflow

    client = mlflow.MlflowClient(ws.mlflow_tracking_uri, registry_uri=ws.mlflow_tracking_uri)
    assert client.get_model_version("churn-model", "1").run_id == run.mlflow_run_id


def test_a_failed_mirror_leaves_the_run_finished_and_sync_retries_it(demo_ws, monkeypatch):
    ws = demo_ws
    (ws.root / "not-a-folder").write_text("")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{ws.root}/not-a-folder/mlflow.db")
    with pytest.raises(WorkbenchError, match="is finished, but its MLflow mirror failed") as info:
        ws.train("churn@v1", params=FAST)
    rec = ws.run(info.value.run_id)
    assert rec.status == "finished" and rec.model_hash and rec.mlflow_state == "failed"
    assert rec.mlflow_error and rec.mlflow_run_id is None
    assert ws.runs("mlflow_state = failed")["id"].to_list() == [rec.id]

    env = {"MLFLOW_TRACKING_URI": os.environ["MLFLOW_TRACKING_URI"]}
    failed = run_cli("-w", str(ws.root), "mlflow", "sync", env=env)
    assert failed.returncode == 1, failed.stderr
    assert failed.stderr.strip() == "error: 1 of 1 MLflow mirrors failed"
    assert f"run {rec.id} is finished, but its MLflow mirror failed" in failed.stdout
    shown = run_cli("-w", str(ws.root), "runs", "show", str(rec.id), env=env).stdout
    assert "mlflow    failed: " in shown

    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    (outcome,) = ws.sync_mlflow_runs()
    assert outcome.mlflow_run_id == ws.run(rec.id).mlflow_run_id and not outcome.error
    assert ws.run(rec.id).mlflow_state == "mirrored" and ws.run(rec.id).mlflow_error is None
    actions = [e.action for e in ws.audit_log() if e.subject == f"run {rec.id}"]
    assert actions[-3:] == ["run.mirror_failed", "run.mirror_failed", "run.mirrored"]
    assert ws.audit_verify() == []
    # the URI once taken from the environment does not stay set in this process
    import mlflow

    assert "MLFLOW_TRACKING_URI" not in os.environ
    assert "not-a-folder" not in mlflow.get_tracking_uri()


def test_old_runs_with_an_mlflow_run_read_as_mirrored_after_the_migration(tmp_path):
    """Migration 0008 adds the mirror state to a store made before it."""
    import duckdb

    from workbench.store import Store, migrations

    path = tmp_path / "meta.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create table schema_version (version integer primary key, name text not null, "
                "applied_at timestamp not null)")  # fmt: skip
    for version, name, sql in migrations():
        if version >= 8:
            break
        con.execute(sql)
        con.execute("insert into schema_version values (?, ?, now())", [version, name])
    con.execute("insert into runs (created_at, status, mlflow_run_id) values "
                "(now(), 'finished', 'abc'), (now(), 'finished', null)")  # fmt: skip
    con.close()
    store = Store(path)
    assert "0008_run_mirror.sql" in store.migrate()
    with store.read() as con:
        rows = con.execute("select id, mlflow_state from runs order by id").fetchall()
    assert rows == [(1, "mirrored"), (2, None)]
