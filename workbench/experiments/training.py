"""Train a LightGBM model on a Polars frame and describe the result completely.

``train`` is pure: it reads a frame and returns a ``TrainResult`` (model text, metrics, curves,
importances, the split rule and the encodings); persistence lives in ``repository`` and the MLflow
mirror in ``mlflow_mirror``.
"""

from __future__ import annotations

import platform
import re
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..progress import NULL_PROGRESS, Progress
from .features import (
    TASKS,
    ModelMeta,
    category_levels,
    detect_task,
    encode_matrix,
    encode_target,
    plan_features,
)
from .lightgbm_import import import_lightgbm
from .metrics import compute_metrics
from .params import check_objective, lightgbm_error_message, merge_params, validate_params
from .split import SplitRule, make_split

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

__all__ = [
    "TrainSpec",
    "TrainResult",
    "FeatureImportance",
    "IterationObserver",
    "train",
    "git_commit",
]

#: ``on_iteration(i, train_metric, valid_metric)``; i counts from 1.
IterationObserver = Callable[[int, float | None, float | None], None]

EXAMPLE_ROWS = 5
TRAIN_CURVE_ROWS = 20_000
"""The train curve is measured on at most this many training rows (a fixed seeded sample).

Evaluating AUC or log loss on every training row at every iteration costs more than the
boosting itself on big data (it sorts all rows for AUC); a 20,000-row sample draws the same
curve to within about 0.005 AUC. Smaller training sets are measured whole, as before.
"""
_SAMPLE_NAME = "training"
"""LightGBM's own name for the training set: early stopping never watches a set of this name."""


@dataclass
class TrainSpec:
    """What to train: target, task, LightGBM parameters and how to split the rows."""

    target: str
    task: str = "auto"  # auto | binary | multiclass | regression
    params: dict[str, Any] = field(default_factory=dict)
    split: str = "random"  # random | time
    test_size: float = 0.2
    #: fraction of the non-holdout rows used for early stopping
    valid_size: float = 0.1
    seed: int = 42
    time_column: str | None = None
    #: columns that are not features (ids, keys); target and time column are dropped anyway
    exclude: list[str] = field(default_factory=list)
    #: for a binary target, the class treated as positive (default: the larger when sorted)
    positive_class: Any = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    def not_features(self) -> set[str]:
        """The columns never used as features: target, excluded columns, time column."""
        return {self.target, *self.exclude, *([self.time_column] if self.time_column else [])}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainSpec:
        """Inverse of ``to_dict``."""
        return cls(**data)


@dataclass
class FeatureImportance:
    """Per-feature importance, in the model's feature order."""

    feature: list[str]
    gain: list[float]
    split: list[int]


@dataclass
class TrainResult:
    """A trained model and everything known about how it was made."""

    spec: TrainSpec
    task: str
    model_text: str
    meta: ModelMeta
    #: our defaults merged with the user's parameters (LightGBM main names)
    params: dict[str, Any]
    #: every LightGBM parameter as the booster used it, defaults included
    effective_params: dict[str, Any]
    metrics: dict[str, float]
    #: {"train": {metric: [per iteration]}, "valid": {...}}
    curves: dict[str, dict[str, list[float]]]
    importance: FeatureImportance
    best_iteration: int
    num_iterations: int
    duration_s: float
    split: SplitRule
    environment: dict[str, str]
    #: a few raw feature rows (for the MLflow input example)
    example: pl.DataFrame | None = None

    @property
    def seed(self) -> int:
        """The split and LightGBM seed."""
        return self.spec.seed


def _check_spec(df: pl.DataFrame, spec: TrainSpec) -> None:
    if spec.target not in df.columns:
        raise InputError(f"target column '{spec.target}' is not in the data")
    if spec.task not in ("auto", *TASKS):
        raise InputError(f"unknown task '{spec.task}'", hint="auto, binary, multiclass, regression")
    unknown = [c for c in spec.exclude if c not in df.columns]
    if unknown:
        raise InputError(f"excluded column(s) not in the data: {', '.join(unknown)}")


def _recorder(
    curves: dict[str, dict[str, list[float]]],
    progress: Progress,
    on_iteration: IterationObserver | None,
) -> Callable:
    """A LightGBM callback that records curves, reports progress and honours cancellation."""

    def record(env: Any) -> None:
        first: dict[str, float] = {}
        for data_name, metric, value, _ in env.evaluation_result_list or ():
            data_name = "train" if data_name == _SAMPLE_NAME else data_name
            curves.setdefault(data_name, {}).setdefault(metric, []).append(float(value))
            first.setdefault(data_name, float(value))
        progress.advance()
        if on_iteration is not None:
            on_iteration(env.iteration + 1, first.get("train"), first.get("valid"))
        progress.check_cancelled()

    return record


def _parse_value(text: str) -> Any:
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


def _effective_params(model_text: str) -> dict[str, Any]:
    """The ``parameters:`` block LightGBM writes at the end of the model text."""
    start = model_text.rfind("\nparameters:\n")
    if start < 0:
        return {}
    block = model_text[start:].split("end of parameters", 1)[0]
    return {k: _parse_value(v) for k, v in re.findall(r"^\[(\w+): ?(.*)\]$", block, re.M)}


def _environment() -> dict[str, str]:
    import numpy
    import polars

    lightgbm = import_lightgbm()

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "lightgbm": lightgbm.__version__,
        "polars": polars.__version__,
        "numpy": numpy.__version__,
    }


def git_commit(path: Path) -> str | None:
    """The commit checked out in the git repository around ``path``, if any (and git is here)."""
    import subprocess

    try:
        out = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "--verify", "--quiet", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and len(commit) >= 40 else None


