"""Late ground truth: reading a labels file, telling new labels from corrections, and the
report of what the labels cover.

A label belongs to an entity (the model's key column, ``entity_key`` in the prediction log)
and is ground truth for every logged prediction of that entity. Importing the same file twice
changes nothing; a different value for a key already labelled is a correction, stored as the
key's next version (the newest version counts, the older ones stay). A file may hold a key
more than once: the row with the latest label time (else the last row) is taken.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from ..errors import InputError

__all__ = ["LabelReport", "read_labels", "split_changes"]


@dataclass
class LabelReport:
    """What a labels import did and what the labels now cover."""

    model: str
    source: str
    rows: int
    added: int
    corrected: int
    unchanged: int
    #: keys of the file that no logged prediction has (count and a few examples)
    unmatched: int
    unmatched_examples: list[str] = field(default_factory=list)
    #: logged predictions (all roles) and how many of them have a label now
    predictions: int = 0
    labelled_predictions: int = 0
    #: label time minus prediction time, in hours, over the labelled predictions
    lag_hours_p50: float | None = None
    lag_hours_p90: float | None = None
    lag_hours_max: float | None = None
    duplicates_in_file: int = 0
    import_id: int | None = None

    @property
    def coverage(self) -> float | None:
        """Share of logged predictions that have a label."""
        return self.labelled_predictions / self.predictions if self.predictions else None

    @property
    def changed(self) -> bool:
        """Whether the import stored anything."""
        return bool(self.added or self.corrected)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, coverage included."""
        from dataclasses import asdict

        return {**asdict(self), "coverage": self.coverage}


def read_labels(
    path: Path, key: str, label: str, time: str | None = None, *, now: datetime | None = None
) -> tuple[pl.DataFrame, int]:
    """``(frame, duplicates)``: the file's labels as ``entity_key``, ``label`` (text) and
    ``label_time`` (UTC; the import time where the file has no time column), one row per key."""
    from ..snapshots.reader import check_source_path, read_table

    frame = read_table(check_source_path(path))
    missing = [c for c in (key, label, time) if c and c not in frame.columns]
    if missing:
        raise InputError(
            f"{path.name} has no column {missing[0]!r}", hint=f"columns: {', '.join(frame.columns)}"
        )
    stamp = now or datetime.now(UTC)
    when = _utc(frame[time], time) if time else pl.repeat(stamp, frame.height, eager=True)
    out = pl.DataFrame(
        {
            "entity_key": _text(frame[key]),
            "label": _text(frame[label]),
            "label_time": when.cast(pl.Datetime("us", "UTC")),
        }
    ).with_row_index("__row")
    empty_keys = out["entity_key"].null_count()
    if empty_keys:
        raise InputError(f"{path.name}: {empty_keys} row(s) have no {key!r}")
    out = out.filter(pl.col("label").is_not_null())
    deduped = (
        out.sort("label_time", "__row", nulls_last=False)
        .unique("entity_key", keep="last", maintain_order=True)
        .drop("__row")
    )
    return deduped, out.height - deduped.height


def _text(series: pl.Series) -> pl.Series:
    if series.dtype == pl.String:
        return series
    if series.dtype.is_float():
        # 1.0 and 1 are the same label; keep integral floats without the ".0"
        as_int = series.cast(pl.Int64, strict=False)
        exact = as_int.cast(pl.Float64) == series
        return pl.Series(
            series.name,
            [
                None if v is None else (str(i) if e else repr(v))
                for v, i, e in zip(series.to_list(), as_int.to_list(), exact.to_list(), strict=True)
            ],
            dtype=pl.String,
        )
    return series.cast(pl.String)


def _utc(series: pl.Series, name: str) -> pl.Series:
    if series.dtype == pl.String:
        series = series.str.to_datetime(strict=False, time_zone="UTC")
    if series.dtype == pl.Date:
        series = series.cast(pl.Datetime("us"))
    if not isinstance(series.dtype, pl.Datetime):
        raise InputError(f"label time column {name!r} is {series.dtype}, not a date or time")
    if series.dtype.time_zone is None:
        series = series.dt.replace_time_zone("UTC")
    return series.dt.convert_time_zone("UTC")


def split_changes(incoming: pl.DataFrame, current: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """``(rows to store, unchanged)``: keys never labelled get version 1, keys whose label
    differs from their newest version get the next version; equal labels are unchanged.

    ``current`` holds ``entity_key``, ``label`` and ``version`` (the newest per key).
    """
    joined = incoming.join(
        current.rename({"label": "__old", "version": "__version"}), on="entity_key", how="left"
    )
    new = pl.col("__version").is_null()
    changed = new | (pl.col("__old") != pl.col("label"))
    store = joined.filter(changed).with_columns(
        (pl.col("__version").fill_null(0) + 1).cast(pl.Int32).alias("version"),
        new.alias("is_new"),
    )
    unchanged = joined.height - store.height
    return store.select("entity_key", "version", "label", "label_time", "is_new"), unchanged
