"""A small monitored workspace: the demo's churn data (2,000 training rows, 400 per month), a
champion trained on January-June, the six monthly batches served through the prediction log
(each month's rows at that month's dates), and the labels of each month in a CSV file.

Building it costs a few seconds (one small LightGBM training); tests share it per module and
copy it when they change it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # shared 2-core CI: do not spin

FAST = {"num_threads": 2, "num_iterations": 60, "early_stopping_round": 10, "verbosity": -1}
ROLES = {"target": "churn", "time_column": "observed_at", "key": "customer_id"}
MONTHS = ("2025-07", "2025-08", "2025-09", "2025-10", "2025-11", "2025-12")
SETTINGS = """\
actor = "alice"
default_role = "viewer"

[roles]
alice = "approver"
bob = "developer"

[registry]
mlflow = false

[gates]
tolerance = 0.05
max_segment_gap = 0.3
max_parity_difference = 0.3
"""


def build(root: Path, n_train: int = 2000, per_month: int = 400, settings: str = SETTINGS):
    """The workspace at ``root`` (see the module doc); returns it."""
    from tests.helpers import allow_any_actor
    from workbench.api import Workspace
    from workbench.demo_data import generate

    ws = Workspace.init(root)
    (ws.dir / "workbench.toml").write_text(settings, encoding="utf-8")
    allow_any_actor(ws.dir / "workbench.toml")  # the tests act as alice and bob
    ws = Workspace(root)
    data = root / "data"
    data.mkdir(exist_ok=True)
    demo = generate(seed=7, n_train=n_train, n_per_batch=per_month)
    demo.train.write_csv(data / "train.csv")
    ws.add_snapshot(data / "train.csv", "churn", message="training period", **ROLES)
    run = ws.train("churn@v1", params=FAST, seed=1, mlflow=False)
    mv = ws.register_model(run.id, "churn-model")
    ws.set_alias(mv.ref, "champion", "first model")
    for month in MONTHS:
        batch = demo.batches[month]
        # A fixed latency: the measured one follows the machine's load, and screens and
        # snapshots show it.
        ws.log_batch(mv.ref, batch, key="customer_id", time_column="observed_at",
                     request_prefix=month, latency_ms=0.02)  # fmt: skip
        batch.select("customer_id", "churn").write_csv(data / f"labels_{month}.csv")
    return ws


def copy(source: Path, dest: Path):
    """A copy of a built workspace (tests that change it work on their own)."""
    from workbench.api import Workspace

    shutil.copytree(source, dest)
    return Workspace(dest)


def set_clock(ws, clock) -> None:
    """Give every monitoring service of ``ws`` the same clock (tests never sleep): a check,
    the alerts it fires, the notifications it delivers and the canary it guards read one
    time."""
    services = ws.services
    for service in (services.monitoring, services.alerting, services.rollout):
        service.clock = clock
