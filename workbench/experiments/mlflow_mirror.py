"""Mirror a run into an MLflow tracking store (params, metrics, curves, tags, model).

``mlflow`` takes seconds to import, so it is imported only inside these functions. The model is
logged with MLflow's ``python_function`` flavour around the workbench's scorer
(``serving.mlflow_pyfunc``): it takes raw rows with the snapshot's own types and encodes them as
training did, and its signature says those types. pip requirements are given explicitly so
MLflow skips its slow requirement inference (it would load the model in a subprocess), and
MLflow's check of those pins against the environment is skipped too (see
``_pins_unchecked``).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .features import ModelMeta

if TYPE_CHECKING:
    import polars as pl

    from .training import TrainResult

__all__ = [
    "default_tracking_uri",
    "default_artifact_root",
    "prepare_experiment",
    "log_run",
    "warm_up",
    "preload",
    "open_mlflow",
    "ensure_store",
    "tracking",
    "ensure_experiment",
    "log_model",
    "LoggableModel",
    "MODEL_NAME",
    "PYFUNC_LOADER",
    "input_types",
    "model_signature",
    "signature_columns",
]

MODEL_NAME = "model"
_BATCH = 1000  # MLflow's limit on metrics per log_batch call
_LOCK = threading.Lock()


def default_tracking_uri(workspace: Path) -> str:
    """MLFLOW_TRACKING_URI if set, else the workspace's SQLite store."""
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    db = Path(workspace).resolve() / ".workbench" / "mlflow" / "mlflow.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{db}"


def ensure_store(tracking_uri: str) -> None:
    """Create a workspace's MLflow store as a copy of an empty one MLflow made earlier.

    MLflow creates a SQLite tracking store by running its schema migrations (68 of them):
    2-3 s here, paid by every new workspace's first training (and every test workspace). The
    first store made on this machine for this MLflow version is kept in the user's cache
    (``~/.cache/workbench/mlflow-<version>.db``) and copied from then on; the copy's
    "Default" experiment keeps its artifacts beside the store (``artifacts/0``) instead of
    ``./mlruns`` under whatever folder the first command ran in. Only the workspace's own
    store (``.workbench/mlflow/mlflow.db``) is made this way; a store at another URI is left
    to MLflow, and any failure here falls back to it too.
    """
    db = _workspace_store_path(tracking_uri)
    if db is None or db.exists():
        return
    part = db.with_name(f".{db.name}.{os.getpid()}.{threading.get_ident()}.part")
    try:
        shutil.copyfile(_empty_store_template(), part)
        default_location = (db.parent / "artifacts" / "0").as_uri()
        with closing(sqlite3.connect(part)) as con, con:
            con.execute(
                "UPDATE experiments SET artifact_location = ? WHERE experiment_id = 0",
                (default_location,),
            )
        os.link(part, db)  # never replaces a store another process made meanwhile
    except Exception:  # a read-only cache, a changed schema: MLflow makes the store itself
        pass
    finally:
        part.unlink(missing_ok=True)


def _workspace_store_path(tracking_uri: str) -> Path | None:
    if not tracking_uri.startswith("sqlite:///"):
        return None
    db = Path(tracking_uri.removeprefix("sqlite:///"))
    if (
        db.name != "mlflow.db"
        or db.parent.name != "mlflow"
        or db.parent.parent.name != ".workbench"
    ):
        return None
    return db


def _empty_store_template() -> Path:
    """The cached empty store for the running MLflow version, made once per machine."""
    import tempfile

    import mlflow

    _quiet_loggers()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "workbench"
    template = cache / f"mlflow-{mlflow.__version__}.db"
    if template.exists():
        return template
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        made = Path(tmp) / "store.db"
        mlflow.MlflowClient(f"sqlite:///{made}").search_experiments()
        os.replace(made, template)
    return template


def default_artifact_root(workspace: Path) -> str:
    """Where new experiments keep their artifacts: ``.workbench/mlflow/artifacts``."""
    return (Path(workspace).resolve() / ".workbench" / "mlflow" / "artifacts").as_uri()


def _quiet_loggers() -> None:
    """MLflow logs its database set-up at INFO to the console; the workbench reports itself.

    Call it after ``import mlflow``: the import configures MLflow's logger at INFO.
    """
    import logging

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def open_mlflow(tracking_uri: str) -> Any:
    """The ``mlflow`` module, quiet, with the store at ``tracking_uri`` ready (see
    ``ensure_store``): every use of MLflow in the workbench starts here."""
    import mlflow

    _quiet_loggers()
    ensure_store(tracking_uri)
    return mlflow


