"""Target and feature encodings, recorded so that scoring maps data exactly as training did.

The model's input is the *encoded feature frame*: numeric columns as float64 (null -> NaN) and
categorical (string, categorical, enum) columns as int64 codes into the recorded level list
(null or unseen -> -1, which LightGBM treats as missing). LightGBM gets the codes as native
categorical features. The MLflow model is logged on the same encoded frame, because MLflow's
schema enforcement rejects pandas ``category`` columns; ``encode_pandas`` builds that frame.

Every column type has one rule (``plan_features``), decided from the type alone so that the
same rule applies at scoring (``Model.predict``, the holdout, the registry's gates):

* numbers and booleans: a number feature; text, categorical and enum: a category feature;
* a date: five calendar features ``<col>.year``, ``.month``, ``.day`` (of the month),
  ``.day_of_week`` (ISO: Monday 1 .. Sunday 7) and ``.day_of_year``; a datetime those and
  ``.hour`` (in the column's own time zone). Trees split on them as numbers;
* a time of day: seconds since midnight; a duration: seconds (one number feature, same name);
* lists, arrays, structs, binary, objects and all-null columns are left out, with a note
  recorded on the model (``ModelMeta.left_out``) and printed by ``workbench train``.

The model's features (``ModelMeta.features``, the booster's feature names) are then not always
data columns: ``ModelMeta.inputs`` names the columns scoring reads, ``ModelMeta.derived`` how
each computed feature is made.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import InputError

if TYPE_CHECKING:
    from collections.abc import Mapping

    import numpy as np
    import pandas as pd
    import polars as pl

__all__ = [
    "ModelMeta",
    "FeaturePlan",
    "TASKS",
    "CALENDAR_PARTS",
    "detect_task",
    "encode_target",
    "plan_features",
    "feature_notes",
    "category_levels",
    "encode_matrix",
    "encode_pandas",
    "decode_labels",
]

TASKS = ("binary", "multiclass", "regression")
MAX_AUTO_CLASSES = 20


#: the calendar features of a date column, in order; a datetime column adds ``hour``
CALENDAR_PARTS = ("year", "month", "day", "day_of_week", "day_of_year")
_HOUR = "hour"
#: a time of day as seconds since midnight; a duration as seconds
_SECONDS_OF_DAY, _SECONDS = "seconds_of_day", "seconds"
_NUMBER_NAMES = ("Int", "UInt", "Float", "Decimal", "Boolean")
_TEXT_NAMES = ("String", "Utf8", "Categorical", "Enum")
#: why a type is left out of the features
_UNUSABLE = {
    "List": "a list", "Array": "an array", "Struct": "a struct", "Binary": "binary data",
    "Object": "Python objects", "Null": "only nulls",
}  # fmt: skip


@dataclass
class ModelMeta:
    """Everything needed besides the booster to score new data like the training data."""

    task: str
    target: str
    #: the model's features, in the booster's order (data columns or ``derived`` names)
    features: list[str]
    #: data column the model reads -> its type at training
    dtypes: dict[str, str]
    #: categorical column -> its levels; a value's code is its index in this list
    categories: dict[str, list[str]] = field(default_factory=dict)
    #: label order for classification: ``classes[i]`` is encoded as ``i``
    classes: list[Any] | None = None
    best_iteration: int = 0
    #: computed feature -> [data column, part]: a calendar part, ``seconds_of_day`` or
    #: ``seconds``
    derived: dict[str, list[str]] = field(default_factory=dict)
    #: data column left out of the features -> why (its type, which LightGBM cannot use)
    left_out: dict[str, str] = field(default_factory=dict)
    #: input columns that held missing values in the training data (the MLflow signature
    #: declares such an integer column ``any``: pandas reads it as floats when a batch has a
    #: missing value and as integers when not)
    nullable: list[str] = field(default_factory=list)

    @property
    def inputs(self) -> list[str]:
        """The data columns scoring reads, in feature order."""
        return list(dict.fromkeys(self.derived.get(f, [f])[0] for f in self.features))

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


@dataclass
class FeaturePlan:
    """What a table's columns become as features (see the module doc)."""

    features: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    derived: dict[str, list[str]] = field(default_factory=dict)
    left_out: dict[str, str] = field(default_factory=dict)
    #: column -> its type's text, for every column considered
    dtypes: dict[str, str] = field(default_factory=dict)

    def notes(self) -> list[str]:
        """One line per column not used as it is: computed features and columns left out."""
        return _notes(self.derived, self.left_out, self.dtypes)


def _type_name(dtype: Any) -> str:
    """The bare type name of a Polars dtype or its text (``Datetime(...)`` -> ``Datetime``)."""
    return str(dtype).split("(", 1)[0].strip()


def _free_name(wanted: str, taken: set[str]) -> str:
    name = wanted
    while name in taken:
        name += "_"
    taken.add(name)
    return name


