"""Mirroring finished runs to MLflow after they are recorded: the store is the outbox.

A finished run that asked for MLflow is recorded with ``mlflow_state = 'pending'``; its MLflow
run is logged afterwards, by the training process (``mirror='now'``, the Python default), by a
detached background process (``mirror='background'``, the command line's default: the
command returns without importing MLflow) or by the next ``workbench mlflow sync``. Whoever
logs it:

* holds the workspace's mirror lock (``mirror_lock``, an ``flock`` released by the kernel when
  its holder dies), so two processes never log the same run twice;
* looks for an MLflow run already tagged with this workbench run (``workbench.run_id`` and
  ``workbench.workspace``, set when the MLflow run is created): a FINISHED one is adopted, any
  other (a mirror killed midway leaves it RUNNING, half-logged) is deleted and logged again;
* records ``mirrored`` and the MLflow run id, or ``failed`` and the reason (sync tries again).

The MLflow run is rebuilt from what the store keeps (``stored_result``): params, metrics,
curves, split, encodings, effective parameters, environment, model text, and the first holdout
rows as the input example, so a background or late mirror logs what the training process
would have logged.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import WorkspaceBusy

if TYPE_CHECKING:
    import subprocess

    from ..context import Context
    from ..objects import ObjectStore
    from .records import RunRecord
    from .training import TrainResult

__all__ = ["MirrorOutcome", "mirror_lock", "stored_result", "start_background", "main", "run"]

#: how long a mirror waits for another process's mirror of one run (MLflow logs take seconds)
LOCK_TIMEOUT = 300.0
_LOCK_FILE = "mlflow-mirror.lock"
_LOG_PREFIX = "mirror-"


@dataclass(frozen=True)
class MirrorOutcome:
    """What ``workbench mlflow sync`` did for one run: its MLflow run id, or why it failed."""

    run_id: int
    mlflow_run_id: str | None = None
    error: str | None = None


@contextmanager
def mirror_lock(ctx: Context, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the workspace's mirror lock (one mirroring process at a time; released if it dies)."""
    import fcntl

    path = ctx.dir / _LOCK_FILE
    with open(path, "a") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise WorkspaceBusy(
                        f"another process has been mirroring runs to MLflow for {timeout:.0f} s",
                        hint="try again later with `workbench mlflow sync`",
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def stored_result(rec: RunRecord, objects: ObjectStore, holdout_rows: object) -> TrainResult:
    """A finished run as the ``TrainResult`` its training returned, from the store's records.

    ``holdout_rows`` is the run's holdout (a Polars frame): its first rows are the MLflow
    input example, as at training.
    """
    import polars as pl

    from .features import ModelMeta
    from .records import parse_curves
    from .split import SplitRule
    from .training import EXAMPLE_ROWS, FeatureImportance, TrainResult, TrainSpec

    assert rec.model_hash is not None and rec.curves_hash is not None
    assert isinstance(holdout_rows, pl.DataFrame)
    saved = parse_curves(objects.read_bytes(rec.curves_hash))
    meta = ModelMeta.from_dict(rec.model_meta)
    importance = saved.get("importance") or {}
    return TrainResult(
        spec=TrainSpec.from_dict(rec.spec),
        task=rec.task or meta.task,
        model_text=objects.read_bytes(rec.model_hash).decode(),
        meta=meta,
        params=dict(rec.params),  # as recorded: LightGBM main names, values as MLflow text
        effective_params=rec.effective_params,
        metrics=rec.metrics,
        curves=saved["curves"],
        importance=FeatureImportance(
            importance.get("feature", []), importance.get("gain", []), importance.get("split", [])
        ),
        best_iteration=rec.best_iteration or 0,
        num_iterations=rec.best_iteration or 0,
        duration_s=rec.duration_s or 0.0,
        split=SplitRule.from_dict(rec.split),
        environment={str(k): str(v) for k, v in rec.environment.items()},
        example=holdout_rows.select(meta.inputs).head(EXAMPLE_ROWS),
    )


def _child_environment() -> dict[str, str]:
    """This process's environment, with the folder holding this ``workbench`` package on the
    path when it is not an installed one (a source checkout run with PYTHONPATH or from its
    folder)."""
    env = dict(os.environ)
    here = Path(__file__).resolve().parents[2]
    if "site-packages" not in here.parts and "dist-packages" not in here.parts:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(here), env.get("PYTHONPATH")) if p)
    return env


def start_background(ctx: Context) -> subprocess.Popen[bytes]:
    """Start a detached process that mirrors every pending run of the workspace, then exits.

    It survives the command that started it (its own session: no Ctrl-C or hang-up from the
    terminal reaches it). Failures are recorded on the runs; anything printed (a traceback, a
    library's warning) stays in ``.workbench/logs/mirror-*.log``, which is removed when
    nothing was printed.
    """
    import subprocess
    import tempfile

    logs = ctx.dir / "logs"  # not tmp/: files there belong to object writes
    logs.mkdir(parents=True, exist_ok=True)
    fd, log = tempfile.mkstemp(prefix=_LOG_PREFIX, suffix=".log", dir=logs)
    try:
        return subprocess.Popen(
            # `-c`, not `-m`: MLflow tags a run with the git commit around the main file
            # (sys.argv[0]), which would be this package's, not the project's
            [sys.executable, "-c", f"from {__name__} import run; run()", str(ctx.root), log],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=fd,
            close_fds=True,
            start_new_session=True,
            env=_child_environment(),
        )
    finally:
        os.close(fd)


def main(args: list[str]) -> None:
    """The background mirror of the workspace at ``args[0]`` (``args[1]``: its log file)."""
    from ..context import Context
    from ..snapshots.service import SnapshotService
    from .lightgbm_import import enable_lean_import
    from .service import ExperimentService

    enable_lean_import()  # it logs models; no user code runs here
    ctx = Context(args[0])
    ExperimentService(ctx, SnapshotService(ctx)).sync_mirrors(failed=False)
    sys.stderr.flush()
    log = Path(args[1]) if len(args) > 1 else None
    if log is not None and log.exists() and log.stat().st_size == 0:  # nothing to look at
        log.unlink()


def run() -> None:
    """The background mirror process: ``main(sys.argv[1:])``, then exit at once."""
    try:
        main(sys.argv[1:])
        code = 0
    except BaseException:  # the traceback goes to the log it keeps
        import traceback

        traceback.print_exc()
        code = 1
    # as the console script does: skip the interpreter's ~1 s teardown of MLflow's modules
    # (every file and transaction is closed by now), so it spends no more CPU than it must
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