@contextmanager
def tracking(uri: str) -> Iterator[Any]:
    """Point MLflow's fluent API at ``uri`` for the duration, then restore it."""
    mlflow = open_mlflow(uri)
    from mlflow.tracking._tracking_service import utils as tracking_utils

    with _LOCK:
        # ``set_tracking_uri`` also writes MLFLOW_TRACKING_URI: restore both as they were, or
        # a URI taken from the environment would stay set in the process after it is unset
        previous = getattr(tracking_utils, "_tracking_uri", None)
        env = os.environ.get("MLFLOW_TRACKING_URI")
        mlflow.set_tracking_uri(uri)
        try:
            yield mlflow
        finally:
            mlflow.set_tracking_uri(previous)
            if env is None:
                os.environ.pop("MLFLOW_TRACKING_URI", None)
            else:
                os.environ["MLFLOW_TRACKING_URI"] = env


def preload(tracking_uri: str) -> None:
    """Import what logging a run needs and open (creating if new) the tracking store.

    ~1.5 s of pure-Python imports in a fresh process. Errors are left for ``log_run`` to
    report with context.
    """
    try:
        client = open_mlflow(tracking_uri).MlflowClient(tracking_uri)
        import mlflow.lightgbm
        import mlflow.pyfunc  # noqa: F401  (log_model's first call imports it: 0.1 s)
        from mlflow.models import infer_signature  # noqa: F401

        client.get_experiment_by_name("default")
    except Exception:  # log_run meets the same problem and reports it
        pass


def warm_up(tracking_uri: str) -> threading.Thread:
    """``preload`` on a side thread; join it before logging.

    The facade starts it while LightGBM scores the holdout (C++, GIL released): measured on
    the 1M-row benchmark's holdout, scoring then loading MLflow took 2.9-3.2 s, side by side
    2.3-2.6 s. Not during the training itself: LightGBM's threads leave no idle core there,
    and a side thread made the whole command 1-2 s slower.
    """
    thread = threading.Thread(
        target=preload, args=(tracking_uri,), name="mlflow-warm-up", daemon=True
    )
    thread.start()
    return thread