def plan_features(schema: Mapping[str, Any], drop: set[str]) -> FeaturePlan:
    """The features of a table with ``schema`` (Polars dtypes or their text), minus ``drop``.

    Decided from the types alone, so the command line can say what will happen from a
    snapshot's recorded schema before the data is read. Never refuses a column.
    """
    plan = FeaturePlan()
    taken = set(schema)
    for name, dtype in schema.items():
        if name in drop:
            continue
        kind = _type_name(dtype)
        plan.dtypes[name] = str(dtype)
        if kind.startswith(_TEXT_NAMES):
            plan.categorical.append(name)
            plan.features.append(name)
        elif kind.startswith(_NUMBER_NAMES):
            plan.features.append(name)
        elif kind in ("Date", "Datetime"):
            parts = CALENDAR_PARTS + ((_HOUR,) if kind == "Datetime" else ())
            for part in parts:
                feature = _free_name(f"{name}.{part}", taken)
                plan.derived[feature] = [name, part]
                plan.features.append(feature)
        elif kind in ("Time", "Duration"):
            plan.derived[name] = [name, _SECONDS_OF_DAY if kind == "Time" else _SECONDS]
            plan.features.append(name)
        else:
            what = _UNUSABLE.get(kind, f"type {dtype}")
            plan.left_out[name] = f"{what}, which LightGBM cannot use"
    return plan


def _notes(
    derived: dict[str, list[str]], left_out: dict[str, str], dtypes: dict[str, str]
) -> list[str]:
    made: dict[str, list[str]] = {}
    for column, part in derived.values():
        made.setdefault(column, []).append(part)
    notes = []
    for column, parts in made.items():
        kind = _type_name(dtypes.get(column, ""))
        if parts == [_SECONDS_OF_DAY]:
            notes.append(f"'{column}' ({kind}) is trained on as seconds since midnight.")
        elif parts == [_SECONDS]:
            notes.append(f"'{column}' ({kind}) is trained on as a number of seconds.")
        else:
            words = [p.replace("_", " ") for p in parts]
            listed = ", ".join(words[:-1]) + " and " + words[-1]
            notes.append(f"'{column}' ({kind}) is trained on as its {listed}.")
    for column, why in left_out.items():
        notes.append(f"'{column}' is left out of the features: it holds {why}.")
    return notes


def feature_notes(meta: ModelMeta | dict[str, Any]) -> list[str]:
    """The notes of a trained model's features (computed ones, columns left out)."""
    if isinstance(meta, dict):
        meta = ModelMeta.from_dict(meta) if meta else ModelMeta("", "", [], {})
    return _notes(meta.derived, meta.left_out, meta.dtypes)


def category_levels(df: pl.DataFrame, columns: list[str]) -> dict[str, list[str]]:
    """Sorted distinct non-null values of each categorical column."""
    import polars as pl

    return {
        c: df.get_column(c).cast(pl.String).drop_nulls().unique().sort().to_list() for c in columns
    }


def _derived_expr(meta: ModelMeta, df: pl.DataFrame, column: str, part: str, name: str) -> pl.Expr:
    """The number ``part`` of ``column`` (a calendar part, seconds); InputError on a type
    that has no such part."""
    import polars as pl

    kind = _type_name(df.schema[column])
    wanted = {_SECONDS_OF_DAY: ("Time",), _SECONDS: ("Duration",)}.get(part, ("Date", "Datetime"))
    if kind not in wanted:
        trained = _type_name(meta.dtypes.get(column, wanted[0]))
        raise InputError(
            f"the model takes '{column}' as a {trained} column, but here it is {df.schema[column]}",
            hint="convert it as in the model's training data",
        )
    col = pl.col(column)
    if part == _SECONDS_OF_DAY:
        hour, minute, second = (
            getattr(col.dt, p)().cast(pl.Int64) for p in ("hour", "minute", "second")
        )
        whole = hour * 3600 + minute * 60 + second  # (Int8 parts: 30 * 60 would wrap)
        expr = whole.cast(pl.Float64) + col.dt.nanosecond().cast(pl.Float64) / 1e9
    elif part == _SECONDS:
        expr = col.dt.total_seconds(fractional=True)
    elif part == _HOUR:
        expr = (col.cast(pl.Datetime) if kind == "Date" else col).dt.hour()
    else:
        expr = {
            "year": col.dt.year(),
            "month": col.dt.month(),
            "day": col.dt.day(),
            "day_of_week": col.dt.weekday(),
            "day_of_year": col.dt.ordinal_day(),
        }[part]
    return expr.cast(pl.Float64).alias(name)


def _encoded_exprs(meta: ModelMeta, df: pl.DataFrame, nan_codes: bool) -> list[pl.Expr]:
    import polars as pl

    missing = [c for c in meta.inputs if c not in df.columns]
    if missing:
        raise InputError(f"data lacks feature column(s): {', '.join(missing)}")
    exprs = []
    for name in meta.features:
        col = pl.col(name)
        levels = meta.categories.get(name)
        if name in meta.derived:
            column, part = meta.derived[name]
            exprs.append(_derived_expr(meta, df, column, part, name))
        elif levels is None:
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
            and name not in meta.derived
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
