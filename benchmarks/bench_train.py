"""Training overhead: workbench training vs bare ``lightgbm.train``, MLflow logging included.

Same generated data, same rows in train/valid/holdout, same parameters (early stopping
included), measured two ways, bare and ours alternating, best of ``--repeat``:

* in one process: ``train()`` (+ ``log_run``) against ``lightgbm.train`` given the feature
  matrix ready-made, so all our encoding, splitting, metric, curve and serialisation work
  counts against us;
* as commands: ``workbench train REF --wait-mlflow`` (a whole OS process: start, imports
  including MLflow's, loading the snapshot, training, scoring the holdout, recording the run,
  MLflow logging) against two bare scripts that read the same Parquet, encode it, train and
  save the model, one of them also scoring the holdout as every workbench run does.
  ``--wait-mlflow`` keeps MLflow inside the timed command, as before the background mirror
  (plain ``workbench train`` now leaves the mirror to a detached process; see
  ``bench_train_small.py``).

Target: <= 1.10x wall time.

    .venv/bin/python benchmarks/bench_train.py --rows 1000000 --rounds 500 --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workbench.experiments import TrainSpec, train
from workbench.experiments.features import ModelMeta, encode_matrix
from workbench.experiments.params import merge_params
from workbench.experiments.split import make_split


def make_frame(rows: int, numeric: int, seed: int = 0):
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    cols = {f"x{i}": rng.normal(size=rows) for i in range(numeric)}
    cols["region"] = rng.choice(["north", "south", "east", "west"], rows)
    cols["plan"] = rng.choice([f"p{i}" for i in range(30)], rows)
    logit = cols["x0"] - 0.5 * cols["x1"] + 0.3 * cols["x2"] * cols["x3"]
    logit = logit + (cols["region"] == "north") * 0.8
    cols["label"] = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    return pl.DataFrame(cols)


def bare(df, spec: TrainSpec) -> tuple[float, float]:
    """lightgbm.train on the same rows and parameters; data preparation not timed.

    Returns the training time alone and with the holdout scored (``booster.predict`` on the
    test rows, which every workbench run does to record its holdout metrics).
    """
    import lightgbm as lgb
    import numpy as np

    _, (tr, va, te) = make_split(
        df, kind="random", seed=spec.seed, test_size=spec.test_size, valid_size=spec.valid_size
    )
    features = [c for c in df.columns if c != "label"]
    cats = ["region", "plan"]
    levels = {c: sorted(df[c].unique().to_list()) for c in cats}
    meta = ModelMeta("binary", "label", features, {}, levels, [0, 1])
    x, y = encode_matrix(meta, df), df["label"].to_numpy().astype(np.float64)
    params = merge_params(spec.params, task="binary", num_class=None, seed=spec.seed)
    start = time.perf_counter()
    dtrain = lgb.Dataset(x[tr], y[tr], feature_name=features, categorical_feature=cats)
    dvalid = lgb.Dataset(x[va], y[va], reference=dtrain)
    booster = lgb.train(params, dtrain, valid_sets=[dvalid])
    elapsed = time.perf_counter() - start
    booster.predict(x[te], num_iteration=booster.best_iteration)
    scored = time.perf_counter() - start
    print(
        f"  bare lightgbm.train: {elapsed:7.2f}s  best_iteration={booster.best_iteration}\n"
        f"  + holdout predict:   {scored:7.2f}s"
    )
    return elapsed, scored


def ours(df, spec: TrainSpec, mlflow_dir: Path) -> tuple[float, float, float]:
    """Our train() then log_run; the log is timed as the process's first and as a later one.

    MLflow's first model log in a process also maps every installed distribution to its
    modules (to check the pinned requirements), about a second that later logs skip: a CLI
    ``workbench train`` pays it once per command, the TUI once per session.
    """
    from workbench.experiments import log_run

    start = time.perf_counter()
    result = train(df, spec)
    trained = time.perf_counter() - start
    uri = f"sqlite:///{mlflow_dir / 'mlflow.db'}"
    art = (mlflow_dir / "art").as_uri()
    logged = []
    for _ in range(2):
        begin = time.perf_counter()
        log_run(uri, "bench", result, "bench@v1", artifact_root=art)
        logged.append(time.perf_counter() - begin)
    print(
        f"  workbench train():   {trained:7.2f}s  best_iteration={result.best_iteration}  "
        f"auc={result.metrics['auc']:.4f}\n"
        f"  + MLflow log_run:    {trained + logged[0]:7.2f}s (first log in the process)"
        f"  {trained + logged[1]:7.2f}s (a later log)"
    )
    return trained, trained + logged[0], trained + logged[1]


def warm_mlflow(mlflow_dir: Path) -> None:
    """Import mlflow and create its tracking database up front (done once per workspace)."""
    import mlflow

    start = time.perf_counter()
    client = mlflow.MlflowClient(f"sqlite:///{mlflow_dir / 'mlflow.db'}")
    client.create_experiment("bench", artifact_location=(mlflow_dir / "art").as_uri())
    print(f"  (one-off: mlflow import + tracking db creation {time.perf_counter() - start:.1f}s)")


BARE_SCRIPT = """
import json, sys
import lightgbm as lgb, numpy as np, polars as pl
data, split, params, out, score = sys.argv[1:6]
df = pl.read_parquet(data)
cats = ["region", "plan"]
feats = [c for c in df.columns if c != "label"]
x = df.select(
    (pl.col(c).rank("dense") - 1).cast(pl.Float64) if c in cats else pl.col(c) for c in feats
).to_numpy()
y = df["label"].to_numpy().astype(np.float64)
parts = np.load(split)
tr, va, te = parts["train"], parts["valid"], parts["test"]
dtrain = lgb.Dataset(x[tr], y[tr], feature_name=feats, categorical_feature=cats)
dvalid = lgb.Dataset(x[va], y[va], reference=dtrain)
booster = lgb.train(json.loads(params), dtrain, valid_sets=[dvalid])
if score == "score":
    booster.predict(x[te], num_iteration=booster.best_iteration)
