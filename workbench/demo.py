"""``workbench demo``: a ready workspace built from the seeded churn generator.

Layout of a demo workspace::

    PATH/
      data/train.csv, data/batch_2025_07.csv ... data/batch_2025_12.csv, data/train_v2.csv
      .workbench/   with snapshots churn@v1 (Jan-Jun 2025), churn@v2 (plus July's labels)
                    and prod-2025-07 ... prod-2025-12 (one monthly production batch each)

Running it again on the same folder changes nothing: identical content makes no new version.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from .api import ImportRequest, Workspace
from .config import default_settings_text
from .demo_data import DEFAULT_SEED, generate
from .presentation import batch_name
from .progress import NULL_PROGRESS, Progress
from .settings_file import SETTINGS_FILE

__all__ = ["create_demo", "TRAIN_NAME", "batch_name"]

TRAIN_NAME = "churn"
ROLES = {"target": "churn", "time_column": "observed_at", "key": "customer_id"}
#: columns the demo's promotion gates check segment by segment
SEGMENT_COLUMNS = ["gender"]


def _name_segment_columns(ws: Workspace) -> None:
    """The demo's gates check fairness by gender; a fresh workspace names no segment columns.

    Only a settings file as ``init`` wrote it is changed: a demo folder whose settings were
    edited keeps them.
    """
    path = ws.dir / SETTINGS_FILE
    if path.read_text(encoding="utf-8") == default_settings_text():
        path.write_text(default_settings_text(SEGMENT_COLUMNS), encoding="utf-8")


def create_demo(
    path: Path | str, seed: int = DEFAULT_SEED, progress: Progress = NULL_PROGRESS
) -> Workspace:
    """Create (or refresh) a demo workspace at ``path`` and return it."""
    root = Path(path)
    ws = Workspace.init(root)
    _name_segment_columns(ws)
    data_dir = root / "data"
    data_dir.mkdir(exist_ok=True)
    demo = generate(seed)
    steps = 2 + len(demo.descriptions)
    progress.start("creating demo workspace", total=steps)

    def add(frame: pl.DataFrame, file_name: str, name: str, message: str) -> None:
        target = data_dir / file_name
        if not target.exists():
            frame.write_csv(target)
        ws.add_snapshot(ImportRequest(target, name, message=message, **ROLES))
        progress.advance()
        progress.check_cancelled()

    add(demo.train, "train.csv", TRAIN_NAME, "training period, Jan-Jun 2025")
    for info in demo.descriptions:
        add(
            demo.batches[info.month],
            info.file_name,
            batch_name(info.month),
            f"{info.label}: {info.title}",
        )
    first = demo.descriptions[0]
    add(
        pl.concat([demo.train, demo.batches[first.month]]),
        "train_v2.csv",
        TRAIN_NAME,
        f"training period plus {first.label} labels",
    )
    return ws
