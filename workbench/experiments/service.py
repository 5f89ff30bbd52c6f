"""The experiments service: LightGBM training runs, sweeps, queries and comparisons.

Built with the workspace ``Context`` and the ``SnapshotService`` it trains on.

A training run is recorded as ``running`` before any work starts and always ends as
``finished``, ``failed`` (with the reason) or ``cancelled``, whatever goes wrong: the exception
is re-raised after the run is recorded, with the run's id on it as ``exc.run_id``. The model and
curves are written as objects before the row that names them. The MLflow mirror is logged after
the run is recorded finished (``mlflow_state`` pending, then mirrored or failed; see
``mirror``): by this process before ``train`` returns (``mirror='now'``), by a detached
background process (``'background'``) or by ``sync_mirrors`` (``'later'``). A failed mirror no
longer fails the run: the run stays finished, the mirror ``failed`` with its reason, and
``sync_mirrors`` tries again.

Sweeps with ``jobs > 1`` run in separate OS processes (``spawn``): each builds its own context
and services and records its runs through the store's short, lock-retrying transactions.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..errors import Cancelled, InputError, IntegrityError, WorkbenchError
from ..processes import is_alive, this_process
from ..progress import NULL_PROGRESS, CancelOnly, Progress
from . import repository as repo
from .compare import TOP_FEATURES, RunComparison, compare
from .features import TASKS
from .mirror import MirrorOutcome, mirror_lock, start_background, stored_result
from .records import RunInput, RunRecord, curves_bytes, parse_curves

if TYPE_CHECKING:
    import duckdb
    import polars as pl

    from ..context import Context
    from ..snapshots.records import Snapshot
    from ..snapshots.service import SnapshotService
    from .model import Model
    from .query import Fields
    from .training import IterationObserver, TrainResult, TrainSpec

__all__ = [
    "ExperimentService",
    "TrainRequest",
    "SweepRequest",
    "grid_combinations",
    "parse_run_id",
    "MAX_GRID",
    "MIRROR_MODES",
]

#: the largest sweep accepted (a typo in a grid should not start 10,000 runs)
MAX_GRID = 500
#: when a run's MLflow mirror is logged (see ``TrainRequest.mirror``)
MIRROR_MODES = ("now", "background", "later")


@dataclass(frozen=True)
class TrainRequest:
    """One training: which snapshot, what to learn, and how.

    ``target`` defaults to the snapshot's recorded target; the snapshot's key column is
    excluded from the features and its time column is used for ``split='time'``.

    ``mirror`` says when the MLflow mirror (with ``mlflow``) is logged, always after the run is
    recorded: ``now`` before ``train`` returns (the run comes back with its
    ``mlflow_run_id``), ``background`` by a detached process started then (the run comes back
    with ``mlflow_state='pending'``; the command line's default), ``later`` by the next
    ``workbench mlflow sync`` or background mirror.
    """

    ref: str
    target: str | None = None
    task: str = "auto"
    params: dict[str, Any] = field(default_factory=dict)
    split: str = "random"
    test_size: float = 0.2
    seed: int = 42
    time_column: str | None = None
    exclude: list[str] | None = None
    note: str | None = None
    mlflow: bool = True
    mirror: str = "now"


@dataclass(frozen=True)
class SweepRequest:
    """A sweep: one run of ``base`` per combination of ``grid`` (over ``base.params``)."""

    base: TrainRequest
    grid: dict[str, list[Any]]
    jobs: int = 1


def grid_combinations(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of a parameter grid, in the order of the keys and their values."""
    if not grid:
        raise InputError("the grid is empty", hint="give at least one key=v1,v2")
    for key, values in grid.items():
        if not isinstance(values, (list, tuple)) or not values:
            raise InputError(f"grid key '{key}' needs a non-empty list of values")
    keys = list(grid)
    combos = [dict(zip(keys, c, strict=True)) for c in itertools.product(*grid.values())]
    if len(combos) > MAX_GRID:
        raise InputError(f"the grid has {len(combos)} combinations; the limit is {MAX_GRID}")
    return combos


def parse_run_id(run_id: int | str) -> int:
    """A run id from ``42``, ``"42"`` or ``"run 42"``; InputError otherwise."""
    if isinstance(run_id, bool):
        raise InputError(f"not a run id: {run_id!r}")
    if isinstance(run_id, int):
        return run_id
    text = str(run_id).strip().lower().removeprefix("run").strip()
    if not text.isdigit():
        raise InputError(f"not a run id: {run_id!r}", hint="runs are numbered: 42 or 'run 42'")
    return int(text)


def _check_column(snap: Snapshot, column: str, what: str) -> None:
    """InputError (with the closest name) unless ``column`` is a column of ``snap``."""
    import difflib

    if column in snap.schema:
        return
    close = difflib.get_close_matches(column, list(snap.schema), n=1)
    names = list(snap.schema)
    listed = ", ".join(names[:12]) + (f", ... ({len(names)} in all)" if len(names) > 12 else "")
    hint = f"did you mean '{close[0]}'?" if close else f"columns: {listed}"
    raise InputError(f"{what} '{column}' is not a column of {snap.ref}", hint=hint)


def _reason(exc: BaseException) -> tuple[str, str]:
    """(status, reason) a run ends with when ``exc`` stopped it."""
    if isinstance(exc, Cancelled):
        return "cancelled", str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return "cancelled", "interrupted (Ctrl-C)"
    if isinstance(exc, WorkbenchError):
        return "failed", str(exc)
    if isinstance(exc, Exception):
        first = (str(exc).strip().splitlines() or [""])[0]
        return "failed", f"{type(exc).__name__}: {first}".rstrip(": ")
    return "cancelled", f"stopped ({type(exc).__name__})"


def _threads_per_job(params: dict[str, Any], jobs: int) -> dict[str, Any]:
    """Share the cores between parallel jobs unless the user chose a thread count."""
    from .params import _aliases

    aliases = _aliases()
    if any(aliases.get(str(k)) == "num_threads" for k in params):
        return params
    return {**params, "num_threads": max(1, (os.cpu_count() or 1) // jobs)}


def _interrupted(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Runs marked running whose recorded process is gone (on this host)."""
    return [
        run_id
        for run_id, process in repo.running_processes(con).items()
        if is_alive(process) is False
    ]


def _grid_worker(
    root: str, request: TrainRequest, actor: str | None
) -> tuple[int | None, str | None]:
    """One sweep run in a worker process: (run id, error text or None)."""
    from ..context import Context
    from ..snapshots.service import SnapshotService
    from .lightgbm_import import enable_lean_import

    enable_lean_import()  # the worker runs nothing but this training
    ctx = Context(root, actor)
    experiments = ExperimentService(ctx, SnapshotService(ctx))
    try:
        return experiments.train(request).id, None
    except WorkbenchError as exc:
        return getattr(exc, "run_id", None), str(exc)


class ExperimentService:
    """Training runs, sweeps, queries and comparisons."""

    def __init__(self, ctx: Context, snapshots: SnapshotService) -> None:
        self.ctx = ctx
        self.snapshots = snapshots

    # -- MLflow ------------------------------------------------------------------------------

    @property
    def tracking_uri(self) -> str:
        """Where runs are mirrored: ``MLFLOW_TRACKING_URI`` or the workspace's SQLite store."""
        from .mlflow_mirror import default_tracking_uri

        return default_tracking_uri(self.ctx.root)

    def artifact_root(self) -> str | None:
        """Where new MLflow experiments keep artifacts (None: a user's own tracking server
        decides)."""
        from .mlflow_mirror import default_artifact_root

        return (
            None if os.environ.get("MLFLOW_TRACKING_URI") else default_artifact_root(self.ctx.root)
        )

    def model_uri(self, run_id: int | str) -> str:
        """The MLflow model URI of a run (``runs:/<id>/model``) for ``mlflow.pyfunc.load_model``;
        a mirror still pending is completed first."""
        from .mlflow_mirror import MODEL_NAME

        rec = self.get(run_id)
        if rec.mirror_pending:
            rec = replace(rec, mlflow_run_id=self.mirror(rec.id))
        if not rec.mlflow_run_id:
            raise InputError(
                f"run {rec.id} was not mirrored to MLflow", hint="rerun it with MLflow"
            )
        return f"runs:/{rec.mlflow_run_id}/{MODEL_NAME}"

    # -- training ----------------------------------------------------------------------------

    def spec(self, snap: Snapshot, request: TrainRequest) -> TrainSpec:
        """The training spec a request means on ``snap``; usage errors before any run exists."""
        from .training import TrainSpec

        target = request.target or snap.target
        if not target:
            raise InputError(
                f"{snap.ref} has no recorded target column", hint="name one with --target COL"
            )
        _check_column(snap, target, "target column")
        exclude = request.exclude
        if exclude is None:
            key = snap.key_column
            exclude = [key] if key and key != target and key in snap.schema else []
        for column in exclude:
            _check_column(snap, column, "excluded column")
        if request.task not in ("auto", *TASKS):
            raise InputError(
                f"unknown task '{request.task}'", hint="auto, binary, multiclass, regression"
            )
        if request.split not in ("random", "time"):
            raise InputError(f"unknown split '{request.split}'", hint="use 'random' or 'time'")
        time_column = request.time_column
        if time_column is None and snap.time_column != target:
            time_column = snap.time_column
        if request.split == "time" and not time_column:
            why = "its time column is the target" if snap.time_column else "it records none"
            raise InputError(
                f"a time split on {snap.ref} needs a time column, and {why}",
                hint="name one with --time-column COL",
            )
        if time_column is not None:
            _check_column(snap, time_column, "time column")
        seed = request.seed
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise InputError(f"seed must be an integer, got {seed!r}")
        size = request.test_size
        if isinstance(size, bool) or not isinstance(size, (int, float)) or not 0 < size < 1:
            raise InputError(f"test_size must be between 0 and 1 (exclusive), got {size!r}")
        if request.mirror not in MIRROR_MODES:
            raise InputError(f"unknown mirror '{request.mirror}'", hint=", ".join(MIRROR_MODES))
        return TrainSpec(
            target=target,
            task=request.task,
            params=dict(request.params or {}),
            split=request.split,
            test_size=float(request.test_size),
            seed=seed,
            time_column=time_column,
            exclude=list(exclude),
        )

    def training_notes(self, request: TrainRequest) -> list[str]:
        """What a person should know about the columns before this training starts: text
        columns of numbers (trained on as categories), columns trained on as computed
        features (dates as calendar parts) and columns left out. Usage errors as ``train``."""
        from .features import plan_features

        snap = self.snapshots.get(request.ref)
        drop = self.spec(snap, request).not_features()
        notes = [
            f"{note} Trained on as a category."
            for p in snap.profile
            if p.name not in drop and (note := p.numeric_text_note())
        ]
        return notes + plan_features(snap.schema, drop).notes()

    def train(
        self,
        request: TrainRequest,
        progress: Progress = NULL_PROGRESS,
        on_iteration: IterationObserver | None = None,
    ) -> RunRecord:
        """Train LightGBM on a snapshot and record the run; returns the finished run.

        Failures and cancellation are recorded on the run, then re-raised.
        """
        snap = self.snapshots.get(request.ref)
        spec = self.spec(snap, request)
        mirror = request.mirror if request.mlflow else None
        return self._execute(snap, spec, request.note, progress, on_iteration, mirror)

    def _execute(
        self,
        snap: Snapshot,
        spec: TrainSpec,
        note: str | None,
        progress: Progress,
        on_iteration: IterationObserver | None,
        mirror: str | None,
    ) -> RunRecord:
        from .params import requested_params
        from .training import git_commit, train

        actor = self.ctx.actor  # read once: every record of this run names the same person
        # shown from the start: resolving parameter names below imports LightGBM (0.3-0.6 s)
        progress.start(f"loading {snap.ref}", total=None)
        requested = requested_params(spec.params, task=spec.task, seed=spec.seed)
        spec_data = spec.to_dict()
        with self.ctx.store.write() as con:
            run_id = repo.insert_run(
                con, spec_data, snapshot_ref=snap.ref, snapshot_hash=snap.object_hash, note=note,
                actor=actor, params=requested, process=this_process(),
            )  # fmt: skip
            self.ctx.audit(con, "run.started", f"run {run_id}",
                           {"snapshot": snap.ref, "spec": spec_data}, rows=[("runs", run_id)],
                           actor=actor)  # fmt: skip
        warming: list[threading.Thread] = []

        def warm_up_mlflow() -> None:
            from .mlflow_mirror import warm_up

            warming.append(warm_up(self.tracking_uri))

        try:
            df = self.snapshots.load(snap)
            progress.check_cancelled()
            result = train(
                df,
                spec,
                progress=progress,
                on_iteration=on_iteration,
                after_fit=warm_up_mlflow if mirror == "now" else None,
            )
            result.environment["pid"] = str(os.getpid())  # which process trained it
            commit = git_commit(self.ctx.root)
            if commit:
                result.environment["git_commit"] = commit
            progress.check_cancelled()
            self._record_finished(run_id, result, actor, mirror=mirror is not None)
        except BaseException as exc:
            self._record_end(run_id, exc, actor)
            raise
        finally:
            for thread in warming:  # never leave it importing while the process exits
                thread.join()
        if mirror == "now":
            progress.start("logging to MLflow", total=None)
            with mirror_lock(self.ctx):
                self._mirror_locked(run_id, result)
        elif mirror == "background":
            self._start_background_mirror()
        return self.get(run_id)

    def _start_background_mirror(self) -> None:
        """A detached process mirrors the pending runs; if it cannot start, they stay pending
        for ``workbench mlflow sync`` (the run is recorded, nothing is lost)."""
        try:
            start_background(self.ctx)
        except OSError:
            pass

    def _record_finished(self, run_id: int, result: TrainResult, actor: str, mirror: bool) -> None:
        """Save the model and curves as objects, then record the result on the running run
        (with its MLflow mirror pending when ``mirror``)."""
        objects = self.ctx.objects
        with objects.writing(), self.ctx.store.write() as con:
            model_hash = objects.put_bytes(result.model_text.encode())
            curves_hash = objects.put_bytes(curves_bytes(result))
            repo.record_finished(
                con, run_id, result, model_hash=model_hash, curves_hash=curves_hash,
                mirror=mirror,
            )  # fmt: skip
            self.ctx.audit(con, "run.finished", f"run {run_id}",
                           {"status": "finished", "metrics": result.metrics, "model": model_hash},
                           rows=[("runs", run_id)], actor=actor)  # fmt: skip

    def _record_end(self, run_id: int, exc: BaseException, actor: str) -> None:
        status, reason = _reason(exc)
        try:
            exc.run_id = run_id  # type: ignore[attr-defined]
        except AttributeError:
            pass
        try:
            with self.ctx.store.write() as con:
                repo.record_ended(con, run_id, status, reason)
                self.ctx.audit(con, "run.finished", f"run {run_id}",
                               {"status": status, "reason": reason}, rows=[("runs", run_id)],
                               actor=actor)  # fmt: skip
        except WorkbenchError as second:  # e.g. the store stayed busy; keep the first error
            exc.add_note(f"run {run_id} could not be marked {status}: {second}")

    # -- the MLflow mirror (see ``mirror``) ----------------------------------------------------

    def mirror(self, run_id: int | str) -> str:
        """Complete a finished run's MLflow mirror now (waiting for another process that is
        logging it) and return its MLflow run id; a run already mirrored returns at once."""
        rid = parse_run_id(run_id)
        rec = self.get(rid)
        if rec.mlflow_state == "mirrored" and rec.mlflow_run_id:
            return rec.mlflow_run_id
        with mirror_lock(self.ctx):
            return self._mirror_locked(rid)

    def sync_mirrors(
        self, progress: Progress = NULL_PROGRESS, *, failed: bool = True
    ) -> list[MirrorOutcome]:
        """Complete every pending MLflow mirror (and, with ``failed``, retry failed ones),
        oldest run first, including runs that finish meanwhile; one outcome per run.

        Idempotent: a run mirrored meanwhile is skipped, and an MLflow run left half-logged by
        a mirror that was killed is replaced (see ``mirror``). A run whose mirror fails is
        recorded as failed and the others go on.
        """
        outcomes: list[MirrorOutcome] = []
        seen: set[int] = set()
        while True:
            with self.ctx.store.read() as con:
                todo = [i for i in repo.mirrors_to_do(con, failed=failed) if i not in seen]
            if not todo:
                return outcomes
            progress.start(f"mirroring {len(todo)} run(s) to MLflow", total=len(todo))
            for rid in todo:
                seen.add(rid)
                try:
                    with mirror_lock(self.ctx):
                        outcomes.append(MirrorOutcome(rid, self._mirror_locked(rid)))
                except WorkbenchError as exc:
                    outcomes.append(MirrorOutcome(rid, error=str(exc)))
                progress.advance()
                progress.check_cancelled()

    def _mirror_locked(self, run_id: int, result: TrainResult | None = None) -> str:
        """Log a finished run's mirror (holding the mirror lock) from ``result`` or from the
        store, record it, and return the MLflow run id; a failure is recorded on the run."""
        rec = self.get(run_id)
        if rec.mlflow_state == "mirrored" and rec.mlflow_run_id:
            return rec.mlflow_run_id  # another process logged it meanwhile
        if rec.status != "finished" or not rec.mlflow_state:
            raise InputError(
                f"run {rec.id} has no MLflow mirror to log (status {rec.status}"
                f"{'' if rec.mlflow_state else ', trained without MLflow'})"
            )
        try:
            if result is None:
                result = stored_result(rec, self.ctx.objects, self.holdout(rec.id))
            mlflow_id = self._log_mirror(rec, result)
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            failure = WorkbenchError(
                f"run {rec.id} is finished, but its MLflow mirror failed: {first}",
                hint="`workbench mlflow sync` tries again; check MLFLOW_TRACKING_URI",
            )
            failure.run_id = rec.id  # type: ignore[attr-defined]
            try:
                with self.ctx.store.write() as con:
                    repo.set_mirror_failed(con, rec.id, first)
                    self.ctx.audit(con, "run.mirror_failed", f"run {rec.id}", {"error": first},
                                   rows=[("runs", rec.id)])  # fmt: skip
            except WorkbenchError as second:
                failure.add_note(f"the failure could not be recorded: {second}")
            raise failure from exc
        with self.ctx.store.write() as con:
            repo.set_mirrored(con, rec.id, mlflow_id)
            self.ctx.audit(con, "run.mirrored", f"run {rec.id}", {"mlflow_run_id": mlflow_id},
                           rows=[("runs", rec.id)])  # fmt: skip
        return mlflow_id

    def _log_mirror(self, rec: RunRecord, result: TrainResult) -> str:
        from .mlflow_mirror import log_run

        tags = {"workbench.workspace": str(self.ctx.root)}
        if rec.snapshot_hash:
            tags["workbench.snapshot_hash"] = rec.snapshot_hash
        if rec.note:
            tags["mlflow.note.content"] = rec.note
        ref = rec.snapshot_ref or "workbench"
        return log_run(
            self.tracking_uri,
            ref.partition("@")[0],
            result,
            rec.snapshot_ref,
            workbench_run_id=rec.id,
            tags=tags,
            artifact_root=self.artifact_root(),
            actor=rec.author,
        )

    def set_mlflow_run_id(self, run_id: int, mlflow_run_id: str) -> None:
        """Remember the MLflow run that mirrors a run (a model logged after the fact)."""
        with self.ctx.store.write() as con:
            repo.set_mlflow_run_id(con, run_id, mlflow_run_id)
            self.ctx.audit(con, "run.mirrored", f"run {run_id}", {"mlflow_run_id": mlflow_run_id},
                           rows=[("runs", run_id)])  # fmt: skip

    def preload(self, mlflow: bool = True) -> None:
        """Load what a training needs before it starts: LightGBM and, with ``mlflow``, MLflow
        and the workspace's tracking store (created if new).

        In a fresh process that is ~3 s of imports (LightGBM 1-1.8 s, MLflow ~1.5 s). Faces
        call it on a worker thread when the user shows the intent to train (the TUI when its
        launch form opens), so the imports overlap the time spent on the form instead of
        delaying the first training. Harmless when already loaded; errors are left for the
        training to report.
        """
        from .lightgbm_import import import_lightgbm

        try:
            import_lightgbm()
        except ImportError:
            return
        if mlflow:
            from .mlflow_mirror import preload

            preload(self.tracking_uri)

    # -- sweeps ------------------------------------------------------------------------------

    def sweep(
        self,
        request: SweepRequest,
        progress: Progress = NULL_PROGRESS,
        on_run: Callable[[RunRecord], None] | None = None,
    ) -> list[RunRecord]:
        """One run per combination of the grid over the base parameters, in grid order.

        A combination that fails is recorded as failed and the sweep goes on; cancelling
        stops it. ``jobs > 1`` trains in that many separate processes.
        """
        jobs = request.jobs
        if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
            raise InputError(f"jobs must be a positive integer, got {jobs!r}")
        combos = grid_combinations(request.grid)
        base = request.base
        snap = self.snapshots.get(base.ref)
        self.spec(snap, base)  # check the shared options once, before any run is recorded
        calls = [
            replace(base, ref=snap.ref, params={**(base.params or {}), **combo}) for combo in combos
        ]
        progress.start(f"sweep of {len(combos)} runs on {snap.ref}", total=len(combos))
        jobs = min(jobs, len(combos))
        if jobs == 1:
            return self._sweep_serial(calls, progress, on_run)
        return self._sweep_parallel(snap, calls, jobs, progress, on_run)

    def _sweep_serial(
        self,
        calls: list[TrainRequest],
        progress: Progress,
        on_run: Callable[[RunRecord], None] | None,
    ) -> list[RunRecord]:
        records = []
        for call in calls:
            try:
                record = self.train(call, progress=CancelOnly(progress))
            except (Cancelled, KeyboardInterrupt):
                raise
            except WorkbenchError as exc:
                run_id = getattr(exc, "run_id", None)
                if run_id is None:
                    raise
                record = self.get(run_id)
            records.append(record)
            progress.advance()
            if on_run is not None:
                on_run(record)
        return records

    def _sweep_parallel(
        self,
        snap: Snapshot,
        calls: list[TrainRequest],
        jobs: int,
        progress: Progress,
        on_run: Callable[[RunRecord], None] | None,
    ) -> list[RunRecord]:
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
        from concurrent.futures.process import BrokenProcessPool

        if calls[0].mlflow:
            from .mlflow_mirror import prepare_experiment

            prepare_experiment(self.tracking_uri, snap.name, self.artifact_root())
        calls = [replace(c, params=_threads_per_job(c.params, jobs)) for c in calls]
        ids: list[int | None] = [None] * len(calls)
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context)
        try:
            futures = {
                pool.submit(_grid_worker, str(self.ctx.root), call, self.ctx.actor): i
                for i, call in enumerate(calls)
            }
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in done:
                    try:
                        run_id, error = future.result()
                    except BrokenProcessPool as exc:
                        raise WorkbenchError(
                            "a sweep worker process died",
                            hint="scripts that sweep with jobs > 1 need an "
                            "`if __name__ == '__main__':` guard",
                        ) from exc
                    if run_id is None:
                        raise WorkbenchError(f"a sweep run could not start: {error}")
                    ids[futures[future]] = run_id
                    progress.advance()
                    if on_run is not None:
                        on_run(self.get(run_id))
                progress.check_cancelled()
        except BaseException:
            # workers that already started record their own end (Ctrl-C reaches them too)
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        return [self.get(i) for i in ids if i is not None]

    def rerun(
        self,
        run_id: int | str,
        *,
        progress: Progress = NULL_PROGRESS,
        on_iteration: IterationObserver | None = None,
        mlflow: bool = True,
        mirror: str = "now",
    ) -> RunRecord:
        """Train again with a run's exact spec on the same snapshot (same split, same metrics)."""
        from .training import TrainSpec

        old = self.get(run_id)
        if not old.spec or not old.spec.get("target") or not old.snapshot_ref:
            raise InputError(f"run {old.id} has no recorded training spec to rerun")
        snap = self.snapshots.get(old.snapshot_ref)
        if old.snapshot_hash and snap.object_hash != old.snapshot_hash:
            raise InputError(
                f"{old.snapshot_ref} no longer has the content run {old.id} trained on",
                hint=f"its data was {old.snapshot_hash[:12]}",
            )
        if mirror not in MIRROR_MODES:
            raise InputError(f"unknown mirror '{mirror}'", hint=", ".join(MIRROR_MODES))
        spec = TrainSpec.from_dict(old.spec)
        note = f"rerun of run {old.id}"
        return self._execute(snap, spec, note, progress, on_iteration, mirror if mlflow else None)

    def request_like(self, run: RunRecord, ref: str, note: str, mlflow: bool) -> TrainRequest:
        """A request that trains like ``run`` (its recorded spec) on another snapshot."""
        spec = run.spec
        return TrainRequest(
            ref=ref, target=spec["target"], task=spec.get("task", "auto"),
            params=spec.get("params") or {}, split=spec.get("split", "random"),
            test_size=spec.get("test_size", 0.2), seed=spec.get("seed", 42),
            time_column=spec.get("time_column"), exclude=spec.get("exclude"), note=note,
            mlflow=mlflow,
        )  # fmt: skip

    # -- records -----------------------------------------------------------------------------

    def query(
        self,
        where: str | None = None,
        sort: str | None = None,
        limit: int | None = None,
        *,
        include_deleted: bool = False,
    ) -> pl.DataFrame:
        """Runs as a wide Polars frame (a column per metric, param, ``tag.x``), filtered, sorted.

        A run still marked running whose process is gone shows as ``interrupted``.
        """
        with self.ctx.store.read() as con:
            return repo.list_runs(
                con, where, sort, limit, include_deleted=include_deleted,
                interrupted=_interrupted(con),
            )  # fmt: skip

    def fields(self) -> Fields:
        """The metric, param and tag names in use (``.metrics``, ``.params``, ``.tags``)."""
        with self.ctx.store.read() as con:
            return repo.run_fields(con)

    def get(self, run_id: int | str) -> RunRecord:
        """One run with its params, metrics, tags, split, environment and status."""
        with self.ctx.store.read() as con:
            return repo.get_run(con, parse_run_id(run_id), _interrupted(con))

    def tag(self, run_id: int | str, key: str, value: str | None) -> None:
        """Set a tag on a run (``value=None`` removes it)."""
        rid = parse_run_id(run_id)
        actor = self.ctx.actor
        with self.ctx.store.write() as con:
            repo.set_tag(con, rid, key, value)
            self.ctx.audit(con, "run.tagged", f"run {rid}", {"key": key, "value": value},
                           rows=[("runs", rid)], actor=actor)  # fmt: skip

    def delete(self, run_id: int | str, *, restore: bool = False) -> None:
        """Hide a run from listings (its objects go at the next ``gc``); ``restore`` undoes it
        while its objects are still there (refused once ``gc`` has collected them).

        Roles and registered versions are checked by the registry service, which the facade
        calls; this is the experiments' own part.
        """
        rid = parse_run_id(run_id)
        actor = self.ctx.actor
        objects = self.ctx.objects
        with objects.writing(), self.ctx.store.write() as con:
            if restore:
                record = repo.get_run(con, rid)
                gone = [
                    h
                    for h in (record.model_hash, record.curves_hash)
                    if h and not objects.exists(h)
                ]
                if gone:
                    raise IntegrityError(
                        f"run {rid} cannot be restored: its model and curves were removed by gc",
                        hint="train it again with `workbench runs rerun`",
                    )
            repo.set_deleted(con, rid, not restore)
            action = "run.restored" if restore else "run.deleted"
            self.ctx.audit(con, action, f"run {rid}", rows=[("runs", rid)], actor=actor)

    def insert_many(self, runs: list[RunInput]) -> list[int]:
        """Insert many finished runs in one transaction (imports, benchmarks); their ids."""
        with self.ctx.store.write() as con:
            ids = repo.insert_many(con, runs)
            self.ctx.audit(con, "runs.imported", None, {"count": len(ids)},
                           rows=[("runs", i) for i in ids])  # fmt: skip
        return ids

    # -- models and curves -------------------------------------------------------------------

    def model(self, run_id: int | str) -> Model:
        """A finished run's model, ready to ``predict`` on a Polars frame."""
        from .model import Model

        rec = self.get(run_id)
        if not rec.model_hash:
            raise InputError(f"run {rec.id} has no model (status {rec.status})")
        return Model(self._read(rec, rec.model_hash, "model").decode(), rec.model_meta)

    def _read(self, rec: RunRecord, digest: str, what: str) -> bytes:
        """An object of a run's; one clear error when it is gone (a deleted run after gc)."""
        try:
            return self.ctx.objects.read_bytes(digest)
        except FileNotFoundError:
            why = "it was deleted and gc collected it" if rec.deleted else "run `workbench verify`"
            raise IntegrityError(f"run {rec.id}'s {what} is missing ({why})") from None

    def curves(self, run_id: int | str) -> dict[str, Any]:
        """A run's per-iteration curves, best iteration and feature importances."""
        rec = self.get(run_id)
        if not rec.curves_hash:
            raise InputError(f"run {rec.id} has no curves (status {rec.status})")
        return parse_curves(self._read(rec, rec.curves_hash, "curves"))

    def curves_frame(self, run_ids: list[int | str] | int | str) -> pl.DataFrame:
        """Curves of one or more runs as a long frame: run_id, dataset, metric, iteration, value."""
        import polars as pl

        ids = run_ids if isinstance(run_ids, list) else [run_ids]
        parts = []
        for run_id in ids:
            rec = self.get(run_id)
            for dataset, series in self.curves(rec.id)["curves"].items():
                for metric, values in series.items():
                    parts.append(
                        pl.DataFrame(
                            {
                                "run_id": [rec.id] * len(values),
                                "dataset": [dataset] * len(values),
                                "metric": [metric] * len(values),
                                "iteration": list(range(1, len(values) + 1)),
                                "value": values,
                            },
                            schema_overrides={"run_id": pl.Int64, "value": pl.Float64},
                        )
                    )
        if not parts:
            return pl.DataFrame(
                schema={"run_id": pl.Int64, "dataset": pl.String, "metric": pl.String,
                        "iteration": pl.Int64, "value": pl.Float64}
            )  # fmt: skip
        return pl.concat(parts)

    def holdout(self, run_id: int | str) -> pl.DataFrame:
        """The exact holdout rows a run was evaluated on (its recorded split rule)."""
        from .split import SplitRule, holdout

        rec = self.get(run_id)
        if not rec.split or not rec.snapshot_ref:
            raise InputError(f"run {rec.id} has no recorded split (status {rec.status})")
        return holdout(self.snapshots.load(rec.snapshot_ref), SplitRule.from_dict(rec.split))

    def compare(self, run_ids: list[int | str], top: int = TOP_FEATURES) -> RunComparison:
        """Two or more runs side by side: params, metric deltas vs the first, data, curves."""
        ids = [parse_run_id(i) for i in run_ids]
        if len(ids) < 2:
            raise InputError("compare needs at least two runs")
        if len(set(ids)) != len(ids):
            raise InputError("a run appears twice in the comparison")
        records = [self.get(i) for i in ids]
        saved = {
            r.id: parse_curves(self._read(r, r.curves_hash, "curves"))
            for r in records
            if r.curves_hash
        }
        return compare(records, saved, top)
