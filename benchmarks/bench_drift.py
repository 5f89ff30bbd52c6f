"""Benchmark the Polars drift engine against Evidently 0.7's DataDriftPreset.

Usage::

    python benchmarks/bench_drift.py                          # 200k and 1M, windows, mixed
    python benchmarks/bench_drift.py --sizes 200k,1m,10m --skip-evidently-above 1m
    python benchmarks/bench_drift.py --sizes 1mx10,1mx20 --cli 5 --mixed-rows 0 --no-windows

Data is generated (seeded) into benchmarks/.data/ as Parquet and reused. For each size we
time our engine from Parquet paths, from in-memory frames, and against stored reference
stats, then Evidently's DataDriftPreset on pandas frames, and check that every column's
score agrees (rtol 1e-9) with identical drift flags. Sizes above ``--skip-evidently-above``
run ours only, in a child process so its peak RSS can be reported. A markdown table of the
figures is printed at the end.

``--cli N`` adds the whole command as a user runs it: ``workbench drift REF CUR --json`` in its
own process (start-up, imports, store, the comparison, the stored report), in a workspace
holding both files as snapshots. ``cli_first_s`` is the first comparison, which computes and
stores the reference statistics; ``cli_stored_*`` are N later runs reading them back (best and
median); ``speedup_cli`` is Evidently's time over the best of those, ``speedup_cli_median`` over
their median. A size may name its column count: ``1mx10``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from workbench.drift import (  # noqa: E402 - after the path tweak for a plain checkout
    compute_drift,
    compute_reference_stats,
    drift_over_time,
)

DATA = ROOT / ".data"
ROWS: list[dict[str, Any]] = []


def parse_size(text: str) -> int:
    """'200k' -> 200_000, '1m' -> 1_000_000."""
    text = text.strip().lower()
    mult = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("km")) * mult)


def parse_case(text: str) -> tuple[int, int]:
    """'1m' -> (1_000_000, 20), '1mx10' -> (1_000_000, 10): rows and numeric columns."""
    rows, _, cols = text.strip().lower().partition("x")
    n = parse_size(rows)
    return n, int(cols) if cols else (10 if n <= 200_000 else 20)


def numeric_frame(n: int, k: int, seed: int, shift: float) -> pl.DataFrame:
    """k float columns; in the shifted frame every other column moves by ``shift``."""
    rng = np.random.default_rng(seed)
    cols = {}
    for i in range(k):
        s = shift if i % 2 else 0.0
        kind = i % 4
        if kind == 0:
            cols[f"n{i}"] = rng.normal(s, 1, n)
        elif kind == 1:
            cols[f"n{i}"] = rng.lognormal(s, 0.7, n)
        elif kind == 2:
            cols[f"n{i}"] = np.round(rng.standard_t(3, n) + s, 3)
        else:
            cols[f"n{i}"] = rng.gamma(2 + s, 1.5, n)
    return pl.DataFrame(cols)


def mixed_frame(n: int, seed: int, shift: float) -> pl.DataFrame:
    """6 numerical (float and wide int) and 4 categorical (strings, small int, bool)."""
    rng = np.random.default_rng(seed)
    df = numeric_frame(n, 4, seed, shift)
    p = [0.5, 0.3, 0.15, 0.05] if shift == 0 else [0.45, 0.3, 0.15, 0.1]
    return df.with_columns(
        pl.Series("amount", rng.integers(0, 5000 + int(500 * shift), n)),
        pl.Series("score", rng.beta(2, 5 + shift, n)),
        pl.Series("plan", rng.choice(["free", "basic", "pro", "team"], n, p=p)),
        pl.Series("region", rng.choice([f"r{i}" for i in range(12)], n)),
        pl.Series("seats", rng.integers(1, 6, n)),
        pl.Series("active", rng.random(n) < 0.7 - 0.05 * shift),
    )


def cached(name: str, make) -> Path:
    """Write the generated frame to benchmarks/.data/<name>.parquet once."""
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"{name}.parquet"
    if not path.exists():
        make().write_parquet(path)
    return path


def timed(fn, *args, **kwargs) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def run_evidently(ref: pl.DataFrame, cur: pl.DataFrame) -> tuple[dict, float]:
    """Evidently DataDriftPreset (defaults); returns per-column (score, drifted) and time."""
    from evidently import Dataset, Report
    from evidently.presets import DataDriftPreset

    ref_pd, cur_pd = ref.to_pandas(), cur.to_pandas()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        snap = Report([DataDriftPreset()], include_tests=True).run(
            Dataset.from_pandas(cur_pd), Dataset.from_pandas(ref_pd)
        )
        elapsed = time.perf_counter() - t0
    d = snap.dict()
    status = {t["metric_config"]["metric_id"]: t["status"] for t in d["tests"]}
    cols = {}
    for m in d["metrics"]:
        if m["config"]["type"].endswith("ValueDrift"):
            cols[m["config"]["column"]] = (float(m["value"]), status.get(m["id"]) == "FAIL")
    return cols, elapsed


def compare(report, theirs: dict) -> str:
    """'equal' when every column agrees to rtol 1e-9 with the same flag; else the diffs."""
    bad = []
    for col in report.columns:
        score, drifted = theirs[col.column]
        if not math.isclose(col.score, score, rel_tol=1e-9, abs_tol=1e-300) or (
            col.drifted != drifted
        ):
            bad.append(f"{col.column}: ours {col.score!r}/{col.drifted} vs {score!r}/{drifted}")
    if set(theirs) != {c.column for c in report.columns}:
        bad.append("column sets differ")
    return "equal" if not bad else "DIFFERENT: " + "; ".join(bad)


def bench_pair(
    label: str, ref_path: Path, cur_path: Path, with_evidently: bool, cli_repeat: int = 0
) -> None:
    """Our engine three ways, the whole command (``cli_repeat`` > 0), then Evidently."""
    report, t_paths = timed(compute_drift, ref_path, cur_path)
    ref, cur = pl.read_parquet(ref_path), pl.read_parquet(cur_path)
    _, t_frames = timed(compute_drift, ref, cur)
    stats, t_stats = timed(compute_reference_stats, ref)
    _, t_with_stats = timed(compute_drift, stats, cur)
    row = {
        "case": label,
        "ours_parquet_s": t_paths,
        "ours_frames_s": t_frames,
        "ref_stats_s": t_stats,
        "ours_with_stats_s": t_with_stats,
        "drift_share": report.share,
    }
    del ref, cur, stats  # the CLI and Evidently runs should not share memory with them
    if cli_repeat:
        cli_report, cli_times = bench_cli(ref_path, cur_path, cli_repeat)
        row.update(cli_times)
        if cli_report["columns"] != report.to_dict()["columns"]:
            row["cli_check"] = "DIFFERENT from the in-process report"
    if with_evidently:
        ref, cur = pl.read_parquet(ref_path), pl.read_parquet(cur_path)
        theirs, t_ev = run_evidently(ref, cur)
        row.update(evidently_s=t_ev, speedup_frames=t_ev / t_frames)
        row.update(speedup_with_stats=t_ev / t_with_stats, check=compare(report, theirs))
        if cli_repeat:
            row["speedup_cli"] = t_ev / row["cli_stored_best_s"]
            row["speedup_cli_median"] = t_ev / row["cli_stored_median_s"]
    ROWS.append(row)
    print(json.dumps(row, default=str), flush=True)


def _workbench(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess, float, float]:
    """Run ``workbench ARGS`` as a user would; returns the process, wall and CPU seconds.

    Bytecode is cached as after any install (``PYTHONDONTWRITEBYTECODE`` would make every run
    compile our modules from source).
    """
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE",)}
    env["PYTHONPATH"] = str(ROOT.parent)
    env.pop("WORKBENCH_WORKSPACE", None)
    cmd = [sys.executable, "-c", "from workbench.cli.main import entry; entry()", *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise RuntimeError(f"workbench {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc, wall, cpu


def bench_cli(ref_path: Path, cur_path: Path, repeat: int) -> tuple[dict, dict[str, float]]:
    """``workbench drift ref cur --json`` in a fresh workspace: the first run (computes and
    stores the reference statistics), then ``repeat`` runs reading them back."""
    import duckdb

    ws = DATA / f"ws-{ref_path.stem}"
    shutil.rmtree(ws, ignore_errors=True)
    ws.mkdir(parents=True)
    _workbench("init", ".", cwd=ws)
    _workbench("data", "add", str(ref_path), "-n", "ref", cwd=ws)
    _workbench("data", "add", str(cur_path), "-n", "cur", cwd=ws)
    _workbench("drift", "ref", "cur", "--json", cwd=ws)  # warm the page cache and bytecode
    firsts = []
    for _ in range(2):
        # as if never compared: forget the stored statistics and delete their objects
        con = duckdb.connect(str(ws / ".workbench" / "meta.duckdb"))
        for (digest,) in con.execute("select stats_hash from drift_reference_stats").fetchall():
            (ws / ".workbench" / "objects" / digest[:2] / digest[2:]).unlink(missing_ok=True)
        con.execute("delete from drift_reference_stats")
        con.close()
        _, wall, _ = _workbench("drift", "ref", "cur", "--json", cwd=ws)
        firsts.append(wall)
    walls, cpus = [], []
    for _ in range(repeat):
        proc, wall, cpu = _workbench("drift", "ref", "cur", "--json", cwd=ws)
        walls.append(wall)
        cpus.append(cpu)
    shutil.rmtree(ws, ignore_errors=True)
    times = {
        "cli_first_s": min(firsts),
        "cli_stored_best_s": min(walls),
        "cli_stored_median_s": statistics.median(walls),
        "cli_stored_cpu_s": statistics.median(cpus),
    }
    return json.loads(proc.stdout), times


_CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from workbench.drift import compute_drift, compute_reference_stats
t0 = time.perf_counter()
ref = compute_reference_stats({ref!r}) if {use_stats!r} else {ref!r}
t1 = time.perf_counter()
rep = compute_drift(ref, {cur!r})
t2 = time.perf_counter()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"stats_s": t1 - t0, "drift_s": t2 - t1, "rss": rss, "share": rep.share}}))
"""


