"""``workbench demo``: a ready workspace built from the seeded churn generator.

Layout of a demo workspace::

    PATH/
      data/train.csv, data/batch_2025_07.csv ... data/batch_2025_12.csv, data/train_v2.csv
      data/labels_2025_07.csv ... labels_2025_11.csv   ground truth, known a month late
      alerts.jsonl  the file channel's notifications
      .workbench/   with snapshots churn@v1 (Jan-Jun 2025), churn@v2 (plus July's labels)
                    and prod-2025-07 ... prod-2025-12 (one monthly production batch each);
                    churn-model@v1, the champion, trained on churn@v1; the prediction log of
                    each month's batch served by the champion; labels joined a month late;
                    a monitoring check at the end of each month (alerts, one retraining
                    proposal)

The monitoring story replays the second half of 2025 month by month: at the end of each
month the month's batch has been served, the previous month's labels arrive, and
``monitor check`` runs as of that day. Running the demo again on the same folder changes
nothing: identical content makes no new version and the story runs only once.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from .api import ImportRequest, Workspace
from .config import default_settings_text
from .demo_data import DEFAULT_SEED, generate
from .presentation import batch_name
from .progress import NULL_PROGRESS, Progress
from .settings_file import SETTINGS_FILE

__all__ = ["create_demo", "TRAIN_NAME", "MODEL_NAME", "batch_name"]

TRAIN_NAME = "churn"
MODEL_NAME = "churn-model"
ROLES = {"target": "churn", "time_column": "observed_at", "key": "customer_id"}
#: small and quick: the demo's first command must stay well under a minute on two cores
CHAMPION_PARAMS = {"num_leaves": 15, "num_iterations": 80, "num_threads": 2}
DEMO_MARK = "# the demo's user approves (a one-person workbench)"
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
    _demo_settings(ws)
    ws = Workspace(root)  # settings re-read
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
    _monitoring_story(ws, demo, data_dir, progress)
    return ws


def _demo_settings(ws: Workspace) -> None:
    """The demo's user may approve; notifications go to ``alerts.jsonl``; drift counts from
    a third of the features and a 0.03 drop of AUC alerts (edits of the default settings'
    lines, made once)."""
    path = ws.dir / "workbench.toml"
    text = path.read_text(encoding="utf-8")
    if DEMO_MARK in text:
        return
    actor = ws.actor.replace('"', "")
    for old, new in (
        ("[roles]\n", f'[roles]\n"{actor}" = "approver"  {DEMO_MARK}\n'),
        ("drift_share = 0.5          # share of drifted features",
         "drift_share = 0.3          # share of drifted features"),
        ('# file = "alerts.jsonl"    # a file channel', 'file = "alerts.jsonl"      # a file channel'),
        ("performance_drop = 0.05", "performance_drop = 0.03"),
    ):  # fmt: skip
        text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")


def _monitoring_story(ws: Workspace, demo, data_dir: Path, progress: Progress) -> None:
    """Train the champion, serve each month through the prediction log, join each month's
    labels a month late and run a monitoring check at the end of every month."""
    if MODEL_NAME in ws.model_names():
        return
    months = [info.month for info in demo.descriptions]
    progress.start("monitoring story: champion, served months, late labels", total=len(months))
    run = ws.train(f"{TRAIN_NAME}@v1", params=CHAMPION_PARAMS, seed=1, mlflow=False)
    champion = ws.register_model(run.id, MODEL_NAME)
    ws.set_alias(champion.ref, "champion", "the demo's first model")
    previous: str | None = None
    for month in months:
        batch = demo.batches[month]
        ws.log_batch(champion.ref, batch, key="customer_id", time_column="observed_at",
                     request_prefix=month)  # fmt: skip
        end = _month_end(month)
        if previous is not None:
            labels = (
                demo.batches[previous]
                .select("customer_id", "churn")
                .with_columns(pl.lit(end.date()).alias("known_at"))
            )
            path = data_dir / f"labels_{previous.replace('-', '_')}.csv"
            labels.write_csv(path)
            ws.import_labels(path, "customer_id", time="known_at", model=MODEL_NAME)
        ws.monitor_check(MODEL_NAME, now=end)
        previous = month
        progress.advance()
        progress.check_cancelled()


def _month_end(month: str) -> dt.datetime:
    """The last day of ``month`` (``2025-07``) at 23:00 UTC."""
    year, mon = (int(x) for x in month.split("-"))
    first_next = dt.date(year + mon // 12, mon % 12 + 1, 1)
    day = first_next - dt.timedelta(days=1)
    return dt.datetime(day.year, day.month, day.day, 23, tzinfo=dt.UTC)
