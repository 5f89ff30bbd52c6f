"""A workspace with something of every kind to push (tests/remote and tests/ci)."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import allow_any_actor

FAST = {"num_threads": 2, "num_iterations": 30, "early_stopping_round": 10, "verbosity": -1}
ROLES = {"target": "churn", "time_column": "observed_at", "key": "customer_id"}
SETTINGS = """\
actor = "alice"
default_role = "admin"

[registry]
mlflow = false

[gates]
tolerance = 0.5
max_segment_gap = 1.0
max_parity_difference = 1.0
"""
#: a prediction-log file as the serving process names them (content is opaque to a remote)
PREDICTIONS = (
    "predictions/churn-model/v1/2025-07-01/seg-20250701T000000-20250701T000100-1-ab12-f0.parquet"
)


def build_story(root: Path) -> Path:
    """A workspace holding snapshots, runs, two model versions, a champion, a decided
    proposal, a drift report, the audit log and a prediction-log file."""
    import polars as pl

    from workbench.api import Workspace
    from workbench.demo_data import generate

    ws = Workspace.init(root)
    (ws.dir / "workbench.toml").write_text(SETTINGS, encoding="utf-8")
    allow_any_actor(ws.dir / "workbench.toml")  # acts as alice
    ws = Workspace(root)
    demo = generate(seed=7, n_train=1500, n_per_batch=300)
    data = root / "data"
    data.mkdir()
    demo.train.write_csv(data / "train.csv")
    demo.batches["2025-07"].write_csv(data / "july.csv")
    ws.add_snapshot(data / "train.csv", "churn", message="training period", **ROLES)
    ws.add_snapshot(data / "july.csv", "prod-2025-07", message="july", **ROLES)
    runs = [ws.train("churn@v1", params=FAST, seed=s, mlflow=False) for s in (1, 2)]
    versions = [ws.register_model(r.id, "churn-model") for r in runs]
    ws.set_alias(versions[0].ref, "champion", "first model")
    decision = ws.propose_promotion(versions[1].ref, reason="second seed")
    ws.reject(decision.id, "keep the first")
    ws.drift("churn@v1", "prod-2025-07")
    seg = ws.dir / PREDICTIONS
    seg.parent.mkdir(parents=True)
    pl.DataFrame({"request_id": ["a", "b"], "score": [0.1, 0.9]}).write_parquet(seg)
    return root
