"""Mirror model versions and aliases to the MLflow Model Registry of the tracking store.

The workbench store is the source of truth; MLflow follows it. ``sync_aliases`` makes MLflow's
aliases of a model equal to the workbench's (set, move, delete), so it is idempotent and can
repair a mirror that failed half-way. ``mlflow`` is imported inside the functions (slow import).

Registration talks to ``MlflowClient`` directly (not ``mlflow.register_model``) so nothing is
printed. The run's logged model (MLflow 3 ``LoggedModel``) is found by its source run and
registered as ``models:/<model_id>``; MLflow resolves that source through the *global* tracking
URI, so it points at the workspace while registering (``mlflow_mirror.tracking``, locked).
Models are logged with the experiments mirror's own ``log_model`` so both paths log alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import WorkbenchError

if TYPE_CHECKING:
    import polars as pl

    from ..experiments.features import ModelMeta

__all__ = ["register_version", "sync_aliases", "log_model_for_run", "mlflow_aliases"]


def _client(tracking_uri: str) -> Any:
    from ..experiments.mlflow_mirror import open_mlflow

    mlflow = open_mlflow(tracking_uri)
    return mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def _logged_model_id(client: Any, mlflow_run_id: str, artifact_name: str) -> str:
    run = client.get_run(mlflow_run_id)
    models = client.search_logged_models(
        experiment_ids=[run.info.experiment_id], filter_string=f"name = '{artifact_name}'"
    )
    mine = [m for m in models if m.source_run_id == mlflow_run_id]
    if not mine:
        raise WorkbenchError(f"MLflow run {mlflow_run_id} has no logged model {artifact_name!r}")
    return mine[-1].model_id


def _ensure_registered_model(client: Any, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name, tags={"workbench.managed": "true"})


def register_version(tracking_uri: str, name: str, mlflow_run_id: str, tags: dict[str, str]) -> str:
    """Register a run's logged model as a new version of ``name``; returns MLflow's version."""
    from ..experiments.mlflow_mirror import MODEL_NAME, tracking

    # the store resolves ``models:/<id>`` sources through the global tracking URI
    with tracking(tracking_uri):
        client = _client(tracking_uri)
        _ensure_registered_model(client, name)
        model_id = _logged_model_id(client, mlflow_run_id, MODEL_NAME)
        mv = client.create_model_version(
            name, source=f"models:/{model_id}", run_id=mlflow_run_id, tags=tags, model_id=model_id
        )
    return str(mv.version)


def mlflow_aliases(tracking_uri: str, name: str) -> dict[str, str]:
    """MLflow's aliases of ``name`` now: alias -> MLflow version."""
    return dict(_client(tracking_uri).get_registered_model(name).aliases)


def sync_aliases(tracking_uri: str, name: str, wanted: dict[str, str]) -> None:
    """Make MLflow's aliases of ``name`` exactly ``wanted`` (alias -> MLflow version)."""
    client = _client(tracking_uri)
    current = dict(client.get_registered_model(name).aliases)
    for alias, version in wanted.items():
        if current.get(alias) != str(version):
            client.set_registered_model_alias(name, alias, str(version))
    for alias in set(current) - set(wanted):
        client.delete_registered_model_alias(name, alias)


@dataclass
class _StoredModel:
    """The parts of a ``TrainResult`` that ``mlflow_mirror.log_model`` reads."""

    model_text: str
    meta: ModelMeta
    example: pl.DataFrame | None


def log_model_for_run(
    tracking_uri: str,
    experiment_name: str,
    model_text: str,
    meta: dict[str, Any],
    example: pl.DataFrame,
    tags: dict[str, str],
    artifact_root: str | None,
) -> str:
    """Log a stored model to MLflow after the fact (runs trained without the mirror).

    Creates an MLflow run holding only the model, logged exactly as the experiments mirror
    logs it (LightGBM flavour on the encoded frame), and returns that run's id.
    """
    from ..experiments.features import ModelMeta
    from ..experiments.mlflow_mirror import ensure_experiment, log_model, tracking

    stored = _StoredModel(model_text, ModelMeta.from_dict(meta), example)
    with tracking(tracking_uri) as mlflow:
        client = mlflow.MlflowClient(tracking_uri)
        exp_id = ensure_experiment(client, experiment_name, artifact_root)
        with mlflow.start_run(experiment_id=exp_id, tags=tags) as run:
            log_model(mlflow, stored)
            return run.info.run_id
