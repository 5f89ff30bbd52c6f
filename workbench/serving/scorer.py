"""The scorer: one model version that takes raw rows with the snapshot's own types.

Training encodes a snapshot's columns into the model's feature matrix (``experiments.features``:
numbers as float64, text as codes into the recorded levels). A scorer takes rows as users
have them, a CSV read by pandas, a JSON record, a Polars frame, and encodes them exactly as
training did, in two steps:

1. **Conform** each input column to its type at training (``ModelMeta.dtypes``): integers
   (a float that is a whole number is accepted: pandas stores a column with missing values as
   floats), floats (a Float32 column is rounded through float32, as the snapshot held it),
   booleans, text, dates and datetimes (ISO 8601 text is parsed). Anything else is a
   ``FieldError`` naming the column and why; nothing is guessed.
2. **Encode** with training's own code (``features.encode_matrix``) for frames; rows in small
   requests take a pure-Python path (dict lookups for categories, no Polars), tested equal to
   it value for value (``tests/serving/test_scorer.py``).

Policy (``EncodingPolicy``) where the data differ from training:

* a category value training never saw is **missing** by default (LightGBM routes it as it
  routes missing values, the same as training encodes an unseen value), or an error with
  ``unknown_category="error"``;
* a missing input column (or a record without the key) is an **error** by default, or all
  missing with ``missing_column="missing"``; a null value is always allowed (missing);
* extra columns are ignored (a key or route column may ride along).

Outputs (``Scores``): the predicted class and the probability for classification (binary:
probability of the positive class, the last of ``classes``, the number training's holdout
metrics use; multiclass: of the predicted class, with all class probabilities), the value for
regression.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..experiments.input_types import BOOL as _BOOL
from ..experiments.input_types import DATE as _DATE
from ..experiments.input_types import DATETIME as _DATETIME
from ..experiments.input_types import DURATION as _DURATION
from ..experiments.input_types import FLOAT as _FLOAT
from ..experiments.input_types import FLOAT32 as _FLOAT32
from ..experiments.input_types import INT as _INT
from ..experiments.input_types import TEXT as _TEXT
from ..experiments.input_types import TIME as _TIME
from ..experiments.input_types import column_kind
from .single_row import SingleRowPredictor

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

    from ..experiments.features import ModelMeta
    from ..experiments.model import Model

__all__ = [
    "EncodingPolicy",
    "FieldError",
    "Scorer",
    "Scores",
    "SMALL_INPUT",
    "UNKNOWN_POLICIES",
    "MISSING_POLICIES",
]

#: requests up to this many rows take the pure-Python encoding; larger ones go through Polars
SMALL_INPUT = 256
UNKNOWN_POLICIES = ("missing", "error")
MISSING_POLICIES = ("error", "missing")
_NAN = math.nan
#: up to this many rows, one C call per row beats one Booster.predict call
_SINGLE_ROWS = 8


@dataclass(frozen=True)
class EncodingPolicy:
    """What a scorer does with values training never saw and with columns that are absent."""

    #: a category value not seen in training: ``missing`` (scored as missing) or ``error``
    unknown_category: str = "missing"
    #: an input column (record key) that is absent: ``error`` or ``missing`` (all missing)
    missing_column: str = "error"

    def __post_init__(self) -> None:
        if self.unknown_category not in UNKNOWN_POLICIES:
            raise InputError(
                f"unknown-category policy must be one of {', '.join(UNKNOWN_POLICIES)}, "
                f"not {self.unknown_category!r}"
            )
        if self.missing_column not in MISSING_POLICIES:
            raise InputError(
                f"missing-column policy must be one of {', '.join(MISSING_POLICIES)}, "
                f"not {self.missing_column!r}"
            )


class FieldError(InputError):
    """One input field cannot be scored: ``field``, ``reason`` (``missing``, ``type``,
    ``unknown_category``) and, for a list of records, the ``row`` (0-based)."""

    def __init__(self, field: str, reason: str, message: str, row: int | None = None) -> None:
        where = f"record {row}: " if row is not None else ""
        super().__init__(f"{where}{message}")
        self.field = field
        self.reason = reason
        self.row = row
        self.detail = message

    def at_row(self, row: int) -> FieldError:
        """The same problem, located in a list of records."""
        return FieldError(self.field, self.reason, self.detail, row)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# -- conforming one value ----------------------------------------------------------------------

_KIND_WORDS = {
    _INT: "a whole number", _FLOAT: "a number", _FLOAT32: "a number", _BOOL: "true or false",
    _TEXT: "text", _DATE: "a date (YYYY-MM-DD)", _DATETIME: "a date and time (ISO 8601)",
    _TIME: "a time of day (HH:MM:SS)", _DURATION: "a duration (seconds)",
}  # fmt: skip


def _is_null(value: Any) -> bool:
    return value is None or (type(value) is float and value != value)


def parse_date(value: str) -> date:
    """An ISO date (``2025-07-01``); a datetime's text gives its date."""
    text = value.strip()
    if len(text) == 10:
        return date.fromisoformat(text)
    return datetime.fromisoformat(text).date()