@dataclass
class _Prepared:
    meta: ModelMeta
    rule: SplitRule
    x: np.ndarray
    y: np.ndarray
    parts: tuple[np.ndarray, np.ndarray, np.ndarray]
    categorical: list[str]


def _prepare(df: pl.DataFrame, spec: TrainSpec) -> _Prepared:
    """Task, labels, split, encodings and the feature matrix."""
    import numpy as np

    _check_spec(df, spec)
    target = df.get_column(spec.target)
    task = spec.task if spec.task != "auto" else detect_task(target.drop_nulls())
    y, classes = encode_target(target, task, spec.positive_class)
    plan = plan_features(df.schema, spec.not_features())
    if not plan.features:
        left = "".join(f"; '{c}' holds {why}" for c, why in plan.left_out.items())
        raise InputError(
            f"no feature columns left after dropping target and excluded columns{left}"
        )
    categorical = plan.categorical
    rule, parts = make_split(
        df,
        kind=spec.split,
        seed=spec.seed,
        test_size=spec.test_size,
        valid_size=spec.valid_size,
        time_column=spec.time_column,
    )
    fit_rows = np.concatenate(parts[:2])
    levels = category_levels(df.select(categorical)[fit_rows], categorical) if categorical else {}
    meta = ModelMeta(task, spec.target, plan.features, {}, levels, classes,
                     derived=plan.derived, left_out=plan.left_out)  # fmt: skip
    meta.dtypes = {c: plan.dtypes[c] for c in meta.inputs}
    meta.nullable = [c for c in meta.inputs if df.get_column(c).null_count()]
    return _Prepared(meta, rule, encode_matrix(meta, df), y, parts, categorical)


def _fit(
    prep: _Prepared,
    params: dict[str, Any],
    progress: Progress,
    on_iteration: IterationObserver | None,
) -> tuple[Any, dict[str, dict[str, list[float]]]]:
    import numpy as np

    lgb = import_lightgbm()
    train_idx, valid_idx, _ = prep.parts
    common = {"feature_name": prep.meta.features, "categorical_feature": prep.categorical}
    dtrain = lgb.Dataset(prep.x[train_idx], prep.y[train_idx], free_raw_data=True, **common)
    dvalid = lgb.Dataset(prep.x[valid_idx], prep.y[valid_idx], reference=dtrain, **common)
    if len(train_idx) > TRAIN_CURVE_ROWS:
        rng = np.random.default_rng(params.get("seed", 0))
        sample = np.sort(rng.choice(train_idx, TRAIN_CURVE_ROWS, replace=False))
        dcurve = lgb.Dataset(prep.x[sample], prep.y[sample], reference=dtrain, **common)
        watched, names = [dcurve, dvalid], [_SAMPLE_NAME, "valid"]
    else:
        watched, names = [dtrain, dvalid], ["train", "valid"]
    curves: dict[str, dict[str, list[float]]] = {}
    progress.start("train", total=float(params["num_iterations"]))
    try:
        with warnings.catch_warnings():
            # LightGBM < 4.6 warns that num_iterations in params wins over num_boost_round:
            # it is meant to (our params always name the rounds).
            warnings.filterwarnings("ignore", message="Found `num_iterations` in params")
            booster = lgb.train(
                params,
                dtrain,
                valid_sets=watched,
                valid_names=names,
                callbacks=[_recorder(curves, progress, on_iteration)],
            )
    except lgb.basic.LightGBMError as exc:
        raise InputError(f"LightGBM failed: {lightgbm_error_message(exc)}") from None
    return booster, curves


def train(
    df: pl.DataFrame,
    spec: TrainSpec,
    progress: Progress = NULL_PROGRESS,
    on_iteration: IterationObserver | None = None,
    after_fit: Callable[[], None] | None = None,
) -> TrainResult:
    """Train LightGBM on ``df`` as ``spec`` says; raises InputError for unusable input.

    ``after_fit`` is called once the model is fitted, before the holdout is scored: scoring
    runs in LightGBM's C++ with the GIL released, so a caller can start Python work beside it.
    """
    import_lightgbm()  # its first import takes a second; keep it out of duration_s

    started = time.perf_counter()
    prep = _prepare(df, spec)
    classes = prep.meta.classes
    num_class = len(classes) if prep.meta.task == "multiclass" and classes else None
    params = merge_params(spec.params, task=prep.meta.task, num_class=num_class, seed=spec.seed)
    check_objective(prep.meta.task, params)
    validate_params(params)
    booster, curves = _fit(prep, params, progress, on_iteration)
    if after_fit is not None:
        after_fit()
    progress.start("scoring the holdout", total=None)
    best = booster.best_iteration or booster.current_iteration()
    prep.meta.best_iteration = best
    test_idx = prep.parts[2]
    metrics = compute_metrics(
        prep.meta.task, prep.y[test_idx], booster.predict(prep.x[test_idx], num_iteration=best)
    )
    model_text = booster.model_to_string(num_iteration=best)
    importance = FeatureImportance(
        feature=list(prep.meta.features),
        gain=[float(v) for v in booster.feature_importance("gain", iteration=best)],
        split=[int(v) for v in booster.feature_importance("split", iteration=best)],
    )
    return TrainResult(
        spec=spec,
        task=prep.meta.task,
        model_text=model_text,
        meta=prep.meta,
        params=params,
        effective_params=_effective_params(model_text),
        metrics=metrics,
        curves=curves,
        importance=importance,
        best_iteration=best,
        num_iterations=max((len(v) for c in curves.values() for v in c.values()), default=best),
        duration_s=time.perf_counter() - started,
        split=prep.rule,
        environment=_environment(),
        example=df.select(prep.meta.inputs)[test_idx[:EXAMPLE_ROWS]],
    )