def _child(ref_path: Path, cur_path: Path, use_stats: bool) -> dict[str, Any]:
    code = _CHILD.format(
        root=str(ROOT.parent), ref=str(ref_path), cur=str(cur_path), use_stats=use_stats
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_ours_only(label: str, ref_path: Path, cur_path: Path) -> None:
    """Ours from Parquet in fresh processes (peak RSS = resource.ru_maxrss): both sides
    read from Parquet, then reference stats computed first and current tested against them."""
    full = _child(ref_path, cur_path, use_stats=False)
    staged = _child(ref_path, cur_path, use_stats=True)
    row = {
        "case": label,
        "ours_parquet_s": full["drift_s"],
        "peak_rss_mb": full["rss"],
        "ref_stats_s": staged["stats_s"],
        "ours_with_stats_s": staged["drift_s"],
        "peak_rss_with_stats_mb": staged["rss"],
        "drift_share": full["share"],
    }
    ROWS.append(row)
    print(json.dumps(row), flush=True)


def bench_windows(n_ref: int, per_month: int, k: int) -> None:
    """One reference vs 12 monthly windows: reference re-read per window vs stored stats."""
    ref_path = cached(f"win_ref_{n_ref}x{k}", lambda: numeric_frame(n_ref, k, 21, 0.0))

    def make_cur() -> pl.DataFrame:
        frames = []
        for m in range(12):
            df = numeric_frame(per_month, k, 100 + m, 0.02 * m)
            ts = pl.datetime_range(
                pl.datetime(2024, m + 1, 1), pl.datetime(2024, m + 1, 28), eager=True
            )
            frames.append(df.with_columns(ts=ts.sample(per_month, with_replacement=True, seed=m)))
        return pl.concat(frames)

    cur_path = cached(f"win_cur_{per_month}x12x{k}", make_cur)
    cur = pl.read_parquet(cur_path)

    def without_stats() -> None:
        for m in range(12):
            part = cur.filter(pl.col("ts").dt.month() == m + 1).drop("ts")
            compute_drift(ref_path, part)

    _, t_without = timed(without_stats)

    def with_stats() -> pl.DataFrame:
        stats = compute_reference_stats(ref_path)
        return drift_over_time(stats, cur, "ts", "month")

    table, t_with = timed(with_stats)
    assert table.height == 12
    row = {
        "case": f"windows: ref {n_ref:,} x {k} vs 12 months x {per_month:,}",
        "without_stats_s": t_without,
        "with_stats_s": t_with,
        "speedup": t_without / t_with,
    }
    ROWS.append(row)
    print(json.dumps(row), flush=True)


def markdown() -> str:
    """The collected figures as one markdown table."""
    keys = list(dict.fromkeys(k for r in ROWS for k in r))
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for r in ROWS:
        cells = [_fmt(r.get(k)) for k in keys]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def main(argv: list[str] | None = None) -> None:
    """Run the selected benchmarks and print the markdown table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="200k,1m", help="numeric row counts, e.g. 200k,1m,10m")
    ap.add_argument("--skip-evidently-above", default="1m", help="ours only above this size")
    ap.add_argument("--mixed-rows", default="200k", help="rows of the mixed table ('0' = skip)")
    ap.add_argument("--no-windows", action="store_true", help="skip the monthly windows case")
    ap.add_argument(
        "--cli", type=int, default=0, metavar="N",
        help="also time `workbench drift` as a whole process: the first run, then N more",
    )  # fmt: skip
    args = ap.parse_args(argv)
    limit = parse_size(args.skip_evidently_above)
    for size, k in [parse_case(s) for s in args.sizes.split(",") if s]:
        ref = cached(f"num_ref_{size}x{k}", lambda n=size, k=k: numeric_frame(n, k, 1, 0.0))
        cur = cached(f"num_cur_{size}x{k}", lambda n=size, k=k: numeric_frame(n, k, 2, 0.05))
        label = f"numeric {size:,} x {k}"
        if size > limit:
            bench_ours_only(label + " (Parquet, own process)", ref, cur)
        else:
            bench_pair(label, ref, cur, with_evidently=True, cli_repeat=args.cli)
    mixed = parse_size(args.mixed_rows)
    if mixed:
        ref = cached(f"mixed_ref_{mixed}", lambda: mixed_frame(mixed, 3, 0.0))
        cur = cached(f"mixed_cur_{mixed}", lambda: mixed_frame(mixed, 4, 0.3))
        bench_pair(f"mixed {mixed:,} x 10", ref, cur, with_evidently=mixed <= limit)
    if not args.no_windows:
        bench_windows(200_000, 100_000, 10)
    print()
    print(markdown())


if __name__ == "__main__":
    main()
