"""Experiments: LightGBM training on Polars frames, run records, filters and the MLflow mirror.

Exports are lazy (PEP 562) so ``import workbench.experiments`` loads neither LightGBM, MLflow,
scikit-learn nor Polars; each name's module is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_EXPORTS = {
    "TrainSpec": "training",
    "TrainResult": "training",
    "FeatureImportance": "training",
    "train": "training",
    "ModelMeta": "features",
    "encode_pandas": "features",
    "Model": "model",
    "predict": "model",
    "SplitRule": "split",
    "apply_split": "split",
    "holdout": "split",
    "compute_metrics": "metrics",
    "DEFAULT_PARAMS": "params",
    "RunRecord": "records",
    "RunInput": "records",
    "ExperimentService": "service",
    "TrainRequest": "service",
    "SweepRequest": "service",
    "Fields": "query",
    "compile_filter": "query",
    "compile_sort": "query",
    "log_run": "mlflow_mirror",
    "prepare_experiment": "mlflow_mirror",
    "RunComparison": "compare",
    "compare": "compare",
    "default_tracking_uri": "mlflow_mirror",
    "default_artifact_root": "mlflow_mirror",
}

__all__ = [
    "DEFAULT_PARAMS",
    "ExperimentService",
    "FeatureImportance",
    "Fields",
    "Model",
    "ModelMeta",
    "RunComparison",
    "RunInput",
    "RunRecord",
    "SplitRule",
    "SweepRequest",
    "TrainRequest",
    "TrainResult",
    "TrainSpec",
    "apply_split",
    "compare",
    "compile_filter",
    "compile_sort",
    "compute_metrics",
    "default_artifact_root",
    "default_tracking_uri",
    "encode_pandas",
    "holdout",
    "log_run",
    "predict",
    "prepare_experiment",
    "train",
]

if TYPE_CHECKING:
    from .compare import RunComparison, compare
    from .features import ModelMeta, encode_pandas
    from .metrics import compute_metrics
    from .mlflow_mirror import (
        default_artifact_root,
        default_tracking_uri,
        log_run,
        prepare_experiment,
    )
    from .model import Model, predict
    from .params import DEFAULT_PARAMS
    from .query import Fields, compile_filter, compile_sort
    from .records import RunInput, RunRecord
    from .service import ExperimentService, SweepRequest, TrainRequest
    from .split import SplitRule, apply_split, holdout
    from .training import FeatureImportance, TrainResult, TrainSpec, train


__getattr__ = lazy_exports(__name__, _EXPORTS)


def __dir__() -> list[str]:
    return __all__
