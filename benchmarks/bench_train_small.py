"""The command-line tax on small data: ``workbench train`` against a bare script, whole processes.

Most iterations happen on small tables, where the training itself takes well under a second
and everything around it (interpreter start, imports, the store, MLflow) decides how long a
command takes. This times, on a generated adult-income-like table (17,000 rows: ages, work
class, education, marital status, occupation, hours, capital gains, country, nulls in three
text columns; the target ``income`` is ">50K" or "<=50K"):

* ``bare``: a script run as its own process that imports Polars and LightGBM, reads the
  snapshot's Parquet object, encodes the text columns, trains with the workbench's parameters
  on the workbench's rows (early stopping included), scores the holdout and saves the model.
  ``import lightgbm`` as anyone would write it pulls in scikit-learn and SciPy when they are
  installed; ``bare (lean)`` imports LightGBM the way workbench commands do (without them), a
  stricter anchor;
* ``workbench train``: the real command, MLflow mirror on (logged by a detached background
  process after the run is recorded: the command returns before MLflow is imported);
* ``workbench train --wait-mlflow``: the same, with the mirror logged before the command
  returns (the behaviour before the background mirror).

Rounds alternate the sides. After each ``workbench train`` the script waits until the
background mirror has finished (outside the timing) so it never competes with the next
process, and reports how long after the command's start the MLflow run was complete.

    .venv/bin/python benchmarks/bench_train_small.py --rounds 8
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

ROWS = 17_000

BARE_SCRIPT = """
import json, sys
if sys.argv[6] == "lean":
    sys.modules["sklearn"] = None  # LightGBM's `try: import sklearn` then skips it
import lightgbm as lgb, numpy as np, polars as pl
if sys.argv[6] == "lean":
    del sys.modules["sklearn"]
