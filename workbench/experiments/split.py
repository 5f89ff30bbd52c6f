"""Holdout and validation splits that a later evaluation can reproduce exactly.

Random split: every row index ``i`` gets the key ``splitmix64(seed * 2**32 + i)``; rows are
ranked by key and the ``n_test`` smallest form the holdout, the next ``n_valid`` the validation
set for early stopping, the rest the training set. Pure integer arithmetic, so the split does not
depend on a random-number library's version, only on the rows' order (snapshots are immutable).

Time split: the holdout is every row with ``time >= cut``, where ``cut`` is the time value at the
position that leaves the latest ``test_size`` fraction out; validation is likewise the latest
fraction of the remaining rows (``time >= valid_cut``). The rule records both cuts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from ..errors import InputError

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

__all__ = ["SplitRule", "make_split", "apply_split", "holdout"]


@dataclass
class SplitRule:
    """How rows were divided into train, validation and holdout."""

    kind: str  # "random" | "time"
    seed: int
    test_size: float
    valid_size: float
    n_rows: int = 0
    n_train: int = 0
    n_valid: int = 0
    n_test: int = 0
    time_column: str | None = None
    #: holdout is ``time >= cut``; ISO text for people, ``cut_physical`` for exact comparison
    cut: str | None = None
    cut_physical: float | int | None = None
    valid_cut: str | None = None
    valid_cut_physical: float | int | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SplitRule:
        """Inverse of ``to_dict``."""
        return cls(**data)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    import numpy as np

    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _count(n: int, fraction: float) -> int:
    return min(max(1, round(n * fraction)), n - 1)


def _check_sizes(test_size: float, valid_size: float, n_rows: int) -> None:
    for name, value in (("test_size", test_size), ("valid_size", valid_size)):
        if not 0.0 < value < 1.0:
            raise InputError(f"{name} must be between 0 and 1 (exclusive), got {value}")
    if n_rows < 10:
        raise InputError(f"too few rows to split ({n_rows}); need at least 10")


def _random_parts(rule: SplitRule) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import numpy as np

    index = np.arange(rule.n_rows, dtype=np.uint64)
    keys = _splitmix64(index + np.uint64(rule.seed & 0xFFFFFFFF) * np.uint64(1 << 32))
    order = np.argsort(keys, kind="stable")
    test = order[: rule.n_test]
    valid = order[rule.n_test : rule.n_test + rule.n_valid]
    train = order[rule.n_test + rule.n_valid :]
    return np.sort(train), np.sort(valid), np.sort(test)


def _physical(df: pl.DataFrame, column: str) -> np.ndarray:
    series = df.get_column(column)
    if series.null_count():
        raise InputError(f"time column '{column}' has null values")
    if not (series.dtype.is_temporal() or series.dtype.is_numeric()):
        raise InputError(f"time column '{column}' has type {series.dtype}; need a date/time")
    return series.to_physical().to_numpy()


def _time_cut(values: np.ndarray, rows: np.ndarray, fraction: float) -> Any:
    import numpy as np

    ordered = np.sort(values[rows], kind="stable")
    return ordered[len(ordered) - _count(len(ordered), fraction)]


def _describe(df: pl.DataFrame, column: str, physical: Any) -> str:
    import polars as pl

    series = df.get_column(column)
    if series.dtype.is_temporal():
        physical_dtype = series.head(0).to_physical().dtype
        value = pl.Series([physical]).cast(physical_dtype).cast(series.dtype)[0]
        return value.isoformat()
    return str(physical)


def _time_parts(df: pl.DataFrame, rule: SplitRule) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import numpy as np

    assert rule.time_column is not None  # a time rule always names its column
    values = _physical(df, rule.time_column)
    if rule.cut_physical is None:
        rule.cut_physical = _time_cut(values, np.arange(len(values)), rule.test_size).item()
        rule.cut = _describe(df, rule.time_column, rule.cut_physical)
    is_test = values >= rule.cut_physical
    rest = np.flatnonzero(~is_test)
    if len(rest) < 2:
        raise InputError(f"time split leaves no training rows (cut {rule.cut})")
    if rule.valid_cut_physical is None:
        rule.valid_cut_physical = _time_cut(values, rest, rule.valid_size).item()
        rule.valid_cut = _describe(df, rule.time_column, rule.valid_cut_physical)
    is_valid = ~is_test & (values >= rule.valid_cut_physical)
    train = np.flatnonzero(~is_test & ~is_valid)
    if len(train) == 0:
        raise InputError("time split leaves no training rows before the validation cut")
    return train, np.flatnonzero(is_valid), np.flatnonzero(is_test)


def make_split(
    df: pl.DataFrame,
    *,
    kind: str,
    seed: int,
    test_size: float,
    valid_size: float,
    time_column: str | None = None,
) -> tuple[SplitRule, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Decide the split for this frame; returns the rule and (train, valid, test) row indices."""
    n = df.height
    _check_sizes(test_size, valid_size, n)
    rule = SplitRule(kind, seed, test_size, valid_size, n_rows=n, time_column=time_column)
    if kind == "random":
        rule.n_test = _count(n, test_size)
        rule.n_valid = _count(n - rule.n_test, valid_size)
    elif kind == "time":
        if not time_column or time_column not in df.columns:
            missing = "none was given" if not time_column else f"'{time_column}' is not in the data"
            raise InputError(f"a time split needs a time column: {missing}")
    else:
        raise InputError(f"unknown split '{kind}'", hint="use 'random' or 'time'")
    parts = apply_split(df, rule)
    rule.n_train, rule.n_valid, rule.n_test = (len(p) for p in parts)
    return rule, parts


def apply_split(df: pl.DataFrame, rule: SplitRule) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, valid, test) row indices of ``df`` under a recorded rule."""
    if rule.kind == "time":
        return _time_parts(df, rule)
    if df.height != rule.n_rows:
        raise InputError(f"split rule is for {rule.n_rows} rows; the data has {df.height}")
    return _random_parts(rule)


def holdout(df: pl.DataFrame, rule: SplitRule) -> pl.DataFrame:
    """The holdout rows of ``df`` under a recorded rule (same rows training evaluated on)."""
    return df[apply_split(df, rule)[2]]