def ensure_experiment(client: Any, name: str, artifact_root: str | None) -> str:
    """The id of experiment ``name``, created (artifacts under ``artifact_root``) if missing."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = f"{artifact_root.rstrip('/')}/{name}" if artifact_root else None
    return client.create_experiment(name, artifact_location=location)


def prepare_experiment(tracking_uri: str, name: str, artifact_root: str | None = None) -> str:
    """Create the tracking store's tables and the experiment if missing; returns its id.

    Run it once before parallel workers log, so they never race to create the SQLite schema.
    """
    mlflow = open_mlflow(tracking_uri)
    return ensure_experiment(mlflow.MlflowClient(tracking_uri), name, artifact_root)


def _metric_batch(result: TrainResult, timestamp: int) -> list[Any]:
    from mlflow.entities import Metric

    batch = [Metric(k, float(v), timestamp, 0) for k, v in result.metrics.items()]
    for data_name, series in result.curves.items():
        for metric, values in series.items():
            key = f"{data_name}_{metric}"
            batch.extend(Metric(key, float(v), timestamp, i + 1) for i, v in enumerate(values))
    return batch


def _param_list(result: TrainResult) -> list[Any]:
    from mlflow.entities import Param

    from .records import param_text

    return [Param(k, param_text(v)[:6000]) for k, v in sorted(result.params.items())]


def _log_values(client: Any, run_id: str, result: TrainResult, tags: dict[str, str]) -> None:
    import time

    from mlflow.entities import RunTag

    metrics = _metric_batch(result, int(time.time() * 1000))
    client.log_batch(
        run_id,
        params=_param_list(result),
        tags=[RunTag(k, str(v)) for k, v in tags.items()],
        metrics=metrics[:_BATCH],
    )
    for start in range(_BATCH, len(metrics), _BATCH):
        client.log_batch(run_id, metrics=metrics[start : start + _BATCH])
    client.log_dict(run_id, result.split.to_dict(), "workbench/split.json")
    client.log_dict(run_id, result.meta.to_dict(), "workbench/model_meta.json")
    client.log_dict(run_id, result.effective_params, "workbench/effective_params.json")


_CHECK = "warn_dependency_requirement_mismatches"


@contextmanager
def _pins_unchecked() -> Iterator[None]:
    """Skip MLflow's check that the model's pip requirements match the environment.

    Our requirements are exact pins of the versions this process has imported, so the check
    cannot find a mismatch; but the first time in a process it maps every installed
    distribution to its modules (``importlib_metadata.packages_distributions``), about 1 s of a
    CLI ``workbench train``. MLflow runs it when it saves the model and again when it loads it
    back to validate the input example. Patched only while our model is logged, under the
    tracking lock; a module that no longer has the function is left alone.
    """
    import importlib

    patched = []
    for name in ("mlflow.utils.environment", "mlflow.pyfunc"):
        try:
            module = importlib.import_module(name)
        except ImportError:  # pragma: no cover - a future MLflow layout
            continue
        if hasattr(module, _CHECK):
            patched.append((module, getattr(module, _CHECK)))
            setattr(module, _CHECK, lambda *args, **kwargs: None)
    try:
        yield
    finally:
        for module, original in patched:
            setattr(module, _CHECK, original)


class LoggableModel(Protocol):
    """What logging a model needs: its text, its encodings and a few raw example rows."""

    model_text: str
    meta: ModelMeta
    example: pl.DataFrame | None


#: the module MLflow loads our models with (``mlflow.pyfunc`` ``loader_module``): the serving
#: layer's scorer, named by its import path and never imported here (serving sits above)
PYFUNC_LOADER = "workbench.serving.mlflow_pyfunc"
#: the files of the model's data folder
MODEL_FILE, META_FILE = "model.txt", "model_meta.json"
#: MLflow's column type for each kind of input column (``input_types``)
_MLFLOW_TYPES = {
    "int": "long", "float": "double", "float32": "double", "bool": "boolean",
    "text": "string", "date": "datetime", "datetime": "datetime",
    # MLflow has no time of day or duration: "HH:MM:SS" text, and seconds
    "time": "string", "duration": "double",
}  # fmt: skip


def log_model(mlflow: Any, result: LoggableModel) -> None:
    """Log a model with MLflow's ``python_function`` flavour inside the active run: raw rows in
    (``serving.mlflow_pyfunc``), a signature with the snapshot's own column types, the
    example rows as they are, and exact pins of lightgbm and mlflow."""
    import json
    import tempfile

    from .lightgbm_import import import_lightgbm

    lgb = import_lightgbm()
    assert result.example is not None  # log_run logs a model only with an example
    inputs = input_types(result.meta)
    example = result.example.select([c for c in inputs if c in result.example.columns])
    with tempfile.TemporaryDirectory(prefix="workbench-model-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        (data / MODEL_FILE).write_text(result.model_text, encoding="utf-8")
        meta = json.dumps(result.meta.to_dict(), sort_keys=True)
        (data / META_FILE).write_text(meta, encoding="utf-8")
        with _pins_unchecked():
            mlflow.pyfunc.log_model(
                name=MODEL_NAME,
                loader_module=PYFUNC_LOADER,
                data_path=str(data),
                signature=model_signature(result.meta),
                input_example=example.to_pandas(),
                pip_requirements=[f"lightgbm=={lgb.__version__}", f"mlflow=={mlflow.__version__}"],
            )


def input_types(meta: ModelMeta) -> dict[str, str]:
    """Input column -> its type at training (the data columns scoring reads, in order)."""
    inputs = getattr(meta, "inputs", None) or meta.features
    return {c: meta.dtypes[c] for c in inputs}


def signature_columns(meta: ModelMeta) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(inputs, outputs) of a model's MLflow signature as (column, MLflow type): inputs with
    the snapshot's own types (an integer column that held missing values: ``any``), outputs
    as ``Scores.to_polars`` gives them."""
    from .input_types import column_kind

    nullable = set(getattr(meta, "nullable", None) or ())
    inputs = [
        (c, "any" if kind == "int" and c in nullable else _MLFLOW_TYPES[kind])
        for c, kind in ((c, column_kind(t)) for c, t in input_types(meta).items())
    ]
    if meta.task == "regression" or not meta.classes:
        return inputs, [("value", "double")]
    first = meta.classes[0]
    label = "boolean" if isinstance(first, bool) else "long" if isinstance(first, int) else (
        "double" if isinstance(first, float) else "string"
    )  # fmt: skip
    outputs = [("label", label), ("probability", "double")]
    if meta.task == "multiclass":
        outputs += [(f"p_{c}", "double") for c in meta.classes]
    return inputs, outputs


