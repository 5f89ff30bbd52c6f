"""The Parquet segment sink: each flush becomes one file per model version and UTC day.

Inputs become typed columns (``in_<feature>``) with the types the model version declared
(``declare_inputs``), or, undeclared, the types the first non-empty values showed, remembered
per version so later segments keep the same schema. A value that does not fit its declared
type never costs the row: that segment's column takes the type that holds every value (a
reader unifies it with the other segments) rather than turning the value into a null.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from .predlog_layout import (
    INPUT_PREFIX,
    check_model,
    check_version,
    day_of,
    ensure_dir,
    fingerprint,
    format_time,
    predictions_dir,
    segment_name,
    write_atomic,
)

if TYPE_CHECKING:
    import polars as pl

    from .predlog import Prediction

__all__ = ["ParquetSink", "ExportError"]

_DAY_SECONDS = 86_400
_DATETIME = re.compile(r"Datetime\(time_unit='(\w+)', time_zone=(None|'[^']*')\)\Z")


class ExportError(Exception):
    """Some rows of a batch could not be written; ``failed_rows`` says how many."""

    def __init__(self, failed_rows: int, errors: Sequence[BaseException]) -> None:
        super().__init__(f"{failed_rows} rows not written: {errors[0]!r}")
        self.failed_rows = failed_rows
        self.errors = list(errors)


class ParquetSink:
    """Writes batches of predictions as Parquet segments under the log's folder."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        # Polars loads now, on the owner's thread. Loaded lazily by the writer thread, its
        # import (which starts a thread pool) fails once the interpreter is exiting, and a
        # log closed by the atexit hook would lose its rows.
        import polars  # noqa: F401

        self.root = Path(root)
        self._schemas: dict[tuple[str, int], dict[str, pl.DataType]] = {}
        self._declared: set[tuple[str, int]] = set()
        self._folders: set[Path] = set()
        self._lock = threading.Lock()  # declare_inputs may run beside an export

    @classmethod
    def for_workspace(cls, workspace: str | os.PathLike[str]) -> ParquetSink:
        """The sink writing into a workspace's ``.workbench/predictions``."""
        return cls(predictions_dir(workspace))

    def declare_inputs(self, model: str, version: int, schema: Mapping[str, Any]) -> None:
        """Fix the input columns and types of a model version (Polars dtypes or their names).

        Keys of a logged row's inputs that the schema does not name are not stored.
        """
        key = (check_model(model), check_version(version))
        types = {str(name): _to_dtype(dtype) for name, dtype in schema.items()}
        with self._lock:
            self._schemas[key] = types
            self._declared.add(key)

    def export(self, batch: Sequence[Prediction]) -> None:
        """Write one segment per (model, version, day) present in ``batch``."""
        groups: dict[tuple[str, int], list[Prediction]] = {}
        for p in batch:
            rows = groups.get((p.model, p.version))
            if rows is None:
                groups[(p.model, p.version)] = [p]
            else:
                rows.append(p)
        failed, errors = 0, []
        for (model, version), rows in groups.items():
            for day_rows in _split_by_day(rows):
                try:
                    self._write(model, version, day_rows)
                except Exception as exc:  # the other groups still get written
                    failed += len(day_rows)
                    errors.append(exc)
        if errors:
            raise ExportError(failed, errors)

    def close(self) -> None:
        """Nothing is held open between batches."""

    def _write(self, model: str, version: int, rows: list[Prediction]) -> None:
        frame, tmin_us, tmax_us = self._frame(model, version, rows)
        folder = self.root / model / f"v{version}" / day_of(tmin_us)
        if folder not in self._folders:
            ensure_dir(folder, self.root)
            self._folders.add(folder)
        stamps = format_time(tmin_us), format_time(tmax_us)
        name = segment_name("seg", *stamps, fingerprint(frame.schema))
        try:
            write_atomic(frame, folder, name)
        except FileNotFoundError:  # someone removed the folder (an old day, by hand)
            ensure_dir(folder, self.root)
            write_atomic(frame, folder, name)

    def _frame(self, model: str, version: int, rows: list[Prediction]):
        import polars as pl

        n = len(rows)
        micros = [round(p.time * 1_000_000) for p in rows]
        columns = [
            pl.Series("request_id", [p.request_id for p in rows], dtype=pl.String),
            pl.Series("time", micros, dtype=pl.Int64).cast(pl.Datetime("us", "UTC")),
            pl.repeat(model, n, dtype=pl.String, eager=True).alias("model"),
            pl.repeat(version, n, dtype=pl.Int64, eager=True).alias("version"),
            _strings("role", [p.role for p in rows]),
            _strings("route", [p.route for p in rows]),
            _strings("entity_key", [p.entity_key for p in rows]),
            _strings("predicted_label", [p.predicted_label for p in rows]),
            _floats("score", [p.score for p in rows]),
            _floats("value", [p.value for p in rows]),
            _floats("latency_ms", [p.latency_ms for p in rows]),
        ]
        with self._lock:
            key = (model, version)
            known = self._schemas.setdefault(key, {})
            declared = key in self._declared
        names: Iterable[str] = known
        if not declared:
            seen = dict.fromkeys(k for p in rows for k in p.inputs)
            names = list(dict.fromkeys([*known, *seen]))
        for name in names:
            column = _input_column(name, [p.inputs.get(name) for p in rows], known.get(name))
            if not declared and name not in known and column.dtype != pl.Null:
                known[name] = column.dtype  # later segments keep this type
            columns.append(column)
        return pl.DataFrame(columns), min(micros), max(micros)