data, split, params, out, target = sys.argv[1:6]
df = pl.read_parquet(data)
feats = [c for c in df.columns if c != target]
cats = [c for c in feats if df.schema[c] == pl.String]
x = df.select(
    (pl.col(c).rank("dense") - 1).cast(pl.Float64) if c in cats else pl.col(c).cast(pl.Float64)
    for c in feats
).to_numpy()
y = (df[target] == ">50K").to_numpy().astype(np.float64)
parts = np.load(split)
tr, va, te = parts["train"], parts["valid"], parts["test"]
dtrain = lgb.Dataset(x[tr], y[tr], feature_name=feats, categorical_feature=cats)
dvalid = lgb.Dataset(x[va], y[va], reference=dtrain)
booster = lgb.train(json.loads(params), dtrain, valid_sets=[dvalid])
booster.predict(x[te], num_iteration=booster.best_iteration)
booster.save_model(out, num_iteration=booster.best_iteration)
"""


def adult_like(rows: int = ROWS, seed: int = 11):
    """An adult-income-like table (the shape of the UCI census extract), seeded."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)

    def pick(values: list[str], weights: list[float] | None = None) -> np.ndarray:
        p = None if weights is None else np.asarray(weights) / np.sum(weights)
        return rng.choice(values, rows, p=p)

    age = np.clip(rng.gamma(6.0, 6.5, rows), 17, 90).astype(np.int64)
    education = pick(
        ["HS-grad", "Some-college", "Bachelors", "Masters", "Assoc-voc", "11th", "Assoc-acdm",
         "10th", "7th-8th", "Prof-school", "9th", "12th", "Doctorate", "5th-6th"],
        [32, 22, 16, 5, 4, 4, 3, 3, 2, 2, 2, 1, 1, 1],
    )  # fmt: skip
    years = {"Doctorate": 16, "Prof-school": 15, "Masters": 14, "Bachelors": 13,
             "Assoc-acdm": 12, "Assoc-voc": 11, "Some-college": 10, "HS-grad": 9, "12th": 8,
             "11th": 7, "10th": 6, "9th": 5, "7th-8th": 4, "5th-6th": 3}  # fmt: skip
    education_num = np.array([years[e] for e in education])
    marital = pick(["Married-civ-spouse", "Never-married", "Divorced", "Separated", "Widowed",
                    "Married-spouse-absent"], [46, 33, 14, 3, 3, 1])  # fmt: skip
    occupation = pick(
        ["Prof-specialty", "Craft-repair", "Exec-managerial", "Adm-clerical", "Sales",
         "Other-service", "Machine-op-inspct", "Transport-moving", "Handlers-cleaners",
         "Farming-fishing", "Tech-support", "Protective-serv", "Priv-house-serv"],
    )  # fmt: skip
    sex = pick(["Male", "Female"], [67, 33])
    hours = np.clip(rng.normal(40, 12, rows), 1, 99).astype(np.int64)
    gain = np.where(rng.random(rows) < 0.08, rng.lognormal(8.5, 1.0, rows), 0).astype(np.int64)
    loss = np.where(rng.random(rows) < 0.05, rng.normal(1900, 300, rows), 0).astype(np.int64)
    logit = (
        -7.5 + 0.04 * age + 0.33 * education_num + 1.8 * (marital == "Married-civ-spouse")
        + 0.03 * (hours - 40) + 0.0003 * gain + 0.6 * (occupation == "Exec-managerial")
        + 0.3 * (sex == "Male")
    )  # fmt: skip
    income = np.where(rng.random(rows) < 1 / (1 + np.exp(-logit)), ">50K", "<=50K")
    frame = pl.DataFrame({
        "age": age,
        "workclass": pick(["Private", "Self-emp-not-inc", "Local-gov", "State-gov",
                           "Self-emp-inc", "Federal-gov"], [74, 8, 7, 4, 4, 3]),
        "fnlwgt": rng.lognormal(12.0, 0.5, rows).astype(np.int64),
        "education": education,
        "education_num": education_num,
        "marital_status": marital,
        "occupation": occupation,
        "relationship": pick(["Husband", "Not-in-family", "Own-child", "Unmarried", "Wife",
                              "Other-relative"], [40, 26, 16, 11, 5, 3]),
        "race": pick(["White", "Black", "Asian-Pac-Islander", "Amer-Indian-Eskimo", "Other"],
                     [85, 10, 3, 1, 1]),
        "sex": sex,
        "capital_gain": gain,
        "capital_loss": loss,
        "hours_per_week": hours,
        "native_country": pick(["United-States", "Mexico", "Philippines", "Germany", "Canada",
                                "India", "England", "Cuba", "China", "Italy"],
                               [90, 2, 1, 1, 1, 1, 1, 1, 1, 1]),
        "income": income,
    })  # fmt: skip
    missing = rng.random((rows, 3)) < np.array([0.05, 0.05, 0.02])
    return frame.with_columns(
        workclass=pl.when(pl.Series(missing[:, 0])).then(None).otherwise(pl.col("workclass")),
        occupation=pl.when(pl.Series(missing[:, 1])).then(None).otherwise(pl.col("occupation")),
        native_country=pl.when(pl.Series(missing[:, 2]))
        .then(None)
        .otherwise(pl.col("native_country")),
    )


