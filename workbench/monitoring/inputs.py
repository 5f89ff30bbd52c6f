"""Reading and checking the columns an estimator needs, with one clear error per problem."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from ..drift.stats import FrameLike, as_lazy
from ..errors import InputError

__all__ = ["FrameLike", "binary_labels", "load_columns", "numbers", "probabilities"]


def load_columns(
    data: FrameLike, required: Sequence[str], optional: Sequence[str] = (), *, what: str
) -> pl.DataFrame:
    """The ``required`` columns (refusing data without them) and those ``optional`` ones present."""
    lazy = as_lazy(data)
    names = lazy.collect_schema().names()
    missing = [c for c in required if c not in names]
    if missing:
        raise InputError(f"{what} has no column {', '.join(map(repr, missing))}")
    wanted = list(dict.fromkeys([*required, *(c for c in optional if c in names)]))
    frame = lazy.select(wanted).collect()
    if frame.height == 0:
        raise InputError(f"{what} has no rows")
    return frame


def _empty_rows(series: pl.Series) -> int:
    empty = series.null_count()
    if series.dtype.is_float():
        empty += int(series.is_nan().sum())
    return empty


def numbers(frame: pl.DataFrame, name: str, *, what: str) -> np.ndarray:
    """Column ``name`` as float64, refusing text and empty values (null or NaN)."""
    series = frame[name]
    if not (series.dtype.is_numeric() or series.dtype == pl.Boolean):
        raise InputError(f"{what}: column {name!r} holds {series.dtype}, not numbers")
    empty = _empty_rows(series)
    if empty:
        raise InputError(
            f"{what}: column {name!r} has {empty} empty value(s) (null or NaN)",
            hint="estimates need a value on every row; drop or fill those rows first",
        )
    return series.cast(pl.Float64).to_numpy()


def probabilities(frame: pl.DataFrame, name: str, *, what: str) -> np.ndarray:
    """Column ``name`` as float64 probabilities in [0, 1], refusing empty values."""
    values = numbers(frame, name, what=what)
    low, high = float(values.min()), float(values.max())
    if low < 0 or high > 1:
        raise InputError(
            f"{what}: column {name!r} holds values outside [0, 1] ({low:g} to {high:g})",
            hint="pass the predicted probability of the positive class",
        )
    return values


def binary_labels(
    frame: pl.DataFrame, name: str, *, what: str, allow_missing: bool = False
) -> np.ndarray:
    """Column ``name`` as float64 0/1 (NaN where missing, when ``allow_missing``)."""
    series = frame[name]
    if series.dtype == pl.Boolean:
        series = series.cast(pl.Float64)
    if not series.dtype.is_numeric():
        raise InputError(f"{what}: column {name!r} holds {series.dtype}, not 0/1 labels")
    values = series.cast(pl.Float64).fill_null(np.nan).to_numpy()
    known = ~np.isnan(values)
    if not allow_missing and not known.all():
        raise InputError(
            f"{what}: column {name!r} has {int((~known).sum())} empty value(s)",
            hint="every reference row needs its label",
        )
    odd = known & (values != 0) & (values != 1)
    if odd.any():
        raise InputError(
            f"{what}: column {name!r} holds values other than 0 and 1 (e.g. {values[odd][0]:g})",
            hint="binary estimates need 1 for the positive class and 0 for the other",
        )
    return values
