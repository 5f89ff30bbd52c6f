"""Benchmark workbench.monitoring's CBPE and DLE against NannyML 0.13.1, in one run.

Usage::

    python benchmarks/bench_cbpe.py                       # CBPE on 1M rows, DLE on 200k
    python benchmarks/bench_cbpe.py --rows 20000 --dle-rows 20000 --repeat 2

CBPE: seeded synthetic binary data (``--rows`` reference rows and as many analysis rows,
whose second half drifts), cut into ``--chunks`` chunks of equal size; we time ``fit`` on
the reference and ``estimate`` on the analysis for ours and for NannyML's ``CBPE`` (five
metrics: ROC AUC, accuracy, F1, precision, recall), then compare every number of every
chunk (estimate, sampling error, realized value, bands, analysis thresholds) and print the
largest absolute difference. DLE likewise (MAE and RMSE, LightGBM on ``--threads`` threads
on both sides; one by default, as OpenMP threads spinning on a busy shared machine made two
threads 3x slower). NannyML's usage analytics are switched off. Frames are converted to pandas for NannyML before its clock starts. Best of
``--repeat`` for each side; the load average is printed because this machine is shared.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # NannyML's analytics: off
ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from workbench.monitoring import (  # noqa: E402 - after the path tweak for a plain checkout
    CBPE,
    DLE,
    SizeChunker,
    binary_classification_data,
    regression_data,
)
from workbench.monitoring.nannyml_compat import difference_from_nannyml  # noqa: E402

CBPE_METRICS = ["roc_auc", "accuracy", "f1", "precision", "recall"]
DLE_METRICS = ["mae", "rmse"]
FEATURES = ["x1", "x2", "x3", "segment"]


Timing = tuple[float, float]  # (wall, CPU of the whole process) in seconds


def _cpu() -> float:
    """CPU seconds of this process (all threads) and of its reaped children (our CBPE fit
    draws its calibration splits in a forked child)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def best_of(repeat: int, run: Callable[[], Any]) -> tuple[Timing, Any]:
    """Best wall time and best CPU time (all threads, and child processes) of ``repeat``
    calls, and the last call's result. CPU time is disturbed less than wall time by the
    other sessions."""
    wall, cpu, result = math.inf, math.inf, None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), _cpu()
        result = run()
        wall = min(wall, time.perf_counter() - start)
        time.sleep(0.05)  # a child of ours is reaped by now, its CPU counted
        cpu = min(cpu, _cpu() - start_cpu)
    return (wall, cpu), result


def load() -> str:
    return "load average " + " / ".join(f"{x:.1f}" for x in os.getloadavg())


def report(name: str, rows: int, ours: list[Timing], theirs: list[Timing], diff: float) -> None:
    """Print one estimator's figures: fit, estimate, total; wall and CPU; ratios."""
    print(f"\n{name}: {rows:,} reference + {rows:,} analysis rows")
    print(f"  {'':12} {'fit':>16} {'estimate':>16} {'total':>16}   (wall / CPU)")
    for label, phases in (("ours", ours), ("NannyML", theirs)):
        cells = [*phases, (sum(p[0] for p in phases), sum(p[1] for p in phases))]
        print(f"  {label:12} " + " ".join(f"{w:7.3f}s/{c:7.3f}s" for w, c in cells))
    ratios = []
    for mine, other in zip([*ours, _total(ours)], [*theirs, _total(theirs)], strict=True):
        ratios.append(f"{other[0] / mine[0]:7.1f}x/{other[1] / mine[1]:7.1f}x")
    print(f"  {'NannyML/ours':12} " + " ".join(ratios))
    print(f"  max |ours - NannyML| over all numbers: {diff:.3g}")


def _total(phases: list[Timing]) -> Timing:
    return sum(p[0] for p in phases), sum(p[1] for p in phases)


def bench_cbpe(rows: int, chunks: int, repeat: int) -> None:
    """CBPE, ours then NannyML's, same data and chunks."""
    import nannyml

    reference, analysis = binary_classification_data(rows, rows)
    size = rows // chunks
    estimator = CBPE("y_pred_proba", "y_true", "y_pred", chunker=SizeChunker(size))
    fit_ours, fitted = best_of(repeat, lambda: estimator.fit(reference))
    est_ours, result = best_of(repeat, lambda: fitted.estimate(analysis))
    print(f"  ours: calibration: {fitted.calibration.reason}")

    ref_pd, ana_pd = reference.to_pandas(), analysis.to_pandas()

    def nannyml_fit() -> Any:
        cbpe = nannyml.CBPE(
            y_pred_proba="y_pred_proba",
            y_pred="y_pred",
            y_true="y_true",
            problem_type="classification_binary",
            metrics=CBPE_METRICS,
            chunk_size=size,
        )
        return cbpe.fit(ref_pd)

    fit_theirs, theirs_fitted = best_of(repeat, nannyml_fit)
    est_theirs, theirs = best_of(repeat, lambda: theirs_fitted.estimate(ana_pd).to_df())
    diff = difference_from_nannyml(result, theirs)
    report("CBPE", rows, [fit_ours, est_ours], [fit_theirs, est_theirs], diff)


def bench_dle(rows: int, chunks: int, repeat: int, threads: int) -> None:
    """DLE, ours then NannyML's, LightGBM on ``threads`` threads on both sides."""
    import nannyml

    reference, analysis = regression_data(rows, rows)
    size = rows // chunks
    estimator = DLE(
        FEATURES,
        "y_pred",
        "y_true",
        chunker=SizeChunker(size),
        lightgbm_params={"num_threads": threads},
    )
    fit_ours, fitted = best_of(repeat, lambda: estimator.fit(reference))
    est_ours, result = best_of(repeat, lambda: fitted.estimate(analysis))

    ref_pd, ana_pd = reference.to_pandas(), analysis.to_pandas()

    def nannyml_fit() -> Any:
        dle = nannyml.DLE(
            feature_column_names=FEATURES,
            y_pred="y_pred",
            y_true="y_true",
            metrics=DLE_METRICS,
            chunk_size=size,
            hyperparameters={"n_jobs": threads},
        )
        return dle.fit(ref_pd)

    fit_theirs, theirs_fitted = best_of(repeat, nannyml_fit)
    est_theirs, theirs = best_of(repeat, lambda: theirs_fitted.estimate(ana_pd).to_df())
    diff = difference_from_nannyml(result, theirs)
    report("DLE", rows, [fit_ours, est_ours], [fit_theirs, est_theirs], diff)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="CBPE rows per period")
    parser.add_argument("--dle-rows", type=int, default=200_000, help="DLE rows per period")
    parser.add_argument("--chunks", type=int, default=10, help="chunks per period")
    parser.add_argument("--repeat", type=int, default=1, help="best of this many runs")
    parser.add_argument("--threads", type=int, default=1, help="LightGBM threads (DLE)")
    parser.add_argument("--skip-dle", action="store_true", help="CBPE only")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # NannyML logs for every chunk
    warnings.simplefilter("ignore")
    print(f"start: {load()}")
    bench_cbpe(args.rows, args.chunks, args.repeat)
    print(f"after CBPE: {load()}")
    if not args.skip_dle:
        bench_dle(args.dle_rows, args.chunks, args.repeat, args.threads)
        print(f"after DLE: {load()}")


if __name__ == "__main__":
    main()
