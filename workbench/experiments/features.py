"""Target and feature encodings, recorded so that scoring maps data exactly as training did.

The model's input is the *encoded feature frame*: numeric columns as float64 (null -> NaN) and
categorical (string, categorical, enum) columns as int64 codes into the recorded level list
(null or unseen -> -1, which LightGBM treats as missing). LightGBM gets the codes as native
categorical features. The MLflow model is logged on the same encoded frame, because MLflow's
schema enforcement rejects pandas ``category`` columns; ``encode_pandas`` builds that frame.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import InputError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import polars as pl

__all__ = [
    "ModelMeta",
    "TASKS",
    "detect_task",
    "encode_target",
    "feature_columns",
    "category_levels",
    "encode_matrix",
    "encode_pandas",
    "decode_labels",
]

TASKS = ("binary", "multiclass", "regression")
MAX_AUTO_CLASSES = 20


@dataclass
class ModelMeta:
    """Everything needed besides the booster to score new data like the training data."""

    task: str
    target: str
    features: list[str]
    dtypes: dict[str, str]
    #: categorical column -> its levels; a value's code is its index in this list
    categories: dict[str, list[str]] = field(default_factory=dict)
    #: label order for classification: ``classes[i]`` is encoded as ``i``
    classes: list[Any] | None = None
    best_iteration: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelMeta:
        """Inverse of ``to_dict``."""
        return cls(**data)


def _is_text(dtype: pl.DataType) -> bool:
    import polars as pl

    return dtype == pl.String or dtype == pl.Categorical or isinstance(dtype, pl.Enum)


def _is_number(dtype: pl.DataType) -> bool:
    import polars as pl

    return dtype.is_numeric() or dtype == pl.Boolean


def detect_task(target: pl.Series) -> str:
    """auto: text/bool or <= 2 distinct -> binary; few non-float classes -> multiclass."""
    import polars as pl

    distinct = target.drop_nulls().n_unique()
    if _is_text(target.dtype) or target.dtype == pl.Boolean or distinct <= 2:
        return "binary" if distinct <= 2 else "multiclass"
    if target.dtype.is_integer() and distinct <= MAX_AUTO_CLASSES:
        return "multiclass"
    if not target.dtype.is_numeric():
        raise InputError(f"target '{target.name}' has type {target.dtype}, which cannot be learned")
    return "regression"


def _check_target(target: pl.Series) -> None:
    nulls = target.null_count()
    if nulls:
        raise InputError(
            f"target '{target.name}' has {nulls} null value(s)",
            hint="drop or fill those rows before training",
        )
    if target.dtype.is_float() and target.is_nan().any():
        raise InputError(f"target '{target.name}' has NaN values", hint="drop those rows")


def _classes(target: pl.Series, task: str, positive: Any) -> list[Any]:
    classes = target.unique().sort().to_list()
    if len(classes) < 2:
        raise InputError(
            f"target '{target.name}' has only one class ({classes[0]!r})",
            hint="a classifier needs at least two classes",
        )
    if task == "binary" and len(classes) > 2:
        raise InputError(f"target '{target.name}' has {len(classes)} classes; binary needs 2")
    if positive is not None:
        if positive not in classes:
            raise InputError(f"positive class {positive!r} is not a value of '{target.name}'")
        classes.remove(positive)
        classes.append(positive)
    return classes


def encode_target(
    target: pl.Series, task: str, positive: Any = None
) -> tuple[np.ndarray, list[Any] | None]:
    """Labels as float64 (class index for classification) and the class order."""
    import polars as pl

    _check_target(target)
    if task == "regression":
        if not _is_number(target.dtype):
            raise InputError(
                f"regression needs a numeric target; '{target.name}' is {target.dtype}"
            )
        if target.n_unique() < 2:
            raise InputError(f"target '{target.name}' is constant", hint="nothing to learn")
        return target.cast(pl.Float64).to_numpy(), None
    if _is_text(target.dtype):
        target = target.cast(pl.String)
    classes = _classes(target, task, positive)
    codes = target.replace_strict(classes, list(range(len(classes))), return_dtype=pl.Float64)
    return codes.to_numpy(), classes


def decode_labels(codes: np.ndarray, classes: list[Any]) -> list[Any]:
    """Class values for class indices."""
    return [classes[int(c)] for c in codes]


def feature_columns(df: pl.DataFrame, drop: set[str]) -> tuple[list[str], list[str]]:
    """(features, categorical features) of a frame, minus ``drop``; unusable types fail."""
    features, categorical = [], []
    for name, dtype in df.schema.items():
        if name in drop:
            continue
        if _is_text(dtype):
            categorical.append(name)
        elif not _is_number(dtype):
            raise InputError(
                f"column '{name}' has type {dtype}, which LightGBM cannot use",
                hint="add it to the spec's exclude list or convert it",
            )
        features.append(name)
    if not features:
        raise InputError("no feature columns left after dropping target and excluded columns")
    return features, categorical


def category_levels(df: pl.DataFrame, columns: list[str]) -> dict[str, list[str]]:
    """Sorted distinct non-null values of each categorical column."""
    import polars as pl

    return {
        c: df.get_column(c).cast(pl.String).drop_nulls().unique().sort().to_list() for c in columns
    }


def _encoded_exprs(meta: ModelMeta, df: pl.DataFrame, nan_codes: bool) -> list[pl.Expr]:
    import polars as pl

    missing = [c for c in meta.features if c not in df.columns]
    if missing:
        raise InputError(f"data lacks feature column(s): {', '.join(missing)}")
    exprs = []
    for name in meta.features:
        col = pl.col(name)
        levels = meta.categories.get(name)
        if levels is None:
            exprs.append(col.cast(pl.Float64))
        else:
            codes = col.cast(pl.String).replace_strict(
                levels, list(range(len(levels))), default=-1, return_dtype=pl.Int64
            )
            if nan_codes:  # NaN, which LightGBM reads as missing without a warning
                codes = pl.when(codes >= 0).then(codes)
            exprs.append(codes.alias(name))
    return exprs


def _encode(meta: ModelMeta, df: pl.DataFrame, nan_codes: bool) -> pl.DataFrame:
    """The encoded feature frame; InputError when a number feature holds other values here.

    A model trained on ``TotalCharges`` as numbers, given a snapshot where blanks made it
    text, failed deep in Polars with a traceback (found promoting a model on the Telco data).
    """
    import polars as pl

    try:
        return df.select(_encoded_exprs(meta, df, nan_codes))
    except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError) as exc:
        wrong = [
            f"{name} ({df.schema[name]})"
            for name in meta.features
            if name not in meta.categories
            and not (df.schema[name].is_numeric() or df.schema[name] == pl.Boolean)
        ]
        if not wrong:
            first = str(exc).splitlines()[0]
            raise InputError(f"cannot encode the data for the model: {first}") from exc
        raise InputError(
            f"the model takes {', '.join(wrong)} as numbers, but not all of its values here "
            "are numbers",
            hint="clean the column as in the model's training data",
        ) from None


def encode_matrix(meta: ModelMeta, df: pl.DataFrame) -> np.ndarray:
    """The encoded features as one float64 matrix (for LightGBM; missing codes are NaN)."""
    return _encode(meta, df, nan_codes=True).to_numpy().astype("float64", copy=False)


def encode_pandas(meta: ModelMeta, df: pl.DataFrame) -> pd.DataFrame:
    """The encoded features as pandas (float64 numerics, int64 codes): MLflow pyfunc input."""
    import pandas as pd

    encoded = _encode(meta, df, nan_codes=False)
    return pd.DataFrame({name: encoded.get_column(name).to_numpy() for name in encoded.columns})