def parse_datetime(value: str) -> datetime:
    """An ISO 8601 date and time (``2025-07-01T12:30:00``, ``...Z``, ``...+02:00``)."""
    return datetime.fromisoformat(value.strip())


def _converter(name: str, kind: str, dtype: str) -> Callable[[Any], Any]:
    """A function from a raw value to the value as training held it (None when missing)."""
    want = _KIND_WORDS[kind]

    def wrong(value: Any) -> FieldError:
        return FieldError(name, "type", f"field '{name}' must be {want}, got {_show(value)}")

    if kind in (_INT, _FLOAT, _FLOAT32):
        import numpy as np

        def general(value: Any) -> Any:
            """Anything but a plain int or float: numpy scalars, bools (refused), text..."""
            if value is None:
                return None
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
                raise wrong(value)
            plain = int(value) if isinstance(value, numbers.Integral) else float(value)
            return number(plain)

        if kind == _FLOAT:

            def number(value: Any) -> Any:
                t = type(value)
                if t is float:
                    return None if value != value else value
                if t is int:
                    return float(value)
                return general(value)

        elif kind == _FLOAT32:

            def number(value: Any) -> Any:
                t = type(value)
                if t is float:
                    return None if value != value else float(np.float32(value))
                if t is int:
                    return float(np.float32(value))
                return general(value)

        else:

            def number(value: Any) -> Any:
                t = type(value)
                if t is int:
                    return value
                if t is float:
                    if value != value:
                        return None
                    if not value.is_integer():
                        raise wrong(value)
                    return int(value)
                return general(value)

        return number
    if kind == _BOOL:
        import numpy as np

        def boolean(value: Any) -> Any:
            if _is_null(value):
                return None
            if type(value) is bool:
                return value
            if isinstance(value, np.bool_):
                return bool(value)
            raise wrong(value)

        return boolean
    if kind == _TEXT:

        def text(value: Any) -> Any:
            if _is_null(value):
                return None
            if isinstance(value, str):
                return value
            raise wrong(value)

        return text
    if kind == _DATE:

        def a_date(value: Any) -> Any:
            if _is_null(value):
                return None
            if isinstance(value, str):
                try:
                    return parse_date(value)
                except ValueError:
                    raise wrong(value) from None
            if isinstance(value, datetime):
                return value.date()
            if isinstance(value, date):
                return value
            raise wrong(value)

        return a_date
    if kind == _TIME:

        def a_time(value: Any) -> Any:
            if _is_null(value):
                return None
            if isinstance(value, str):
                try:
                    return time.fromisoformat(value.strip())
                except ValueError:
                    raise wrong(value) from None
            if isinstance(value, datetime):
                return value.time()
            if isinstance(value, time):
                return value
            raise wrong(value)

        return a_time
    if kind == _DURATION:
        import numpy as np

        def a_duration(value: Any) -> Any:
            if _is_null(value):
                return None
            if isinstance(value, timedelta):  # pandas' Timedelta too
                return value
            if isinstance(value, np.timedelta64):
                return timedelta(microseconds=int(value.astype("timedelta64[us]").astype("int64")))
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
                raise wrong(value)
            return timedelta(seconds=float(value))

        return a_duration
    zone = _zone_of(dtype)

    def a_datetime(value: Any) -> Any:
        if _is_null(value):
            return None
        if isinstance(value, str):
            try:
                value = parse_datetime(value)
            except ValueError:
                raise wrong(value) from None
        elif hasattr(value, "to_pydatetime"):  # a pandas Timestamp
            value = value.to_pydatetime()
        if not isinstance(value, datetime):
            raise wrong(value)
        return _to_zone(value, zone)

    return a_datetime