def model_signature(meta: ModelMeta) -> Any:
    """The MLflow ``ModelSignature`` of a model (see ``signature_columns``)."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema
    from mlflow.types.schema import AnyType

    inputs, outputs = signature_columns(meta)
    return ModelSignature(
        inputs=Schema([ColSpec(AnyType() if t == "any" else t, c) for c, t in inputs]),
        outputs=Schema([ColSpec(t, c) for c, t in outputs]),
    )


def log_run(
    tracking_uri: str,
    experiment_name: str,
    result: TrainResult,
    snapshot_ref: str | None,
    *,
    workbench_run_id: int | None = None,
    tags: dict[str, str] | None = None,
    artifact_root: str | None = None,
    with_model: bool = True,
    actor: str | None = None,
) -> str:
    """Log a training result as an MLflow run; returns the MLflow run id.

    ``actor`` is recorded as the run's MLflow user (``mlflow.user``) instead of the OS user.

    With ``workbench_run_id`` the MLflow run is created with the tags that name it
    (``workbench.run_id``, and ``workbench.workspace`` from ``tags``), and an MLflow run
    already mirroring that workbench run is looked for first (see ``_existing_mirror``): a
    mirror killed midway is replaced, a complete one is returned as it is.
    """
    all_tags = {
        "workbench.snapshot": snapshot_ref or "",
        "workbench.task": result.task,
        "workbench.target": result.meta.target,
        "workbench.best_iteration": str(result.best_iteration),
        **({"workbench.run_id": str(workbench_run_id)} if workbench_run_id is not None else {}),
        **(tags or {}),
    }
    identity = {k: all_tags[k] for k in _IDENTITY if k in all_tags}
    run_name = f"run-{workbench_run_id}" if workbench_run_id is not None else None
    with tracking(tracking_uri) as mlflow:
        client = mlflow.MlflowClient(tracking_uri)
        exp_id = ensure_experiment(client, experiment_name, artifact_root)
        if workbench_run_id is not None:
            found = _existing_mirror(client, exp_id, identity)
            if found is not None:
                return found
        with mlflow.start_run(
            experiment_id=exp_id, run_name=run_name, tags=_source_tags(result, actor) | identity
        ) as run:
            run_id = run.info.run_id
            _log_values(client, run_id, result, all_tags)
            if with_model and result.example is not None:
                log_model(mlflow, result)
    return run_id


#: the tags an MLflow run is created with so that it can be found again (``_existing_mirror``)
_IDENTITY = ("workbench.run_id", "workbench.workspace")


def _existing_mirror(client: Any, experiment_id: str, identity: dict[str, str]) -> str | None:
    """The complete MLflow run already mirroring a workbench run, if any.

    A mirror killed midway leaves its MLflow run RUNNING with part of the values and no model
    (it was created with the identity tags); such runs, and any other unfinished one, are
    deleted so the mirror is logged again whole. A FINISHED run was complete when it ended
    (the run ends after its model is logged): it is kept, and so is only the first of them.
    """
    from mlflow.entities import ViewType

    found = client.search_runs(
        [experiment_id],
        filter_string=f"tags.`workbench.run_id` = '{int(identity['workbench.run_id'])}'",
        run_view_type=ViewType.ACTIVE_ONLY,
        order_by=["attributes.start_time ASC"],
    )
    mine = [
        r for r in found
        if r.data.tags.get("workbench.workspace") == identity.get("workbench.workspace")
        and "workbench.logged_at_registration" not in r.data.tags
    ]  # fmt: skip
    complete = next((r for r in mine if r.info.status == "FINISHED"), None)
    for r in mine:
        if r is not complete:
            client.delete_run(r.info.run_id)
    return None if complete is None else complete.info.run_id


def _source_tags(result: TrainResult, actor: str | None) -> dict[str, str]:
    """Tags over MLflow's defaults: the workbench as source, the acting user, the git commit."""
    from mlflow.utils import mlflow_tags as names

    tags = {names.MLFLOW_SOURCE_NAME: "workbench"}
    if actor:
        tags[names.MLFLOW_USER] = actor
    if result.environment.get("git_commit"):
        tags[names.MLFLOW_GIT_COMMIT] = result.environment["git_commit"]
    return tags
