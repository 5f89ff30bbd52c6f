"""The MLflow mirror through the facade, against the workspace's real SQLite tracking store."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.experiments.conftest import FAST


@pytest.mark.slow
def test_facade_run_is_mirrored_and_pyfunc_predicts_like_ours(demo_ws, monkeypatch):
    import mlflow

    from workbench.experiments import mlflow_mirror

    started = []
    real_warm_up = mlflow_mirror.warm_up

    def recording_warm_up(uri):
        started.append(real_warm_up(uri))
        return started[-1]

    monkeypatch.setattr(mlflow_mirror, "warm_up", recording_warm_up)
    ws = demo_ws
    rec = ws.train("churn@v1", params=FAST, note="mirrored")
    # MLflow was loaded beside the holdout scoring, and that thread finished before logging
    assert len(started) == 1 and not started[0].is_alive()
    uri = ws.mlflow_tracking_uri
    assert uri == f"sqlite:///{ws.root.resolve()}/.workbench/mlflow/mlflow.db"
    client = mlflow.MlflowClient(uri)
    run = client.get_run(rec.mlflow_run_id)
    assert run.data.metrics["auc"] == rec.metrics["auc"]
    assert run.data.params["num_leaves"] == "31"
    assert run.data.tags["workbench.run_id"] == str(rec.id)
    assert run.data.tags["workbench.snapshot"] == "churn@v1"
    assert run.data.tags["mlflow.note.content"] == "mirrored"
    assert client.get_experiment(run.info.experiment_id).name == "churn"
    assert run.info.status == "FINISHED"
    assert run.data.tags["mlflow.user"] == ws.actor
    assert run.data.tags["mlflow.source.name"] == "workbench"
    assert "git_commit" not in rec.environment  # the temp folder is no git repository
    assert "mlflow.source.git.commit" not in run.data.tags
    history = client.get_metric_history(rec.mlflow_run_id, "valid_binary_logloss")
    curves = ws.load_curves(rec.id)["curves"]
    assert [m.value for m in history] == curves["valid"]["binary_logloss"]
    assert (ws.dir / "mlflow" / "artifacts").is_dir()

    holdout = ws.run_holdout(rec.id)
    ours = ws.run_model(rec.id)
    mlflow.set_tracking_uri(uri)
    try:
        loaded = mlflow.pyfunc.load_model(ws.run_model_uri(rec.id))
    finally:
        mlflow.set_tracking_uri(None)
    # the MLflow model takes the raw rows (pandas, the snapshot's own types)
    theirs = loaded.predict(holdout.to_pandas())["probability"].to_numpy()
    assert np.array_equal(theirs, ours.predict(holdout))
    # the model's requirements are exact pins of what this process runs, and MLflow's own
    # requirement check (skipped while we log; about a second on a first log) is restored
    import lightgbm
    from mlflow.utils import environment, requirements_utils

    check = requirements_utils.warn_dependency_requirement_mismatches
    assert environment.warn_dependency_requirement_mismatches is check
    assert mlflow.pyfunc.warn_dependency_requirement_mismatches is check
    mlflow.set_tracking_uri(uri)
    try:
        pins = Path(mlflow.pyfunc.get_model_dependencies(ws.run_model_uri(rec.id))).read_text()
    finally:
        mlflow.set_tracking_uri(None)
    pins = pins.split()
    assert f"lightgbm=={lightgbm.__version__}" in pins
    assert f"mlflow=={mlflow.__version__}" in pins


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_commit_of_the_surrounding_repository_is_recorded(demo_ws):
    import mlflow

    ws = demo_ws

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=ws.root,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    git("init", "-q")
    (ws.root / "train.py").write_text("# the project's code\n")
    git("add", "train.py")
    git("commit", "-q", "-m", "first")
    head = git("rev-parse", "HEAD")
    rec = ws.train("churn@v1", params=FAST)
    assert rec.environment["git_commit"] == head
    run = mlflow.MlflowClient(ws.mlflow_tracking_uri).get_run(rec.mlflow_run_id)
    assert run.data.tags["mlflow.source.git.commit"] == head


@pytest.mark.slow
def test_new_workspace_stores_are_copies_of_one_empty_store_made_by_mlflow(tmp_path, monkeypatch):
    import sqlite3

    import mlflow

    from workbench.api import Workspace
    from workbench.experiments.mlflow_mirror import ensure_store

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first = Workspace.init(tmp_path / "one")
    ensure_store(first.mlflow_tracking_uri)  # made by MLflow itself, then kept
    template = tmp_path / "cache" / "workbench" / f"mlflow-{mlflow.__version__}.db"
    assert template.is_file()

    made = []
    real_client = mlflow.MlflowClient

    def counting_client(*args, **kwargs):
        made.append(args)
        return real_client(*args, **kwargs)

    monkeypatch.setattr(mlflow, "MlflowClient", counting_client)
    second = Workspace.init(tmp_path / "two")
    ensure_store(second.mlflow_tracking_uri)
    assert made == []  # copied: MLflow was not asked to create anything
    db = second.dir / "mlflow" / "mlflow.db"
    with sqlite3.connect(db) as con:
        (version,) = con.execute("SELECT version_num FROM alembic_version").fetchone()
    with sqlite3.connect(template) as con:
        assert con.execute("SELECT version_num FROM alembic_version").fetchone() == (version,)
    monkeypatch.setattr(mlflow, "MlflowClient", real_client)

    # MLflow opens the copy as its own; Default keeps artifacts beside the store, not in ./mlruns
    client = mlflow.MlflowClient(second.mlflow_tracking_uri)
    default = client.get_experiment("0")
    assert default.artifact_location == (second.dir / "mlflow" / "artifacts" / "0").as_uri()
    second.add_snapshot(_small_csv(tmp_path), "churn", target="churn")
    run = second.train("churn@v1", params=FAST)
    assert client.get_run(run.mlflow_run_id).data.metrics["auc"] == run.metrics["auc"]

    # an existing store is never replaced, and a store at another URI is left to MLflow
    before = db.stat().st_mtime_ns, db.stat().st_size
    ensure_store(second.mlflow_tracking_uri)
    assert (db.stat().st_mtime_ns, db.stat().st_size) == before
    elsewhere = tmp_path / "elsewhere.db"
    ensure_store(f"sqlite:///{elsewhere}")
    assert not elsewhere.exists()

    # no usable cache (here a file where the folder should be): MLflow makes the store itself
    (tmp_path / "not-a-folder").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "not-a-folder"))
    third = Workspace.init(tmp_path / "three")
    ensure_store(third.mlflow_tracking_uri)
    assert not (third.dir / "mlflow" / "mlflow.db").exists()
    assert list((third.dir / "mlflow").iterdir()) == []  # no half-made copy left behind
    assert mlflow.MlflowClient(third.mlflow_tracking_uri).get_experiment("0").name == "Default"


def _small_csv(tmp_path: Path) -> Path:
    from tests.experiments.conftest import churn_frame

    path = tmp_path / "churn.csv"
    churn_frame().write_csv(path)
    return path


@pytest.mark.slow
def test_processes_creating_one_workspace_store_at_once_all_get_it(tmp_path):
    """Three real processes make the same new store at the same moment: one copy wins."""
    import subprocess
    import sys

    from workbench.api import Workspace

    uri = Workspace.init(tmp_path / "ws").mlflow_tracking_uri
    code = (
        "import sys, mlflow\n"
        "from workbench.experiments.mlflow_mirror import ensure_store\n"
        "ensure_store(sys.argv[1])\n"
        "print(mlflow.MlflowClient(sys.argv[1]).get_experiment('0').artifact_location)\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, uri],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for _ in range(3)
    ]
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    assert [rc for rc, _, _ in results] == [0, 0, 0], [err for _, _, err in results]
    store_dir = tmp_path / "ws" / ".workbench" / "mlflow"
    expected = (store_dir / "artifacts" / "0").as_uri()
    assert {out.strip() for _, out, _ in results} == {expected}
    assert sorted(p.name for p in store_dir.iterdir() if p.is_file()) == ["mlflow.db"]
