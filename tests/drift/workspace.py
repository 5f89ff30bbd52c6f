"""A small deterministic drift workspace: churn@v1 and four monthly prod batches (Jul-Oct 2025).

Built from the seeded demo generator with fewer rows, so the scenarios of data/README.md are
there (a quiet July, covariate drift from August, the broken feed in September, a new payment
method in October) while tests stay fast. Author and timestamps are fixed for SVG snapshots.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from tests.helpers import allow_any_actor, record_fixture_edits

EPOCH = datetime(2025, 11, 1, 9, 30)
MONTHS = ("2025-07", "2025-08", "2025-09", "2025-10")
ROLES = {"target": "churn", "time_column": "observed_at", "key": "customer_id"}


def build_drift_workspace(root: Path, n_train: int = 2_000, n_per_batch: int = 500) -> Path:
    """Create the workspace at ``root`` (a folder named ``ws`` keeps snapshots stable)."""
    from workbench.api import Workspace
    from workbench.demo_data import generate

    ws = Workspace.init(root)
    settings = ws.dir / "workbench.toml"
    settings.write_text('actor = "tester"\n' + settings.read_text(), encoding="utf-8")
    allow_any_actor(settings)
    ws = Workspace(root)
    demo = generate(7, n_train=n_train, n_per_batch=n_per_batch)
    data = root / "data"
    data.mkdir()
    demo.train.write_csv(data / "train.csv")
    ws.add_snapshot(data / "train.csv", "churn", message="training", **ROLES)
    for month in MONTHS:
        path = data / f"batch_{month}.csv"
        demo.batches[month].write_csv(path)
        ws.add_snapshot(path, f"prod-{month}", message=f"batch {month}", **ROLES)
    with ws.store.write() as con:
        ids = [r[0] for r in con.execute("select id from snapshots order by id").fetchall()]
        for i in ids:
            con.execute(
                "update snapshots set created_at = ? where id = ?", [EPOCH + timedelta(days=i), i]
            )
        record_fixture_edits(ws, con, "snapshots")
    return root
