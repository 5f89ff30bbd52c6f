"""Shared fixtures: a small demo workspace (2,000 training rows, 300 per monthly batch).

Registering models in MLflow is slow, so the end-to-end story plays its steps on a shared
module-scoped workspace (test_registry_end_to_end.Storyteller); role and gate tests build what
they need cheaply.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # shared 2-core CI: do not spin

from pathlib import Path

from tests.helpers import allow_any_actor

FAST = {"num_threads": 2, "num_iterations": 40, "early_stopping_round": 10, "verbosity": -1}
ROLES = {"target": "churn", "time_column": "observed_at", "key": "customer_id"}
MONTHS = ("2025-07", "2025-08", "2025-09", "2025-10", "2025-11", "2025-12")

#: settings for the test workspaces: alice approves, bob only proposes, everyone else views
SETTINGS = """\
default_role = "viewer"

[roles]
alice = "approver"
bob = "developer"
root-admin = "admin"

[gates]
tolerance = 0.05
segment_columns = ["gender"]
max_segment_gap = 0.2
max_parity_difference = 0.2
"""


def make_small_demo(root: Path, months: tuple[str, ...] = MONTHS, settings: str = SETTINGS):
    """A demo-like workspace: churn@v1 (training period) and prod-YYYY-MM labelled batches."""
    from workbench.api import Workspace
    from workbench.demo_data import generate

    ws = Workspace.init(root)
    (ws.dir / "workbench.toml").write_text(settings, encoding="utf-8")
    allow_any_actor(ws.dir / "workbench.toml")  # the tests play alice, bob and others
    data = root / "data"
    data.mkdir(exist_ok=True)
    demo = generate(seed=7, n_train=2000, n_per_batch=300)
    demo.train.write_csv(data / "train.csv")
    ws = Workspace(root)
    ws.settings.actor = "alice"
    ws.add_snapshot(data / "train.csv", "churn", message="training period", **ROLES)
    for month in months:
        path = data / f"batch_{month}.csv"
        demo.batches[month].write_csv(path)
        ws.add_snapshot(path, f"prod-{month}", message=f"labelled batch {month}", **ROLES)
    return root


def open_as(root: Path, actor: str):
    """The workspace at ``root`` acting as ``actor``."""
    from workbench.api import Workspace

    ws = Workspace(root)
    ws.settings.actor = actor
    return ws


def two_versions(root: Path, actor: str, registry: str = "mlflow = false") -> Path:
    """A small demo (one July batch) where ``actor`` registered two runs as churn-model@v1, v2.

    ``registry`` is the body of the settings' ``[registry]`` table.
    """
    root = make_small_demo(root, ("2025-07",), f"{SETTINGS}\n[registry]\n{registry}\n")
    ws = open_as(root, actor)
    for seed in (1, 2):
        run = ws.train("churn@v1", params=FAST, seed=seed, mlflow=False)
        ws.register_model(run.id, "churn-model")
    return root


def make_demo_layout(root: Path) -> Path:
    """Small data in the demo's layout: churn@v1, prod-2025-07..12, churn@v2 (plus July)."""
    import polars as pl

    from workbench.api import Workspace
    from workbench.config import default_settings_text
    from workbench.demo import SEGMENT_COLUMNS

    make_small_demo(root, settings=default_settings_text(SEGMENT_COLUMNS))  # as the demo's
    ws = Workspace(root)
    data = root / "data"
    combined = pl.concat([pl.read_csv(data / "train.csv"), pl.read_csv(data / "batch_2025-07.csv")])
    combined.write_csv(data / "train_v2.csv")
    ws.add_snapshot(data / "train_v2.csv", "churn", message="training period plus July labels")
    return root