def _split_by_day(rows: list[Prediction]) -> list[list[Prediction]]:
    first = int(min(p.time for p in rows) // _DAY_SECONDS)
    last = int(max(p.time for p in rows) // _DAY_SECONDS)
    if first == last:  # nearly always: only a flush across midnight spans two days
        return [rows]
    days: dict[int, list[Prediction]] = {}
    for p in rows:
        days.setdefault(int(p.time // _DAY_SECONDS), []).append(p)
    return list(days.values())


def _strings(name: str, values: list[Any]) -> pl.Series:
    import polars as pl

    # strict=False turns a number (an integer customer id) into its text instead of failing
    return pl.Series(name, values, dtype=pl.String, strict=False)


def _floats(name: str, values: list[Any]) -> pl.Series:
    import polars as pl

    return pl.Series(name, values, dtype=pl.Float64, strict=False)


def _input_column(name: str, values: list[Any], dtype: pl.DataType | None) -> pl.Series:
    """A typed column; a value the declared type cannot hold widens the type, never nulls it."""
    import polars as pl

    column = INPUT_PREFIX + name
    if dtype is not None:
        try:
            return pl.Series(column, values, dtype=dtype, strict=True)
        except Exception:
            pass
    try:
        series = pl.Series(column, values, strict=False)
    except Exception:
        series = None
    if series is None or series.dtype == pl.Object:
        series = pl.Series(column, [None if v is None else str(v) for v in values], pl.String)
    return series


def _to_dtype(spec: Any) -> pl.DataType:
    """A Polars dtype from a dtype, a dtype class, or its name (``str(dtype)``).

    Categorical and enum inputs are logged as text: their category lists differ between
    segments, and a reader would have to reconcile them.
    """
    import polars as pl

    dtype: Any = spec
    if isinstance(spec, str):
        match = _DATETIME.match(spec)
        if match:
            zone = None if match[2] == "None" else match[2].strip("'")
            dtype = pl.Datetime(match[1], zone)  # type: ignore[arg-type]
        else:
            dtype = getattr(pl, spec.split("(")[0], None)
    if isinstance(dtype, type) and issubclass(dtype, pl.DataType):
        dtype = dtype()
    if not isinstance(dtype, pl.DataType):
        raise InputError(f"not a Polars dtype: {spec!r}", hint="e.g. pl.Int64 or 'Float64'")
    if isinstance(dtype, pl.Categorical | pl.Enum | pl.Object):
        return pl.String()
    return dtype
