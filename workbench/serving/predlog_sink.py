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
    FIXED_COLUMNS,
    INPUT_PREFIX,
    check_model,
    check_version,
    day_of,
    ensure_dir,
    fingerprint,
    format_time,
    predictions_dir,
    publish,
    segment_name,
    write_atomic,
    write_temporary,
)

if TYPE_CHECKING:
    import polars as pl

    from .predlog import Prediction

__all__ = ["ParquetSink", "ExportError", "StagedSegments"]

_DAY_SECONDS = 86_400
_DATETIME = re.compile(r"Datetime\(time_unit='(\w+)', time_zone=(None|'[^']*')\)\Z")


class ExportError(Exception):
    """Some rows of a batch could not be written; ``failed_rows`` says how many."""

    def __init__(self, failed_rows: int, errors: Sequence[BaseException]) -> None:
        super().__init__(f"{failed_rows} rows not written: {errors[0]!r}")
        self.failed_rows = failed_rows
        self.errors = list(errors)


class StagedSegments:
    """Segments written under temporary names, published together or removed."""

    def __init__(self) -> None:
        self.pending: list[tuple[Path, Path, str]] = []
        self.rows = 0

    def add(self, tmp: Path, folder: Path, name: str, rows: int) -> None:
        """Remember one temporary file and where it goes."""
        self.pending.append((tmp, folder, name))
        self.rows += rows

    def commit(self) -> list[Path]:
        """Give every segment its final name (each rename is atomic); the files."""
        done = []
        while self.pending:
            tmp, folder, name = self.pending[0]
            done.append(publish(tmp, folder, name))
            self.pending.pop(0)
        return done

    def discard(self) -> None:
        """Remove the temporary files (nothing was published)."""
        for tmp, _, _ in self.pending:
            tmp.unlink(missing_ok=True)
        self.pending.clear()


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

    def write_frame(self, model: str, version: int, frame: pl.DataFrame) -> int:
        """Write a whole frame of rows of one model version as segments; returns the rows.

        The direct path for batch scoring: a million rows go from Polars columns to Parquet
        without becoming a million ``Prediction`` objects. ``frame`` holds the log's fixed
        columns (``request_id`` and ``time`` required; ``model`` and ``version`` are set here,
        others missing are null) and the inputs as ``in_<feature>`` columns, cast to the
        version's declared types. Rows are split by UTC day and into segments of at most
        ``SEGMENT_ROWS``, each written like a flush (temporary name, fsync, rename).
        """
        staged = self.stage_frame(model, version, frame)
        staged.commit()
        return staged.rows

    def stage_frame(
        self, model: str, version: int, frame: pl.DataFrame, compression: str = "zstd"
    ) -> StagedSegments:
        """Write ``frame``'s segments under temporary names (never read) and return them, to
        be published together (``commit``) or removed (``discard``) later: batch scoring
        publishes its rows with its output file, so an interrupted batch leaves neither."""
        key = (check_model(model), check_version(version))
        staged = StagedSegments()
        if frame.height == 0:
            return staged
        for name in ("request_id", "time"):
            if name not in frame.columns:
                raise InputError(f"a prediction frame needs a {name!r} column")
        with self._lock:
            declared = dict(self._schemas.get(key, {})) if key in self._declared else None
        frame = _log_frame(frame, model, version, declared)
        micros = frame.get_column("time").dt.epoch("us")
        days = (micros // (_DAY_SECONDS * 1_000_000)).alias("__day")
        parts = (
            [frame]
            if days.n_unique() == 1
            else frame.with_columns(days).partition_by("__day", include_key=False)
        )
        try:
            for part in parts:
                for start in range(0, part.height, SEGMENT_ROWS):
                    piece = part.slice(start, SEGMENT_ROWS)
                    staged.add(*self._stage(model, version, piece, compression), piece.height)
        except BaseException:
            staged.discard()
            raise
        return staged

    def _stage(
        self, model: str, version: int, frame: pl.DataFrame, compression: str
    ) -> tuple[Path, Path, str]:
        micros = frame.get_column("time").dt.epoch("us")
        tmin_us, tmax_us = int(micros.min()), int(micros.max())  # type: ignore[arg-type]
        folder = self._folder(model, version, tmin_us)
        stamps = format_time(tmin_us), format_time(tmax_us)
        name = segment_name("seg", *stamps, fingerprint(frame.schema))
        return write_temporary(frame, folder, name, compression=compression), folder, name

    def _folder(self, model: str, version: int, tmin_us: int) -> Path:
        folder = self.root / model / f"v{version}" / day_of(tmin_us)
        if folder not in self._folders or not folder.is_dir():
            ensure_dir(folder, self.root)
            self._folders.add(folder)
        return folder

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


#: rows per segment written by ``write_frame`` (the Parquet row-group size of snapshots)
SEGMENT_ROWS = 262_144

_FIXED_TYPES = {"version": "Int64", "score": "Float64", "value": "Float64",
                "latency_ms": "Float64"}  # fmt: skip


def _log_frame(
    frame: pl.DataFrame, model: str, version: int, declared: dict[str, pl.DataType] | None
) -> pl.DataFrame:
    """``frame`` with the log's fixed columns, in order and typed, then its input columns."""
    import polars as pl

    n = frame.height
    fixed: list[pl.Series | pl.Expr] = []
    for name in FIXED_COLUMNS:
        if name == "model":
            fixed.append(pl.lit(model, pl.String).alias(name))
        elif name == "version":
            fixed.append(pl.lit(version, pl.Int64).alias(name))
        elif name == "time":
            fixed.append(pl.col("time").cast(pl.Datetime("us", "UTC")))
        elif name in frame.columns:
            dtype = getattr(pl, _FIXED_TYPES.get(name, "String"))
            fixed.append(pl.col(name).cast(dtype, strict=False))
        else:
            dtype = getattr(pl, _FIXED_TYPES.get(name, "String"))
            fixed.append(pl.lit(None, dtype).alias(name))
    inputs: list[pl.Series] = []
    for name in frame.columns:
        if not name.startswith(INPUT_PREFIX):
            continue
        feature = name[len(INPUT_PREFIX) :]
        if declared is not None and feature not in declared:
            continue  # as for rows: keys a declared schema does not name are not stored
        column = frame.get_column(name)
        want = declared.get(feature) if declared is not None else None
        if want is None and isinstance(column.dtype, pl.Categorical | pl.Enum):
            want = pl.String()
        if want is not None and column.dtype != want:
            try:
                column = column.cast(want, strict=True)
            except Exception:  # as for rows: the segment's column keeps a type that holds it
                pass
        inputs.append(column)
    out = frame.select(fixed).with_columns(inputs)
    assert out.height == n
    return out


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
