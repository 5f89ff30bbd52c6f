"""The experiments part of the ``Workspace`` facade (mixed into ``workbench.api.Workspace``).

Methods here use ``self.store``, ``self.objects``, ``self.root``, ``self.actor`` and
``self.snapshot(ref)`` / ``self.load(ref)`` of the facade.

A training run is recorded as ``running`` before any work starts and always ends as
``finished``, ``failed`` (with the reason) or ``cancelled``, whatever goes wrong: the exception
is re-raised after the run is recorded, with the run's id on it as ``exc.run_id``. The model and
curves are written as objects before the row that names them; the MLflow mirror is logged
before the run is marked finished, so a finished run always has its MLflow run id (when
mirroring is on) and a failed mirror fails the run with a readable reason.

Sweeps with ``jobs > 1`` run in separate OS processes (``spawn``): each opens the workspace
itself and records its runs through the store's short, lock-retrying transactions.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import Cancelled, InputError, WorkbenchError
from ..progress import NULL_PROGRESS, CancelOnly, Progress
from . import runs as run_store
from .compare import TOP_FEATURES, RunComparison, compare
from .runs import RunRecord

if TYPE_CHECKING:
    from pathlib import Path

    import polars as pl

    from ..objects import ObjectStore
    from ..snapshots.catalog import Snapshot
    from ..store import Store
    from .model import Model
    from .query import Fields
    from .training import IterationObserver, TrainSpec

__all__ = ["ExperimentsMixin", "grid_combinations", "MAX_GRID"]

#: the largest sweep ``train_grid`` accepts (a typo in a grid should not start 10,000 runs)
MAX_GRID = 500


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


def _parse_run_id(run_id: int | str) -> int:
    if isinstance(run_id, bool):
        raise InputError(f"not a run id: {run_id!r}")
    if isinstance(run_id, int):
        return run_id
    text = str(run_id).strip().lower().removeprefix("run").strip()
    if not text.isdigit():
        raise InputError(f"not a run id: {run_id!r}", hint="runs are numbered: 42 or 'run 42'")
    return int(text)


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


def _grid_worker(
    workspace_cls: type, root: str, ref: str, kwargs: dict[str, Any]
) -> tuple[int | None, str | None]:
    """One sweep run in a worker process: (run id, error text or None)."""
    from .lightgbm_import import enable_lean_import

    enable_lean_import()  # the worker runs nothing but this training
    ws = workspace_cls(root)
    try:
        return ws.train(ref, **kwargs).id, None
    except WorkbenchError as exc:
        return getattr(exc, "run_id", None), str(exc)


class ExperimentsMixin:
    """Training runs, sweeps, queries and comparisons."""

    if TYPE_CHECKING:
        root: Path
        store: Store
        objects: ObjectStore
        actor: str

        def snapshot(self, ref: str) -> Snapshot: ...

        def load(self, ref: str | Snapshot) -> pl.DataFrame: ...

    # -- MLflow ------------------------------------------------------------------------------

    @property
    def mlflow_tracking_uri(self) -> str:
        """Where runs are mirrored: ``MLFLOW_TRACKING_URI`` or the workspace's SQLite store."""
        from .mlflow_mirror import default_tracking_uri

        return default_tracking_uri(self.root)

    def _mlflow_artifact_root(self) -> str | None:
        from .mlflow_mirror import default_artifact_root

        # a user's own tracking server decides where its artifacts go
        return None if os.environ.get("MLFLOW_TRACKING_URI") else default_artifact_root(self.root)

    def run_model_uri(self, run_id: int | str) -> str:
        """The MLflow model URI of a run (``runs:/<id>/model``) for ``mlflow.pyfunc.load_model``."""
        from .mlflow_mirror import MODEL_NAME

        rec = self.run(run_id)
        if not rec.mlflow_run_id:
            raise InputError(
                f"run {rec.id} was not mirrored to MLflow", hint="rerun it with MLflow"
            )
        return f"runs:/{rec.mlflow_run_id}/{MODEL_NAME}"

    # -- training ----------------------------------------------------------------------------

    def _spec(
        self,
        snap: Snapshot,
        target: str | None,
        task: str,
        params: dict[str, Any] | None,
        split: str,
        test_size: float,
        seed: int,
        time_column: str | None,
        exclude: list[str] | None,
    ) -> TrainSpec:
        from .training import TrainSpec

        target = target or snap.target
        if not target:
            raise InputError(
                f"{snap.ref} has no recorded target column", hint="name one with --target COL"
            )
        if exclude is None:
            key = snap.key_column
            exclude = [key] if key and key != target and key in snap.schema else []
        if time_column is None and snap.time_column != target:
            time_column = snap.time_column
        if split == "time" and not time_column:
            why = "its time column is the target" if snap.time_column else "it records none"
            raise InputError(
                f"a time split on {snap.ref} needs a time column, and {why}",
                hint="name one with --time-column COL",
            )
        if time_column is not None and time_column not in snap.schema:
            raise InputError(f"time column '{time_column}' is not a column of {snap.ref}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise InputError(f"seed must be an integer, got {seed!r}")
        return TrainSpec(
            target=target,
            task=task,
            params=dict(params or {}),
            split=split,
            test_size=float(test_size),
            seed=seed,
            time_column=time_column,
            exclude=list(exclude),
        )

    def train(
        self,
        ref: str,
        target: str | None = None,
        *,
        task: str = "auto",
        params: dict[str, Any] | None = None,
        split: str = "random",
        test_size: float = 0.2,
        seed: int = 42,
        time_column: str | None = None,
        exclude: list[str] | None = None,
        note: str | None = None,
        progress: Progress = NULL_PROGRESS,
        on_iteration: IterationObserver | None = None,
        mlflow: bool = True,
    ) -> RunRecord:
        """Train LightGBM on a snapshot and record the run; returns the finished run.

        ``target`` defaults to the snapshot's recorded target; the snapshot's key column is
        excluded from the features and its time column is used for ``split='time'``.
        Failures and cancellation are recorded on the run, then re-raised.
        """
        snap = self.snapshot(ref)
        spec = self._spec(snap, target, task, params, split, test_size, seed, time_column, exclude)
        return self._execute(snap, spec, note, progress, on_iteration, mlflow)

    def _execute(
        self,
        snap: Snapshot,
        spec: TrainSpec,
        note: str | None,
        progress: Progress,
        on_iteration: IterationObserver | None,
        mlflow: bool,
    ) -> RunRecord:
        from .params import requested_params
        from .training import git_commit, train

        actor = self.actor  # read once: every record of this run names the same person
        # shown from the start: resolving parameter names below imports LightGBM (0.3-0.6 s)
        progress.start(f"loading {snap.ref}", total=None)
        run_id = run_store.start_run(
            self.store,
            spec,
            snapshot_ref=snap.ref,
            snapshot_hash=snap.object_hash,
            note=note,
            actor=actor,
            params=requested_params(spec.params, task=spec.task, seed=spec.seed),
        )
        warming: list[threading.Thread] = []

        def warm_up_mlflow() -> None:
            from .mlflow_mirror import warm_up

            warming.append(warm_up(self.mlflow_tracking_uri))

        try:
            df = self.load(snap)
            progress.check_cancelled()
            result = train(
                df,
                spec,
                progress=progress,
                on_iteration=on_iteration,
                after_fit=warm_up_mlflow if mlflow else None,
            )
            result.environment["pid"] = str(os.getpid())  # which process trained it
            commit = git_commit(self.root)
            if commit:
                result.environment["git_commit"] = commit
            progress.check_cancelled()
            for thread in warming:
                thread.join()
            mlflow_id = (
                self._mirror(run_id, snap, result, note, progress, actor) if mlflow else None
            )
            run_store.finish_run(
                self.store, run_id, result, self.objects, mlflow_run_id=mlflow_id, actor=actor
            )
        except BaseException as exc:
            self._record_end(run_id, exc, actor)
            raise
        finally:
            for thread in warming:  # never leave it importing while the process exits
                thread.join()
        return run_store.get_run(self.store, run_id)

    def _record_end(self, run_id: int, exc: BaseException, actor: str) -> None:
        status, reason = _reason(exc)
        try:
            exc.run_id = run_id  # type: ignore[attr-defined]
        except AttributeError:
            pass
        try:
            run_store.fail_run(self.store, run_id, status, reason, actor=actor)
        except WorkbenchError as second:  # e.g. the store stayed busy; keep the first error
            exc.add_note(f"run {run_id} could not be marked {status}: {second}")

    def _mirror(
        self, run_id: int, snap: Snapshot, result: Any, note: str | None, progress, actor: str
    ) -> str:
        from .mlflow_mirror import log_run

        progress.start("logging to MLflow", total=None)
        tags = {"workbench.workspace": str(self.root), "workbench.snapshot_hash": snap.object_hash}
        if note:
            tags["mlflow.note.content"] = note
        try:
            return log_run(
                self.mlflow_tracking_uri,
                snap.name,
                result,
                snap.ref,
                workbench_run_id=run_id,
                tags=tags,
                artifact_root=self._mlflow_artifact_root(),
                actor=actor,
            )
        except WorkbenchError:
            raise
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise WorkbenchError(
                f"MLflow mirror failed: {first}",
                hint="check MLFLOW_TRACKING_URI or use --no-mlflow",
            ) from exc

    def preload_training(self, mlflow: bool = True) -> None:
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

            preload(self.mlflow_tracking_uri)

    def train_grid(
        self,
        ref: str,
        grid: dict[str, list[Any]],
        *,
        jobs: int = 1,
        target: str | None = None,
        task: str = "auto",
        params: dict[str, Any] | None = None,
        split: str = "random",
        test_size: float = 0.2,
        seed: int = 42,
        time_column: str | None = None,
        exclude: list[str] | None = None,
        note: str | None = None,
        progress: Progress = NULL_PROGRESS,
        on_run: Callable[[RunRecord], None] | None = None,
        mlflow: bool = True,
    ) -> list[RunRecord]:
        """One run per combination of ``grid`` over ``params``; returns them in grid order.

        A combination that fails is recorded as failed and the sweep goes on; cancelling
        stops it. ``jobs > 1`` trains in that many separate processes.
        """
        if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
            raise InputError(f"jobs must be a positive integer, got {jobs!r}")
        combos = grid_combinations(grid)
        snap = self.snapshot(ref)
        base = dict(params or {})
        # check the shared options once, before any run is recorded
        self._spec(snap, target, task, base, split, test_size, seed, time_column, exclude)
        common = dict(
            target=target, task=task, split=split, test_size=test_size, seed=seed,
            time_column=time_column, exclude=exclude, note=note, mlflow=mlflow,
        )  # fmt: skip
        progress.start(f"sweep of {len(combos)} runs on {snap.ref}", total=len(combos))
        jobs = min(jobs, len(combos))
        if jobs == 1:
            return self._grid_serial(snap.ref, base, combos, common, progress, on_run)
        return self._grid_parallel(snap, base, combos, common, jobs, progress, on_run)

    def _grid_serial(self, ref, base, combos, common, progress, on_run) -> list[RunRecord]:
        records = []
        for combo in combos:
            try:
                record = self.train(
                    ref, params={**base, **combo}, progress=CancelOnly(progress), **common
                )
            except (Cancelled, KeyboardInterrupt):
                raise
            except WorkbenchError as exc:
                if getattr(exc, "run_id", None) is None:
                    raise
                record = self.run(exc.run_id)
            records.append(record)
            progress.advance()
            if on_run is not None:
                on_run(record)
        return records

    def _grid_parallel(self, snap, base, combos, common, jobs, progress, on_run) -> list[RunRecord]:
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
        from concurrent.futures.process import BrokenProcessPool

        if common["mlflow"]:
            from .mlflow_mirror import prepare_experiment

            prepare_experiment(self.mlflow_tracking_uri, snap.name, self._mlflow_artifact_root())
        calls = [{**common, "params": _threads_per_job({**base, **c}, jobs)} for c in combos]
        ids: list[int | None] = [None] * len(calls)
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context)
        try:
            futures = {
                pool.submit(_grid_worker, type(self), str(self.root), snap.ref, kw): i
                for i, kw in enumerate(calls)
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
                        on_run(self.run(run_id))
                progress.check_cancelled()
        except BaseException:
            # workers that already started record their own end (Ctrl-C reaches them too)
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        return [self.run(i) for i in ids if i is not None]

    def rerun(
        self,
        run_id: int | str,
        *,
        progress: Progress = NULL_PROGRESS,
        on_iteration: IterationObserver | None = None,
        mlflow: bool = True,
    ) -> RunRecord:
        """Train again with a run's exact spec on the same snapshot (same split, same metrics)."""
        from .training import TrainSpec

        old = self.run(run_id)
        if not old.spec or not old.spec.get("target") or not old.snapshot_ref:
            raise InputError(f"run {old.id} has no recorded training spec to rerun")
        snap = self.snapshot(old.snapshot_ref)
        if old.snapshot_hash and snap.object_hash != old.snapshot_hash:
            raise InputError(
                f"{old.snapshot_ref} no longer has the content run {old.id} trained on",
                hint=f"its data was {old.snapshot_hash[:12]}",
            )
        spec = TrainSpec.from_dict(old.spec)
        return self._execute(snap, spec, f"rerun of run {old.id}", progress, on_iteration, mlflow)

    # -- queries -----------------------------------------------------------------------------

    def runs(
        self,
        where: str | None = None,
        sort: str | None = None,
        limit: int | None = None,
        *,
        include_deleted: bool = False,
    ) -> pl.DataFrame:
        """Runs as a wide Polars frame (a column per metric, param, ``tag.x``), filtered, sorted.

        ``where``: ``auc > 0.8 and num_leaves = 31 and snapshot = churn@v2``;
        ``sort``: ``-auc, id`` (``-`` descending); default newest first.
        """
        return run_store.list_runs(self.store, where, sort, limit, include_deleted=include_deleted)

    def run_fields(self) -> Fields:
        """The metric, param and tag names in use (``.metrics``, ``.params``, ``.tags``)."""
        return run_store.run_fields(self.store)

    def run(self, run_id: int | str) -> RunRecord:
        """One run with its params, metrics, tags, split, environment and status."""
        return run_store.get_run(self.store, _parse_run_id(run_id))

    def tag_run(self, run_id: int | str, key: str, value: str | None) -> None:
        """Set a tag on a run (``value=None`` removes it)."""
        run_store.tag_run(self.store, _parse_run_id(run_id), key, value, actor=self.actor)

    def delete_run(self, run_id: int | str, *, restore: bool = False) -> None:
        """Hide a run from listings (its objects go at the next ``gc``); ``restore`` undoes it."""
        run_store.delete_run(self.store, _parse_run_id(run_id), restore=restore, actor=self.actor)

    def run_model(self, run_id: int | str) -> Model:
        """A finished run's model, ready to ``predict`` on a Polars frame."""
        from .model import Model

        rec = self.run(run_id)
        if not rec.model_hash:
            raise InputError(f"run {rec.id} has no model (status {rec.status})")
        return Model(self.objects.read_bytes(rec.model_hash).decode(), rec.model_meta)

    def load_curves(self, run_id: int | str) -> dict[str, Any]:
        """A run's per-iteration curves, best iteration and feature importances."""
        rec = self.run(run_id)
        if not rec.curves_hash:
            raise InputError(f"run {rec.id} has no curves (status {rec.status})")
        return run_store.load_curves(self.objects, rec.curves_hash)

    def curves_frame(self, run_ids: list[int | str] | int | str) -> pl.DataFrame:
        """Curves of one or more runs as a long frame: run_id, dataset, metric, iteration, value."""
        import polars as pl

        ids = run_ids if isinstance(run_ids, list) else [run_ids]
        parts = []
        for run_id in ids:
            rec = self.run(run_id)
            curves = self.load_curves(rec.id)["curves"]
            for dataset, series in curves.items():
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

    def run_holdout(self, run_id: int | str) -> pl.DataFrame:
        """The exact holdout rows a run was evaluated on (its recorded split rule)."""
        from .split import SplitRule, holdout

        rec = self.run(run_id)
        if not rec.split or not rec.snapshot_ref:
            raise InputError(f"run {rec.id} has no recorded split (status {rec.status})")
        return holdout(self.load(rec.snapshot_ref), SplitRule.from_dict(rec.split))

    def compare_runs(self, run_ids: list[int | str], top: int = TOP_FEATURES) -> RunComparison:
        """Two or more runs side by side: params, metric deltas vs the first, data, curves."""
        ids = [_parse_run_id(i) for i in run_ids]
        if len(ids) < 2:
            raise InputError("compare needs at least two runs")
        if len(set(ids)) != len(ids):
            raise InputError("a run appears twice in the comparison")
        records = [run_store.get_run(self.store, i) for i in ids]
        saved = {
            r.id: run_store.load_curves(self.objects, r.curves_hash)
            for r in records
            if r.curves_hash
        }
        return compare(records, saved, top)
