"""`workbench data add` of wide CSVs (thousands of columns) against bare Polars.

Profiling used to be quadratic in the number of columns (one-row files of 2k, 5k and 10k
columns took 4.5, 26 and 96 s; 200k columns did not finish). Each size is timed as whole OS
processes (interpreter start and imports included), best of N, beside two anchors: bare
``pl.read_csv`` + ``write_parquet`` giving the frame `data add` stores (types from 10,000
rows, dates parsed), and the same with Polars' defaults (types from 100 rows, no dates).

    python benchmarks/bench_wide.py               # 2k, 10k, 50k columns x 1 and 1,000 rows
    python benchmarks/bench_wide.py --cols 2000 10000 --rows 1 --repeat 3
    python benchmarks/bench_wide.py --rows 1 --cols 2000 --before /path/to/older/checkout

``workbench`` is imported from this checkout; ``--before`` also times `data add` with another
checkout's. Every process runs in a scratch folder, so the current folder never decides which
``workbench`` is imported.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_data_add import BARE, BARE_DEFAULTS, OURS, make_csv, timed

REPO = Path(__file__).resolve().parents[1]


def _env(checkout: Path) -> dict:
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(checkout), *([path] if path else [])])}


def data_add(csv: Path, work: Path, checkout: Path = REPO) -> float:
    """Seconds of `workbench data add` of ``csv`` into a new workspace, with ``checkout``'s
    code."""
    env = _env(checkout)
    ws = work / "ws"
    shutil.rmtree(ws, ignore_errors=True)
    cli = [sys.executable, "-c", OURS]
    subprocess.run([*cli, "init", str(ws)], check=True, capture_output=True, env=env, cwd=work)
    try:
        return timed([*cli, "-w", str(ws), "data", "add", str(csv), "-n", "w"], env=env, cwd=work)
    finally:
        shutil.rmtree(ws, ignore_errors=True)


def measure(csv: Path, work: Path, repeat: int, before: Path | None) -> list[float]:
    """Best-of-``repeat`` seconds: the two anchors, `data add`, and `data add` of ``before``."""
    times: list[list[float]] = [[], [], [], []]
    out = str(work / "bare.parquet")
    for _ in range(repeat):
        times[0].append(timed([sys.executable, "-c", BARE, str(csv), out], cwd=work))
        times[1].append(timed([sys.executable, "-c", BARE_DEFAULTS, str(csv), out], cwd=work))
        times[2].append(data_add(csv, work))
        if before:
            times[3].append(data_add(csv, work, before))
    return [min(t) for t in times if t]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cols", type=int, nargs="+", default=[2_000, 10_000, 50_000])
    parser.add_argument("--rows", type=int, nargs="+", default=[1, 1_000])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--before", metavar="DIR", type=Path, help="Another checkout to time.")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-wide-"))
    heads = ["rows x columns", "CSV", "bare, same frame", "bare, defaults", "workbench data add"]
    heads += ["ratio (same frame)", *(["before (--before)", "ratio"] if args.before else [])]
    print(f"best of {args.repeat}\n\n| " + " | ".join(heads) + " |")
    print("|" + " --- |" * len(heads))
    try:
        for rows in args.rows:
            for cols in args.cols:
                csv = make_csv(rows, cols, decimals=2)
                bare, defaults, *timings = measure(csv, work, args.repeat, args.before)
                cells = [f"{rows:,} x {cols:,}", f"{csv.stat().st_size / 1e6:,.1f} MB"]
                cells += [f"{bare:.2f} s", f"{defaults:.2f} s"]
                cells += [f"{t:.2f} s | {t / bare:.2f}x" for t in timings]
                print("| " + " | ".join(cells) + " |", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