def _zone_of(dtype: str) -> str | None:
    import re

    match = re.search(r"time_zone='([^']*)'", dtype)
    return match[1] if match else None


def _to_zone(value: datetime, zone: str | None) -> datetime:
    """A datetime as training's column held it: naive for a naive column (an aware value is
    taken in UTC first), else in the column's zone."""
    from datetime import UTC

    if zone is None:
        return value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)
    from zoneinfo import ZoneInfo

    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(ZoneInfo(zone))


# -- the scorer ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Input:
    """One input column: its training type and how a raw value becomes that type."""

    name: str
    dtype: str
    kind: str
    convert: Callable[[Any], Any]


class Scorer:
    """A model version's scorer: raw rows in, predictions out (see the module doc).

    Thread-safe: LightGBM predicts from several threads at once, and the scorer holds no
    state that a call changes.
    """

    def __init__(
        self,
        model: Model,
        *,
        name: str | None = None,
        version: int | None = None,
        policy: EncodingPolicy | None = None,
        key_column: str | None = None,
    ) -> None:
        self.model = model
        #: the training data's entity key column (logged with each row to join labels later)
        self.key_column = key_column
        self.meta: ModelMeta = model.meta
        self.booster = model.booster
        self.name = name
        self.version = version
        self.policy = policy or EncodingPolicy()
        meta = self.meta
        self.inputs: list[str] = list(_input_columns(meta))
        self._inputs = [
            _Input(c, meta.dtypes[c], column_kind(meta.dtypes[c]),
                   _converter(c, column_kind(meta.dtypes[c]), meta.dtypes[c]))
            for c in self.inputs
        ]  # fmt: skip
        self._encoders = _feature_encoders(meta, self.inputs, self.policy)
        self._single = SingleRowPredictor.create(self.booster)
        self.classes = list(meta.classes) if meta.classes is not None else None

    def __repr__(self) -> str:
        who = f"{self.name}@v{self.version}" if self.name else "model"
        return f"Scorer({who}, task={self.meta.task!r}, inputs={len(self.inputs)})"

    @property
    def task(self) -> str:
        """binary, multiclass or regression."""
        return self.meta.task

    @property
    def input_types(self) -> dict[str, str]:
        """Input column -> its type at training (what the prediction log declares)."""
        return {i.name: i.dtype for i in self._inputs}

    def with_policy(self, policy: EncodingPolicy) -> Scorer:
        """The same model with another encoding policy (shares the booster)."""
        return Scorer(
            self.model, name=self.name, version=self.version, policy=policy,
            key_column=self.key_column,
        )  # fmt: skip

    # -- rows (small requests) ---------------------------------------------------------------

    def conform_records(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Each record's inputs as training typed them; ``FieldError`` names the first problem."""
        missing_ok = self.policy.missing_column == "missing"
        out = []
        for row, record in enumerate(records):
            if not isinstance(record, Mapping):
                raise InputError(f"record {row} is not an object of field values")
            typed = {}
            for spec in self._inputs:
                value = record.get(spec.name, _ABSENT)
                if value is _ABSENT:
                    if not missing_ok:
                        raise FieldError(
                            spec.name, "missing", f"field '{spec.name}' is missing", row
                        )
                    value = None
                try:
                    typed[spec.name] = spec.convert(value)
                except FieldError as exc:
                    raise exc.at_row(row) if len(records) > 1 else exc from None
            out.append(typed)
        return out

    def encode_records(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """The feature matrix of conformed rows (pure Python and NumPy; equal to
        ``encode_frame`` of the same rows)."""
        import numpy as np

        encoders = self._encoders
        matrix = [[encode(row) for encode in encoders] for row in rows]
        return np.array(matrix, dtype=np.float64).reshape(len(rows), len(encoders))

    def score_records(
        self, records: Sequence[Mapping[str, Any]]
    ) -> tuple[Scores, list[dict[str, Any]]]:
        """Scores of raw records and their conformed inputs (for the prediction log).

        Up to ``SMALL_INPUT`` records take the pure-Python path, more go through Polars.
        """
        rows = self.conform_records(records)
        if len(rows) > SMALL_INPUT:
            x = self.encode_frame(self.frame_of_records(rows))
            return self.scores(self.predict_matrix(x)), rows
        return self.scores(self.predict_matrix(self.encode_records(rows), threads=1)), rows

    # -- frames (batches) --------------------------------------------------------------------

    def frame_of_records(self, rows: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
        """Conformed rows (``conform_records``) as a Polars frame of training's types."""
        import polars as pl

        return pl.DataFrame(
            [
                pl.Series(spec.name, [r[spec.name] for r in rows], dtype=_polars_type(spec))
                for spec in self._inputs
            ],
            height=len(rows),
        )

    def conform_frame(self, df: pl.DataFrame) -> pl.DataFrame:
        """The input columns of ``df`` cast to their training types (``FieldError`` on a
        column that cannot be, naming it and a value)."""
        import polars as pl

        out = []
        for spec in self._inputs:
            if spec.name not in df.columns:
                if self.policy.missing_column != "missing":
                    raise FieldError(spec.name, "missing", f"column '{spec.name}' is missing")
                out.append(pl.Series(spec.name, [None] * df.height, _polars_type(spec)))
                continue
            out.append(_conform_series(spec, df.get_column(spec.name)))
        return pl.DataFrame(out, height=df.height)

    def encode_frame(self, conformed: pl.DataFrame) -> np.ndarray:
        """The feature matrix of a conformed frame: training's own encoding."""
        from ..experiments.features import encode_matrix

        if self.policy.unknown_category == "error":
            self._check_categories(conformed)
        return encode_matrix(self.meta, conformed)

    def _check_categories(self, conformed: pl.DataFrame) -> None:
        import polars as pl

        for column, levels in self.meta.categories.items():
            if column not in conformed.columns:
                continue
            values = conformed.get_column(column)
            unknown = values.filter(values.is_not_null() & ~values.is_in(pl.Series(levels)))
            if len(unknown):
                raise _unknown_category(column, unknown[0])

    def score_frame(self, df: pl.DataFrame) -> tuple[Scores, pl.DataFrame]:
        """Scores of a frame of raw rows and the conformed inputs (for the prediction log)."""
        conformed = self.conform_frame(df)
        return self.scores(self.predict_matrix(self.encode_frame(conformed))), conformed

    # -- predictions -------------------------------------------------------------------------

    def predict_matrix(self, x: np.ndarray, threads: int | None = None) -> np.ndarray:
        """The booster's output for an encoded matrix, as ``Booster.predict`` gives it.

        ``threads=1`` is for small requests: a few rows go through LightGBM's single-row API
        (``single_row``: no per-call setup), more through ``predict(num_threads=1)``
        (starting LightGBM's thread team costs more than the rows); large inputs use every
        core.
        """
        if threads is None:
            return self.booster.predict(x)
        if self._single is not None and x.shape[0] <= _SINGLE_ROWS:
            return self._single.predict(x)
        return self.booster.predict(x, num_threads=threads)

    def scores(self, raw: np.ndarray) -> Scores:
        """Predicted classes and probabilities, or values, from the booster's output."""
        import numpy as np

        task = self.meta.task
        if task == "regression" or self.classes is None:
            return Scores(task, None, None, raw, None, None)
        if raw.ndim == 1:
            codes = (raw >= 0.5).astype(np.int64)
            return Scores(task, self.classes, codes, None, raw, None)
        codes = np.argmax(raw, axis=1)
        chosen = raw[np.arange(len(raw)), codes]
        return Scores(task, self.classes, codes, None, chosen, raw)

    def warm_up(self) -> None:
        """Score one all-missing row on both paths, so the first request pays nothing extra."""
        import numpy as np

        x = np.full((1, len(self._encoders)), np.nan)
        self.predict_matrix(x, threads=1)
        self.predict_matrix(np.repeat(x, 2, axis=0))


_ABSENT = object()


def _input_columns(meta: ModelMeta) -> list[str]:
    inputs = getattr(meta, "inputs", None)
    return list(inputs) if inputs is not None else list(meta.features)


def _unknown_category(column: str, value: Any) -> FieldError:
    return FieldError(
        column,
        "unknown_category",
        f"field '{column}' has the value {_show(value)}, a category the model never saw",
    )


def _feature_encoders(
    meta: ModelMeta, inputs: list[str], policy: EncodingPolicy
) -> list[Callable[[Mapping[str, Any]], float]]:
    """Per model feature, a function from a conformed row to the number training gave it."""
    strict = policy.unknown_category == "error"
    encoders: list[Callable[[Mapping[str, Any]], float]] = []
    derived = getattr(meta, "derived", None) or {}
    for feature in meta.features:
        levels = meta.categories.get(feature)
        if feature in derived:
            column, part = derived[feature]
            encoders.append(_derived_encoder(column, part))
        elif levels is not None:
            encoders.append(_category_encoder(feature, levels, strict))
        else:
            encoders.append(_number_encoder(feature))
    return encoders


def _category_encoder(
    column: str, levels: list[str], strict: bool
) -> Callable[[Mapping[str, Any]], float]:
    codes = {level: float(i) for i, level in enumerate(levels)}

    def encode(row: Mapping[str, Any]) -> float:
        value = row[column]
        if value is None:
            return _NAN
        code = codes.get(value)
        if code is None:
            if strict:
                raise _unknown_category(column, value)
            return _NAN
        return code

    return encode


def _calendar_part(part: str) -> Callable[[Any], float]:
    """The number ``part`` of a date or datetime, as ``features`` computes it with Polars
    (ISO day of week, Monday 1; a date's hour is 0; a time as seconds since midnight; a
    duration as seconds)."""
    if part == "seconds_of_day":
        return lambda v: v.hour * 3600 + v.minute * 60 + v.second + v.microsecond / 1e6
    if part == "seconds":
        return lambda v: v.total_seconds()
    if part == "hour":
        return lambda v: float(v.hour) if isinstance(v, datetime) else 0.0
    if part == "day_of_week":
        return lambda v: float(v.isoweekday())
    if part == "day_of_year":
        return lambda v: float(v.timetuple().tm_yday)
    if part in ("year", "month", "day"):
        return lambda v: float(getattr(v, part))
    raise InputError(f"unknown derived feature part {part!r}")


def _derived_encoder(column: str, part: str) -> Callable[[Mapping[str, Any]], float]:
    of = _calendar_part(part)

    def encode(row: Mapping[str, Any]) -> float:
        value = row[column]
        return _NAN if value is None else float(of(value))

    return encode


def _number_encoder(column: str) -> Callable[[Mapping[str, Any]], float]:
    def encode(row: Mapping[str, Any]) -> float:
        value = row[column]
        return _NAN if value is None else float(value)

    return encode


# -- conforming a column -------------------------------------------------------------------


def _polars_type(spec: _Input) -> pl.DataType:
    """The Polars type of an input column as the scorer holds it (text as String)."""
    import polars as pl

    from .predlog_sink import _to_dtype

    return pl.String() if spec.kind == _TEXT else _to_dtype(spec.dtype)


def _conform_series(spec: _Input, series: pl.Series) -> pl.Series:
    """``series`` as training typed it; FieldError naming the column and one bad value.

    The usual cases are casts; anything else goes value by value through the row path's
    converter (``_by_rows``), so both paths accept and refuse the same values.
    """
    import polars as pl

    target = _polars_type(spec)
    dtype = series.dtype
    kind = spec.kind
    if dtype == target and kind not in (_FLOAT, _FLOAT32):
        return series
    if dtype == pl.Null:
        return series.cast(target)
    if kind in (_INT, _FLOAT, _FLOAT32) and dtype.is_numeric():
        if dtype.is_float():
            series = series.fill_nan(None)  # pandas' missing value
            if kind == _INT and (series.is_not_null() & (series != series.floor())).any():
                return _by_rows(spec, series, target)  # raises: not a whole number
        return series.cast(target)
    if kind == _TEXT and (dtype == pl.Categorical or isinstance(dtype, pl.Enum)):
        return series.cast(pl.String)
    if kind == _DATE and isinstance(dtype, pl.Datetime):
        return series.dt.date()
    if kind == _DATETIME and isinstance(dtype, pl.Datetime):  # naive is UTC, as for rows
        zone = _zone_of(spec.dtype)
        if zone is None:
            if dtype.time_zone is not None:
                series = series.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        else:
            if dtype.time_zone is None:
                series = series.dt.replace_time_zone("UTC")
            series = series.dt.convert_time_zone(zone)
        return series.cast(target)
    if kind == _DATETIME and dtype == pl.Date:
        return series.cast(target)
    return _by_rows(spec, series, target)


def _by_rows(spec: _Input, series: pl.Series, target: pl.DataType) -> pl.Series:
    """Each value through the row path's converter (its FieldError for the first bad one)."""
    import polars as pl

    values = [spec.convert(v) for v in series.to_list()]
    return pl.Series(spec.name, values, dtype=target)


@dataclass(frozen=True)
class Scores:
    """A scorer's answers for n rows (see the module doc for what each holds)."""

    task: str
    #: class values, for classification; ``codes`` index into them
    classes: list[Any] | None
    codes: np.ndarray | None
    #: regression outputs
    values: np.ndarray | None
    #: binary: P(positive class); multiclass: P(predicted class)
    probability: np.ndarray | None
    #: multiclass: (n, k) class probabilities in ``classes`` order
    probabilities: np.ndarray | None

    def __len__(self) -> int:
        for part in (self.values, self.probability):
            if part is not None:
                return len(part)
        return 0

    @property
    def labels(self) -> list[Any] | None:
        """The predicted class of each row (classification)."""
        if self.classes is None or self.codes is None:
            return None
        classes = self.classes
        return [classes[i] for i in self.codes.tolist()]

    def records(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per row: ``label`` and ``probability``, or ``value``."""
        if self.values is not None:
            return [{"value": v} for v in self.values.tolist()]
        labels = self.labels or []
        probs = self.probability.tolist() if self.probability is not None else []
        if self.probabilities is None:
            return [{"label": c, "probability": p} for c, p in zip(labels, probs, strict=True)]
        classes = [str(c) for c in self.classes or []]
        return [
            {"label": c, "probability": p, "probabilities": dict(zip(classes, row, strict=True))}
            for c, p, row in zip(labels, probs, self.probabilities.tolist(), strict=True)
        ]

    def to_polars(self) -> pl.DataFrame:
        """The answers as columns: ``label`` and ``probability`` (and ``p_<class>`` for
        multiclass), or ``value``."""
        import polars as pl

        if self.values is not None:
            return pl.DataFrame({"value": pl.Series(self.values, dtype=pl.Float64)})
        assert self.classes is not None and self.codes is not None
        labels = pl.Series("label", self.classes).gather(pl.Series(self.codes))
        columns = [labels, pl.Series("probability", self.probability, dtype=pl.Float64)]
        if self.probabilities is not None:
            columns += [
                pl.Series(f"p_{c}", self.probabilities[:, i], dtype=pl.Float64)
                for i, c in enumerate(self.classes)
            ]
        return pl.DataFrame(columns)
