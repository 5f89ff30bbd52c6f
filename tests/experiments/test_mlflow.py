"""The MLflow mirror against a real SQLite tracking store."""

from __future__ import annotations

import numpy as np


def test_logged_model_predicts_like_ours(workspace, churn, churn_result, monkeypatch):
    import mlflow

    from workbench.experiments import Model, default_artifact_root, default_tracking_uri, log_run

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri = default_tracking_uri(workspace)
    assert uri.endswith(".workbench/mlflow/mlflow.db")
    run_id = log_run(
        uri,
        "churn",
        churn_result,
        "churn@v1",
        workbench_run_id=7,
        artifact_root=default_artifact_root(workspace),
    )
    client = mlflow.MlflowClient(uri)
    run = client.get_run(run_id)
    assert run.data.metrics["auc"] == churn_result.metrics["auc"]
    assert run.data.params["num_leaves"] == "31"
    assert run.data.tags["workbench.run_id"] == "7"
    history = client.get_metric_history(run_id, "valid_binary_logloss")
    assert [m.step for m in history] == list(range(1, churn_result.num_iterations + 1))
    assert (workspace / ".workbench" / "mlflow" / "artifacts").is_dir()

    mlflow.set_tracking_uri(uri)
    try:
        loaded = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    finally:
        mlflow.set_tracking_uri(None)
    ours = Model(churn_result.model_text, churn_result.meta)
    theirs = np.asarray(loaded.predict(ours.encode(churn)))
    assert np.array_equal(theirs, ours.predict(churn))
    assert theirs.min() >= 0 and theirs.max() <= 1