def _child_cpu() -> float:
    """CPU seconds (user + system) used so far by this process's finished children."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _mirrored_after(root: Path, started: float, timeout: float = 120.0) -> float | None:
    """Seconds from ``started`` until the newest run's MLflow mirror is complete."""
    from workbench.api import Workspace

    ws = Workspace(root)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run_id = ws.runs(limit=1)["id"][0]
        state = ws.run(run_id).mlflow_state
        if state == "mirrored":
            return time.perf_counter() - started
        if state == "failed":
            raise SystemExit(f"the mirror of run {run_id} failed: {ws.run(run_id).mlflow_error}")
        time.sleep(0.05)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()

    import numpy as np

    from workbench.api import Workspace
    from workbench.experiments.params import merge_params
    from workbench.experiments.split import make_split

    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI",)}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parents[1]), env.get("PYTHONPATH", "")]
    ).rstrip(os.pathsep)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        frame = adult_like(args.rows)
        frame.write_csv(work / "adult.csv")
        ws = Workspace.init(work / "project")
        ws.add_snapshot(work / "adult.csv", "adult", target="income")
        snap = ws.snapshot("adult")
        data = ws.object_path(snap)  # the snapshot's own Parquet object
        df = ws.load(snap)
        spec = {"seed": 42, "test_size": 0.2, "valid_size": 0.1}
        _, (tr, va, te) = make_split(df, kind="random", **spec)
        np.savez(work / "split.npz", train=tr, valid=va, test=te)
        params = merge_params({}, task="binary", num_class=None, seed=42)
        cli = [sys.executable, "-c", "from workbench.cli.main import entry; entry()",
               "-w", str(ws.root)]  # fmt: skip
        bare = [sys.executable, "-c", BARE_SCRIPT, str(data), str(work / "split.npz"),
                json.dumps(params), str(work / "bare.txt"), "income"]  # fmt: skip
        sides = {
            "bare": [*bare, "plain"],
            "bare (lean)": [*bare, "lean"],
            "workbench train": [*cli, "train", "adult@v1"],
            "workbench train --wait-mlflow": [*cli, "train", "adult@v1", "--wait-mlflow"],
        }
        # the workspace's first training creates MLflow's store: a one-off, kept out
        subprocess.run(sides["workbench train --wait-mlflow"], check=True, capture_output=True,
                       env=env)  # fmt: skip
        print(f"{df.height} rows x {df.width - 1} features; "
              f"{os.cpu_count()} cores; load {os.getloadavg()[0]:.1f}")  # fmt: skip
        times: dict[str, list[float]] = {name: [] for name in sides}
        cpu: dict[str, list[float]] = {name: [] for name in sides}
        mirrored: list[float] = []
        for _ in range(args.rounds):
            for name, cmd in sides.items():
                start, start_cpu = time.perf_counter(), _child_cpu()
                done = subprocess.run(cmd, capture_output=True, text=True, env=env)
                times[name].append(time.perf_counter() - start)
                cpu[name].append(_child_cpu() - start_cpu)  # the command's own process
                if done.returncode != 0:
                    raise SystemExit(f"{name} failed: {done.stderr}")
                if name == "workbench train":
                    after = _mirrored_after(ws.root, start)
                    if after is not None:
                        mirrored.append(after)
            ours = times["workbench train"][-1]
            print("  " + "   ".join(f"{name} {t[-1]:5.2f}s" for name, t in times.items())
                  + f"   ratio {ours / times['bare'][-1]:.2f}x / "
                  f"{ours / times['bare (lean)'][-1]:.2f}x lean"
                  f"   (load {os.getloadavg()[0]:.1f})")  # fmt: skip
    print(f"best and median of {args.rounds} rounds (wall; CPU of the command's process):")
    for name, series in times.items():
        print(f"  {name:<30} best {min(series):5.2f}s  median {statistics.median(series):5.2f}s"
              f"   CPU best {min(cpu[name]):5.2f}s  median {statistics.median(cpu[name]):5.2f}s")  # fmt: skip
    for label, series in (("wall", times), ("CPU", cpu)):
        for anchor in ("bare", "bare (lean)"):
            for name in [n for n in series if n.startswith("workbench")]:
                ratios = [o / b for o, b in zip(series[name], series[anchor], strict=True)]
                print(f"  {label}: {name} vs {anchor}: ratio of the bests "
                      f"{min(series[name]) / min(series[anchor]):.2f}x, median of the rounds' "
                      f"ratios {statistics.median(ratios):.2f}x")  # fmt: skip
    if mirrored:
        print(f"  MLflow run complete after the command's start: best {min(mirrored):.2f}s, "
              f"median {statistics.median(mirrored):.2f}s (in the background)")  # fmt: skip
    print("(a round's processes run back to back: a slow spell of this shared machine hits "
          "all of them; target: workbench train <= 1.3x bare)")  # fmt: skip


if __name__ == "__main__":
    main()
