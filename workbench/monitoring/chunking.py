"""Chunking: cutting monitoring data into the windows every estimate is made for.

A chunker is its own object (as NannyML's ``Chunker.split``), passed to estimators and
stored with them. ``split(data)`` returns typed ``Chunk`` records; each carries its rows as a
zero-copy Polars slice of the data in time order.

The boundaries reproduce NannyML 0.13.1's for the same arguments, including its two oddities:
``CountChunker(n)`` with ``incomplete="keep"`` (NannyML's default) makes ``n + 1`` chunks when
the rows do not divide evenly, and every chunker with a time column sorts by it first. Where
we differ: the sort is stable (pandas' default sort is not, so NannyML may order rows with
equal times differently), and a time column with nulls is refused (NannyML's period chunking
drops those rows without a word).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

import polars as pl

from ..errors import InputError
from .serialization import from_kind

__all__ = [
    "Chunk",
    "Chunker",
    "CountChunker",
    "PERIODS",
    "PeriodChunker",
    "SizeChunker",
    "chunker_from_dict",
]

Incomplete = Literal["keep", "append", "drop"]


@dataclass(frozen=True)
class Chunk:
    """One window of rows: its key, its place in the data (in time order) and its rows."""

    key: str
    index: int
    start_index: int
    #: last row, inclusive (NannyML's convention)
    end_index: int
    rows: int
    start_time: datetime | None = None
    #: last instant covered, inclusive: the last row's time, or for a period the instant
    #: just before the next period (at microsecond resolution)
    end_time: datetime | None = None
    data: pl.DataFrame | None = field(default=None, repr=False, compare=False)


class Chunker(ABC):
    """Cuts a frame into chunks; with a time column, the frame is put in time order first."""

    kind: ClassVar[str]
    time_column: str | None

    def order(self, data: pl.DataFrame) -> pl.DataFrame:
        """``data`` in the order chunks index it: by the time column (stable), else as given."""
        if self.time_column is None:
            return data
        if self.time_column not in data.columns:
            raise InputError(f"time column {self.time_column!r} is not in the data")
        times = _as_datetime(data[self.time_column], self.time_column)
        if times.null_count():
            raise InputError(
                f"time column {self.time_column!r} has {times.null_count()} empty value(s)",
                hint="fill or drop those rows before chunking by time",
            )
        data = data.with_columns(times)
        if times.is_sorted():
            return data
        return data.sort(self.time_column, maintain_order=True)

    def split(self, data: pl.DataFrame) -> list[Chunk]:
        """The chunks of ``data`` (rows ordered by ``order``), oldest first."""
        ordered = self.order(data)
        bounds = self._bounds(ordered)
        times = ordered[self.time_column] if self.time_column else None
        chunks = []
        for i, (key, start, stop, t0, t1) in enumerate(bounds):
            if times is not None and t0 is None:
                t0, t1 = times[start], times[stop - 1]
            chunks.append(
                Chunk(
                    key=key,
                    index=i,
                    start_index=start,
                    end_index=stop - 1,
                    rows=stop - start,
                    start_time=t0,
                    end_time=t1,
                    data=ordered.slice(start, stop - start),
                )
            )
        return chunks

    @abstractmethod
    def _bounds(
        self, ordered: pl.DataFrame
    ) -> list[tuple[str, int, int, datetime | None, datetime | None]]:
        """(key, start, stop, start time, end time) per chunk; times None to take the rows'."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description that ``chunker_from_dict`` turns back into this chunker."""
        return {"kind": self.kind, **asdict(self)}  # type: ignore[call-overload]


def _size_bounds(
    n: int, size: int, incomplete: Incomplete
) -> list[tuple[str, int, int, datetime | None, datetime | None]]:
    """NannyML's ``SizeBasedChunker``: full chunks, then the remainder kept, appended or dropped."""
    out: list[tuple[str, int, int, datetime | None, datetime | None]] = [
        (f"[{i}:{i + size - 1}]", i, i + size, None, None) for i in range(0, n - size + 1, size)
    ]
    rest = n % size
    if rest:
        start = n - rest
        if incomplete == "keep":
            out.append((f"[{start}:{n - 1}]", start, n, None, None))
        elif incomplete == "append" and out:
            first = out[-1][1]
            out[-1] = (f"[{first}:{n - 1}]", first, n, None, None)
        elif incomplete == "append":  # fewer rows than one chunk: NannyML fails here
            raise InputError(f"{n} rows cannot make a chunk of {size} to append the rest to")
    return out


def _check_incomplete(incomplete: str) -> None:
    if incomplete not in ("keep", "append", "drop"):
        raise InputError(f"incomplete must be 'keep', 'append' or 'drop', not {incomplete!r}")


