"""Run listing: workbench ``Workspace.runs`` vs ``mlflow.search_runs`` on the same runs.

Inserts N runs (10 params, 10 metrics each) through ``Workspace.insert_runs``, times ``runs`` with a
filter and a sort, logs the same runs to an MLflow SQLite tracking store (capped by
``--mlflow-max``: MLflow logs one run per call, about 10-20 ms each) and times
``mlflow.search_runs`` with the equivalent filter and order.

    .venv/bin/python benchmarks/bench_runs_query.py --sizes 1000,10000,100000 --mlflow-max 10000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workbench.api import RunInput, Workspace

WHERE = "auc > 0.8 and num_leaves = 31"
SORT = "-auc"
MLFLOW_FILTER = "metrics.auc > 0.8 and params.num_leaves = '31'"
MLFLOW_ORDER = ["metrics.auc DESC"]
METRICS = ["auc", "logloss", "accuracy", "f1", "precision", "recall", "m7", "m8", "m9", "m10"]


def make_runs(n: int, seed: int = 0) -> list[RunInput]:
    import numpy as np

    rng = np.random.default_rng(seed)
    leaves = rng.choice([15, 31, 63, 127], n)
    values = rng.random((n, len(METRICS)))
    return [
        RunInput(
            params={
                "num_leaves": int(leaves[i]),
                "learning_rate": float(rng.choice([0.01, 0.05, 0.1])),
                "max_depth": int(rng.integers(-1, 12)),
                "min_data_in_leaf": int(rng.integers(5, 100)),
                "feature_fraction": round(float(rng.random()), 3),
                "bagging_fraction": round(float(rng.random()), 3),
                "lambda_l1": round(float(rng.random()), 3),
                "lambda_l2": round(float(rng.random()), 3),
                "boosting": "gbdt",
                "seed": i,
            },
            metrics=dict(zip(METRICS, (float(v) for v in values[i]), strict=True)),
            snapshot_ref=f"churn@v{i % 5 + 1}",
            target="churn",
            task="binary",
        )
        for i in range(n)
    ]


def timed(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def bench_workbench(root: Path, runs: list[RunInput], repeat: int) -> dict[str, float]:
    ws = Workspace.init(root)
    start = time.perf_counter()
    ws.insert_runs(runs)
    insert_s = time.perf_counter() - start
    ws.runs(WHERE, SORT)  # warm the OS cache
    full, frame = timed(lambda: ws.runs(WHERE, SORT), repeat)
    top, _ = timed(lambda: ws.runs(WHERE, SORT, limit=100), repeat)
    return {"insert_s": insert_s, "list_s": full, "list100_s": top, "rows": frame.height}


def bench_mlflow(root: Path, runs: list[RunInput], repeat: int) -> dict[str, float]:
    import mlflow
    from mlflow.entities import Metric, Param

    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = mlflow.MlflowClient(uri)
    exp = client.create_experiment("bench", artifact_location=(root / "art").as_uri())
    start = time.perf_counter()
    now = int(time.time() * 1000)
    for run in runs:
        run_id = client.create_run(exp).info.run_id
        client.log_batch(
            run_id,
            metrics=[Metric(k, v, now, 0) for k, v in run.metrics.items()],
            params=[Param(k, str(v)) for k, v in run.params.items()],
        )
    log_s = time.perf_counter() - start
    mlflow.set_tracking_uri(uri)

    def search():
        return mlflow.search_runs(
            [exp], filter_string=MLFLOW_FILTER, order_by=MLFLOW_ORDER, max_results=200_000
        )

    elapsed, frame = timed(search, repeat)
    return {"log_s": log_s, "search_s": elapsed, "rows": len(frame)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--mlflow-max", type=int, default=10_000, help="skip MLflow above this")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"filter: {WHERE!r}  sort: {SORT!r}   (MLflow: {MLFLOW_FILTER!r}, {MLFLOW_ORDER})")
    header = "runs     matched  wb insert  wb list  wb list100  mlflow log  mlflow search  ratio"
    print(header)
    for n in (int(s) for s in args.sizes.split(",")):
        runs = make_runs(n)
        with tempfile.TemporaryDirectory() as tmp:
            wb = bench_workbench(Path(tmp), runs, args.repeat)
            ml = bench_mlflow(Path(tmp), runs, args.repeat) if n <= args.mlflow_max else None
        line = (
            f"{n:<8} {wb['rows']:<8} {wb['insert_s']:8.2f}s {wb['list_s'] * 1000:7.1f}ms "
            f"{wb['list100_s'] * 1000:8.1f}ms"
        )
        if ml:
            assert ml["rows"] == wb["rows"], (ml["rows"], wb["rows"])
            ratio = ml["search_s"] / wb["list_s"]
            line += f"  {ml['log_s']:9.1f}s {ml['search_s'] * 1000:11.1f}ms  {ratio:5.1f}x"
        else:
            line += f"  (MLflow skipped above --mlflow-max={args.mlflow_max})"
        print(line, flush=True)


if __name__ == "__main__":
    main()
