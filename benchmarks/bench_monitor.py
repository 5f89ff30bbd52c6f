"""``workbench monitor report`` over a large prediction log: 10M rows in 12 monthly windows.

The workspace: the demo's churn training data (12,000 rows), one LightGBM champion, and a
prediction log of ``--rows`` rows over 2025 (one segment per UTC day, written through the
log's frame path: ``predlog_layout.write_atomic`` with the names and fingerprints the
writer uses), their inputs resampled from the demo's monthly batches (so drift, the broken
feed and the new category are there) and scored by the champion; labels for the first half
of the year. Then the whole command runs in a fresh process, as a user would run it:

    PYTHONPATH=$PWD python benchmarks/bench_monitor.py --rows 10000000

The target is 10 s for 10M rows in 12 windows (drift against stored training statistics,
prediction drift, CBPE, labels joined, latency, errors). The machine is shared: each figure is
the best and the median of ``--repeat`` runs, with the load average printed beside them.
``--against DIR`` runs another source tree's report alternately with this one on the same
workspace (a before/after in one run: ``git archive <commit> | tar -x -C DIR``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def build(root: Path, rows: int, seed: int = 0) -> None:
    """The workspace with a champion, ``rows`` logged predictions and half a year of labels."""
    import numpy as np
    import polars as pl

    from workbench.api import Workspace
    from workbench.demo_data import generate
    from workbench.serving.predlog_layout import (
        fingerprint,
        format_time,
        segment_name,
        write_atomic,
    )

    ws = Workspace.init(root)
    (ws.dir / "workbench.toml").write_text(
        'default_role = "admin"\n[registry]\nmlflow = false\n', encoding="utf-8"
    )
    ws = Workspace(root)
    demo = generate(seed=7)
    demo.train.write_csv(root / "train.csv")
    ws.add_snapshot(root / "train.csv", "churn", target="churn", time_column="observed_at",
                    key="customer_id")  # fmt: skip
    run = ws.train("churn@v1", params={"num_threads": 2, "num_iterations": 80}, mlflow=False)
    mv = ws.register_model(run.id, "churn-model")
    ws.set_alias(mv.ref, "champion")
    model = ws.run_model(run.id)
    features = list(model.meta.features)
    # A pool per month: the demo's batches (July-December) stand for the year's months in turn.
    months = list(demo.batches)
    pools = {}
    for i in range(12):
        batch = demo.batches[months[min(i // 2, len(months) - 1)]] if i >= 6 else demo.train
        scores = model.predict(batch)
        pools[i] = batch.with_columns(pl.Series("__score", scores))
    rng = np.random.default_rng(seed)
    folder_root = ws.dir / "predictions" / "churn-model" / "v1"
    start = datetime(2025, 1, 1, tzinfo=UTC)
    days = 365
    per_day = rows // days
    labels = []
    written = 0
    for day in range(days):
        n = per_day + (1 if day < rows - per_day * days else 0)
        when = start + timedelta(days=day)
        pool = pools[when.month - 1]
        pick = rng.integers(0, pool.height, n)
        part = pool[pick]
        t0 = int(when.timestamp() * 1_000_000)
        micros = t0 + np.sort(rng.integers(0, 86_400_000_000, n))
        ids = [f"r{written + i}" for i in range(n)]
        keys = pl.Series("entity_key", ids)
        score = part["__score"]
        frame = pl.DataFrame(
            {
                "request_id": ids,
                "time": pl.Series(micros).cast(pl.Datetime("us", "UTC")),
                "model": pl.repeat("churn-model", n, eager=True),
                "version": pl.repeat(1, n, dtype=pl.Int64, eager=True),
                "role": pl.repeat("champion", n, eager=True),
                "route": pl.repeat(None, n, dtype=pl.String, eager=True),
                "entity_key": keys,
                "predicted_label": pl.Series((score >= 0.5).to_numpy()).replace_strict(
                    {True: "Yes", False: "No"}, return_dtype=pl.String
                ),
                "score": score,
                "value": pl.repeat(None, n, dtype=pl.Float64, eager=True),
                "latency_ms": pl.Series(rng.gamma(2.0, 1.5, n)),
                **{f"in_{f}": part[f] for f in features},
            }
        )
        folder = folder_root / when.strftime("%Y-%m-%d")
        folder.mkdir(parents=True, exist_ok=True)
        stamps = format_time(int(micros[0])), format_time(int(micros[-1]))
        write_atomic(frame, folder, segment_name("cmp", *stamps, fingerprint(frame.schema)))
        if when.month <= 6:
            labels.append(pl.DataFrame({"customer_id": ids, "churn": part["churn"]}))
        written += n
    pl.concat(labels).write_parquet(root / "labels.parquet")
    ws.import_labels(root / "labels.parquet", "customer_id")


def run_report(root: Path, repo: Path = REPO) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of ``workbench monitor report --json`` in a fresh process,
    running the ``workbench`` package of the source tree ``repo``.

    On a shared machine the CPU time says more than the wall time: a process that waits for a
    core does not count its wait.
    """
    import resource

    code = "from workbench.cli.main import entry; entry()"
    env = {**os.environ, "PYTHONPATH": str(repo), "WORKBENCH_WORKSPACE": str(root)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code, "monitor", "report", "--json"],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    took = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise SystemExit(proc.stderr)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return took, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="Build here and keep the workspace.")
    parser.add_argument(
        "--against",
        type=Path,
        help="Another source tree (e.g. `git archive <commit> | tar -x -C DIR`): its report "
        "runs alternately with this tree's on the same workspace, as the other side.",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp) / "bench"
        if not (root / ".workbench" / "predictions").exists() or not args.keep:
            started = time.perf_counter()
            build(root, args.rows)
            print(f"built: {args.rows:,} logged rows in {time.perf_counter() - started:.1f} s")
        wall, cpu = run_report(root)  # fits CBPE and stores it; reference statistics too
        print(f"first report (fits and stores the estimator in a new workspace): {wall:.2f} s, "
              f"CPU {cpu:.2f} s")  # fmt: skip
        sides = {"this tree": REPO, **({f"{args.against}": args.against} if args.against else {})}
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
        for _ in range(args.repeat):
            for name, repo in sides.items():
                wall, cpu = run_report(root, repo)
                runs[name].append((wall, cpu))
                print(f"  {name}: {wall:.2f} s wall, {cpu:.2f} s CPU "
                      f"(load {os.getloadavg()[0]:.1f})")  # fmt: skip
        for name, pairs in runs.items():
            times, cpus = [w for w, _ in pairs], [c for _, c in pairs]
            print(f"{name}: monitor report, {args.rows:,} rows, 12 windows: best "
                  f"{min(times):.2f} s wall, median {statistics.median(times):.2f} s; CPU best "
                  f"{min(cpus):.2f} s, i.e. {min(cpus) / 2:.2f} s on two free cores at best "
                  "(target 10 s)")  # fmt: skip


if __name__ == "__main__":
    main()