@dataclass(frozen=True)
class SizeChunker(Chunker):
    """Chunks of ``size`` rows; ``incomplete`` says what happens to the rows left over."""

    kind: ClassVar[str] = "size"
    size: int
    incomplete: Incomplete = "keep"
    time_column: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size <= 0:
            raise InputError(f"chunk size must be a positive integer, not {self.size!r}")
        _check_incomplete(self.incomplete)

    def _bounds(
        self, ordered: pl.DataFrame
    ) -> list[tuple[str, int, int, datetime | None, datetime | None]]:
        return _size_bounds(ordered.height, self.size, self.incomplete)


@dataclass(frozen=True)
class CountChunker(Chunker):
    """About ``count`` chunks: chunks of ``rows // count`` rows, as NannyML's ``CountBasedChunker``.

    With ``incomplete="keep"`` (NannyML's default) the leftover rows make one more, smaller
    chunk; ``"append"`` adds them to the last chunk so there are exactly ``count``.
    """

    kind: ClassVar[str] = "count"
    count: int
    incomplete: Incomplete = "keep"
    time_column: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count <= 0:
            raise InputError(f"chunk count must be a positive integer, not {self.count!r}")
        _check_incomplete(self.incomplete)

    def _bounds(
        self, ordered: pl.DataFrame
    ) -> list[tuple[str, int, int, datetime | None, datetime | None]]:
        n = ordered.height
        if n == 0:
            return []
        if n < self.count:
            raise InputError(f"{n} rows cannot be cut into {self.count} chunks")
        return _size_bounds(n, n // self.count, self.incomplete)


#: period name -> (Polars truncation, pandas period alias used for NannyML's keys)
PERIODS: dict[str, tuple[str, str]] = {
    "hour": ("1h", "h"),
    "day": ("1d", "D"),
    "week": ("1w", "W"),
    "month": ("1mo", "M"),
    "quarter": ("1q", "Q"),
    "year": ("1y", "Y"),
}
_ALIASES = {alias: name for name, (_, alias) in PERIODS.items()}
_ALIASES.update({"H": "hour", "d": "day", "w": "week", "ME": "month", "QE": "quarter"})
_ALIASES.update({"YE": "year", "A": "year"})


@dataclass(frozen=True)
class PeriodChunker(Chunker):
    """One chunk per calendar period (hour, day, week from Monday, month, quarter, year) that
    holds rows; keys are spelled as pandas periods, as NannyML's ``PeriodBasedChunker`` does
    ("2024-01-03", "2024-01-01/2024-01-07", "2024-01", "2024Q1")."""

    kind: ClassVar[str] = "period"
    time_column: str
    every: str = "day"

    def __post_init__(self) -> None:
        every = _ALIASES.get(self.every, self.every)
        if every not in PERIODS:
            names = ", ".join(PERIODS)
            raise InputError(f"unknown period {self.every!r}", hint=f"use one of {names}")
        object.__setattr__(self, "every", every)

    def _bounds(
        self, ordered: pl.DataFrame
    ) -> list[tuple[str, int, int, datetime | None, datetime | None]]:
        if ordered.height == 0:
            return []
        truncation = PERIODS[self.every][0]
        runs = ordered[self.time_column].dt.truncate(truncation).rle().struct.unnest()
        firsts = runs["value"]
        # A period ends just before the next one starts (pandas: at the last nanosecond).
        ends = firsts.dt.offset_by(truncation) - timedelta(microseconds=1)
        stops = runs["len"].cum_sum().to_list()
        out = []
        for start, stop, first, end in zip(
            [0, *stops[:-1]], stops, firsts.to_list(), ends.to_list(), strict=True
        ):
            out.append((_period_key(first, self.every), start, stop, first, end))
        return out


def _period_key(start: datetime, every: str) -> str:
    """The period's name as ``str(pandas.Period)`` spells it."""
    if every == "hour":
        return start.strftime("%Y-%m-%d %H:00")
    if every == "day":
        return start.strftime("%Y-%m-%d")
    if every == "week":
        return f"{start:%Y-%m-%d}/{start + timedelta(days=6):%Y-%m-%d}"
    if every == "month":
        return start.strftime("%Y-%m")
    if every == "quarter":
        return f"{start.year}Q{(start.month - 1) // 3 + 1}"
    return str(start.year)


def _as_datetime(times: pl.Series, name: str) -> pl.Series:
    """The time column as Polars datetimes (dates and ISO text are converted)."""
    if times.dtype == pl.Datetime:
        return times
    if times.dtype == pl.Date:
        return times.cast(pl.Datetime("us"))
    if times.dtype == pl.String:
        parsed = times.str.to_datetime(strict=False)
        if parsed.null_count() > times.null_count():
            raise InputError(f"time column {name!r} holds text that does not read as a time")
        return parsed
    raise InputError(f"time column {name!r} is {times.dtype}, not a date or time")


_KINDS: dict[str, type[Chunker]] = {c.kind: c for c in (SizeChunker, CountChunker, PeriodChunker)}


def chunker_from_dict(spec: dict[str, Any]) -> Chunker:
    """Rebuild a chunker from ``Chunker.to_dict()``."""
    return from_kind(_KINDS, spec, "chunker")
