"""Direct loss estimation (DLE) for regressors, as NannyML 0.13.1's ``DLE``: LightGBM models
of each row's loss, fitted on the reference, estimate MAE and RMSE of chunks without labels.

The models are trained as NannyML trains them (``LGBMRegressor()`` defaults, features then
the prediction as columns, text columns encoded as NannyML's ordinal encoder does with
codes from 1, missing text as its own category, unseen text as 0), through
``lightgbm.train`` rather than the scikit-learn wrapper. Both models share one binned
LightGBM ``Dataset``: binning depends only on the features, so this saves a pass without
changing either model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, cast

import numpy as np
import polars as pl

from ..errors import InputError
from ..experiments.features import category_levels
from ..experiments.lightgbm_import import import_lightgbm
from . import serialization
from .estimation import Chunked, EstimatorConfig, FittedEstimator, Metric
from .inputs import FrameLike, load_columns, numbers
from .regression_metrics import METRICS, LossBatch, RegressionMetric

__all__ = ["DLE", "DEFAULT_LIGHTGBM_PARAMS", "FittedDLE"]

_KIND = "workbench.monitoring.FittedDLE"
#: NannyML's placeholder for missing text, which becomes a category of its own
MISSING = "NML_missing_value"

#: ``lightgbm.LGBMRegressor()``'s defaults (what NannyML trains with), as ``lightgbm.train``
#: parameters; ``num_boost_round`` is its ``n_estimators``.
DEFAULT_LIGHTGBM_PARAMS: dict[str, Any] = {
    "objective": "regression",
    "boosting_type": "gbdt",
    "num_leaves": 31,
    "max_depth": -1,
    "learning_rate": 0.1,
    "subsample_for_bin": 200_000,
    "min_split_gain": 0.0,
    "min_child_weight": 1e-3,
    "min_child_samples": 20,
    "subsample": 1.0,
    "subsample_freq": 0,
    "colsample_bytree": 1.0,
    "reg_alpha": 0.0,
    "reg_lambda": 0.0,
    "verbose": -1,
}
_ROUNDS = 100


@dataclass(frozen=True)
class DLE(EstimatorConfig):
    """DLE's configuration: feature, prediction and label columns, then keyword-only
    ``metrics`` (``"mae"``, ``"rmse"``: both by default), ``chunker``, ``thresholds``,
    ``lightgbm_params`` (overrides of ``DEFAULT_LIGHTGBM_PARAMS``) and ``num_boost_round``."""

    known_metrics: ClassVar[Mapping[str, Metric]] = METRICS
    default_metrics: ClassVar = ("mae", "rmse")

    feature_columns: Sequence[str]
    y_pred: str
    y_true: str
    lightgbm_params: Mapping[str, Any] = field(default_factory=dict)
    num_boost_round: int = _ROUNDS

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "feature_columns", tuple(self.feature_columns))
        if not self.feature_columns:
            raise InputError("DLE needs at least one feature column")
        clash = {self.y_pred, self.y_true} & set(self.feature_columns)
        if clash:
            raise InputError(f"{sorted(clash)} cannot be both a feature and a target")

    def fit(self, reference: FrameLike) -> FittedDLE:
        """Fit one loss model per metric, the sampling-error components and the thresholds."""
        what = "reference data"
        frame = load_columns(reference, self._columns(self.chunker, labels=True), what=what)
        y_true = numbers(frame, self.y_true, what=what)
        y_pred = numbers(frame, self.y_pred, what=what)
        categories = self._categories(frame)
        matrix = _encode(frame, self.feature_columns, self.y_pred, categories)
        lgb = import_lightgbm()
        params = {**DEFAULT_LIGHTGBM_PARAMS, **self.lightgbm_params}
        categorical = [i for i, c in enumerate(self.feature_columns) if c in categories]
        dataset = lgb.Dataset(
            matrix,
            label=np.zeros(len(matrix)),
            categorical_feature=categorical or "auto",
            params=params,
            free_raw_data=False,
        ).construct()
        boosters = {}
        components = {}
        for metric in cast("list[RegressionMetric]", self.metric_objects):
            dataset.set_label(metric.loss(y_true, y_pred))
            boosters[metric.name] = lgb.train(params, dataset, num_boost_round=self.num_boost_round)
            components[metric.name] = metric.components(y_true, y_pred)
        fitted = self._judged_reference(
            frame,
            components,
            lambda chunked: self._losses(chunked, categories, boosters, labels=True),
        )
        return FittedDLE(
            **fitted,
            categories=categories,
            models={m: b.model_to_string() for m, b in boosters.items()},
            _boosters=boosters,
        )

    def _data_columns(self) -> list[str]:
        return [*self.feature_columns, self.y_pred]

    def _categories(self, frame: pl.DataFrame) -> dict[str, list[str]]:
        """Per text or boolean feature, its categories in NannyML's order (sorted, with the
        missing-value placeholder among them when the reference has missing values)."""
        text = [
            c
            for c in self.feature_columns
            if frame[c].dtype in (pl.String, pl.Categorical, pl.Boolean)
            or isinstance(frame[c].dtype, pl.Enum)
        ]
        levels = category_levels(frame, text)
        for column in text:
            if frame[column].null_count():
                levels[column] = sorted([*levels[column], MISSING])
        return levels

    def _batch(self, chunked: Chunked, fitted: Any, *, labels: bool) -> LossBatch:
        return self._losses(chunked, fitted.categories, fitted.boosters(), labels=labels)

    def _losses(
        self,
        chunked: Chunked,
        categories: Mapping[str, list[str]],
        boosters: Mapping[str, Any],
        *,
        labels: bool,
    ) -> LossBatch:
        what = "data to estimate"
        frame = chunked.frame
        y_pred = numbers(frame, self.y_pred, what=what)
        y_true = None
        if labels:
            y_true = frame[self.y_true].cast(pl.Float64).fill_null(np.nan).to_numpy()
        matrix = _encode(frame, self.feature_columns, self.y_pred, categories)
        return LossBatch(
            y_pred=y_pred,
            y_true=y_true,
            predicted_loss={m: boosters[m].predict(matrix) for m in self.metrics or ()},
            starts=chunked.starts,
            stops=chunked.stops,
        )


def _encode(
    frame: pl.DataFrame,
    features: Sequence[str],
    y_pred: str,
    categories: Mapping[str, list[str]],
) -> np.ndarray:
    """The model's input: features then the prediction, float64; text as NannyML's codes
    (category position + 1; unseen text 0; missing text its placeholder's code, or 0)."""
    exprs = []
    for name in features:
        column = pl.col(name)
        levels = categories.get(name)
        if levels is None:
            dtype = frame[name].dtype
            if not (dtype.is_numeric() or dtype == pl.Boolean):
                raise InputError(f"feature {name!r} holds {dtype}; the reference held numbers")
            exprs.append(column.cast(pl.Float64))
        else:
            codes = column.cast(pl.String).fill_null(MISSING)
            exprs.append(
                codes.replace_strict(
                    levels, list(range(1, len(levels) + 1)), default=0, return_dtype=pl.Float64
                ).alias(name)
            )
    exprs.append(pl.col(y_pred).cast(pl.Float64))
    return frame.select(exprs).to_numpy(order="c")


@dataclass(frozen=True, repr=False)  # the short repr of FittedEstimator
class FittedDLE(FittedEstimator):
    """DLE fitted on a reference: the loss models (as LightGBM model text), the category
    encodings, components and thresholds."""

    estimator: DLE
    categories: dict[str, list[str]]
    #: per metric, ``Booster.model_to_string()`` of its loss model
    models: dict[str, str]
    _boosters: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def boosters(self) -> dict[str, Any]:
        """The loss models as LightGBM boosters (loaded from their text once)."""
        if not self._boosters:
            lgb = import_lightgbm()
            for name, text in self.models.items():
                self._boosters[name] = lgb.Booster(model_str=text)
        return self._boosters

    def to_bytes(self) -> bytes:
        """The fitted estimator as deterministic bytes (``FittedDLE.from_bytes`` inverts)."""
        state = self._state()
        state["categories"] = self.categories
        state["models"] = self.models
        return serialization.dumps(_KIND, state)

    @classmethod
    def from_bytes(cls, data: bytes) -> FittedDLE:
        """Load bytes written by ``to_bytes``."""
        state = serialization.loads(_KIND, data)
        return cls(
            **cls._fields(state, DLE), categories=state["categories"], models=state["models"]
        )