booster.save_model(out, num_iteration=booster.best_iteration)
print(booster.best_iteration)
"""


def _child_cpu() -> float:
    """CPU seconds (user + system) used so far by this process's finished children."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def commands(
    df, spec: TrainSpec, work: Path, repeat: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """``workbench train`` against two bare scripts, all whole processes, rounds alternating.

    Returns the wall times and the CPU times (user + system, all threads) of every process:
    CPU time is the work done, which neighbours on a shared machine disturb far less.

    The bare scripts read the same Parquet, encode it, train on the same rows and save the
    model; one also scores the holdout (``booster.predict``, which every workbench run does to
    record its holdout metrics), the other is ``lightgbm.train`` alone.
    """
    import numpy as np

    from workbench.experiments.params import merge_params

    data = work / "bench.parquet"
    df.write_parquet(data)
    _, (tr, va, te) = make_split(
        df, kind="random", seed=spec.seed, test_size=spec.test_size, valid_size=spec.valid_size
    )
    np.savez(work / "split.npz", train=tr, valid=va, test=te)
    params = merge_params(spec.params, task="binary", num_class=None, seed=spec.seed)
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI",)}
    cli = [sys.executable, "-c", "from workbench.cli.main import entry; entry()", "-w", str(work)]
    subprocess.run([*cli, "init", str(work)], check=True, capture_output=True, env=env)
    subprocess.run(
        [*cli, "data", "add", str(data), "--name", "bench", "--target", "label"],
        check=True, capture_output=True, env=env,
    )  # fmt: skip
    train_cmd = [*cli, "train", "bench@v1", "--task", "binary", "--seed", str(spec.seed),
                 "--wait-mlflow"]  # fmt: skip
    train_cmd += [f"--param={k}={v}" for k, v in spec.params.items()]
    bare_cmd = [sys.executable, "-c", BARE_SCRIPT, str(data), str(work / "split.npz"),
                json.dumps(params), str(work / "bare_model.txt")]  # fmt: skip
    # a workspace's first training also creates MLflow's SQLite store (its schema migrations):
    # a one-off, timed here on a one-round model and kept out of the comparison
    start = time.perf_counter()
    subprocess.run(
        [*train_cmd, "--param=num_iterations=1"], check=True, capture_output=True, env=env
    )
    print(f"  first training in the workspace, 1 round (creates MLflow's store): "
          f"{time.perf_counter() - start:.2f}s")  # fmt: skip
    sides = {
        "bare train only": [*bare_cmd, "no-score"],
        "bare train + score": [*bare_cmd, "score"],
        "workbench train": train_cmd,
    }
    times: dict[str, list[float]] = {name: [] for name in sides}
    cpu: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(repeat):
        for name, cmd in sides.items():
            start, start_cpu = time.perf_counter(), _child_cpu()
            subprocess.run(cmd, check=True, capture_output=True, env=env)
            times[name].append(time.perf_counter() - start)
            cpu[name].append(_child_cpu() - start_cpu)
        ours = times["workbench train"][-1]
        print("  " + "   ".join(f"{name}: {t[-1]:6.2f}s (cpu {cpu[name][-1]:5.1f}s)"
                                for name, t in times.items())
              + f"   ratios {ours / times['bare train only'][-1]:.3f}x / "
              f"{ours / times['bare train + score'][-1]:.3f}x")  # fmt: skip
    return times, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--numeric", type=int, default=18)
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--skip-commands", action="store_true", help="in-process part only")
    parser.add_argument("--skip-in-process", action="store_true", help="commands only")
    args = parser.parse_args()
    df = make_frame(args.rows, args.numeric)
    params = {"num_iterations": args.rounds, "num_threads": args.threads}
    spec = TrainSpec(target="label", task="binary", params=params)
    print(f"{args.rows} rows x {df.width - 1} features, up to {args.rounds} rounds")
    with tempfile.TemporaryDirectory() as tmp:
        if args.skip_in_process:
            runs = []
        else:
            warm_mlflow(Path(tmp))
            runs = [(bare(df, spec), ours(df, spec, Path(tmp))) for _ in range(args.repeat)]
    if runs:
        base = min(b[0] for b, _ in runs)
        scored = min(b[1] for b, _ in runs)
        trained, first, later = (min(o[i] for _, o in runs) for i in range(3))
        print(
            f"in one process, best of {args.repeat}:\n"
            f"ratio vs bare train:           train() {trained / base:.3f}x   with MLflow "
            f"{first / base:.3f}x first log, {later / base:.3f}x later logs\n"
            f"ratio vs bare train + predict: train() {trained / scored:.3f}x   with MLflow "
            f"{first / scored:.3f}x first log, {later / scored:.3f}x later logs"
        )
    if args.skip_commands:
        return
    print("as commands (whole processes):")
    with tempfile.TemporaryDirectory() as tmp:
        times, cpu = commands(df, spec, Path(tmp), args.repeat)
    for label, series in (("wall time", times), ("CPU time", cpu)):
        ours = series.pop("workbench train")
        print(f"{label}, best of {args.repeat}: workbench train {min(ours):.2f}s"
              f"{' (target <= 1.10x)' if series is times else ''}")  # fmt: skip
        for name, bare_t in series.items():
            rounds = [o / b for o, b in zip(ours, bare_t, strict=True)]
            print(
                f"  against {name}: {min(bare_t):.2f}s, ratio of the bests "
                f"{min(ours) / min(bare_t):.3f}x, median of the rounds' ratios "
                f"{statistics.median(rounds):.3f}x"
            )
    print("(a round's three processes run back to back, so slow spells of this shared machine "
          "hit all three)")  # fmt: skip


if __name__ == "__main__":
    main()
