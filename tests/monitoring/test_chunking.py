"""Chunkers cut exactly where NannyML 0.13.1's do, and say clearly when they cannot."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import polars as pl
import pytest

from workbench.errors import InputError
from workbench.monitoring import Chunk, CountChunker, PeriodChunker, SizeChunker
from workbench.monitoring.chunking import chunker_from_dict


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    """5,000 rows over ~200 days in shuffled order, unique minute timestamps."""
    rng = np.random.default_rng(1)
    minutes = np.sort(rng.choice(60 * 24 * 200, 5000, replace=False))
    times = [datetime(2023, 12, 27) + timedelta(minutes=int(m)) for m in minutes]
    shuffled = rng.permutation(5000)
    return pl.DataFrame({"t": [times[i] for i in shuffled], "v": np.arange(5000)})


def _assert_same_chunks(ours: list[Chunk], theirs: list) -> None:
    assert len(ours) == len(theirs)
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert a.index == i
        assert a.key == b.key
        assert (a.start_index, a.end_index) == (b.start_index, b.end_index)
        assert a.rows == len(b)
        assert a.data is not None and a.data["v"].to_list() == b.data["v"].tolist()
        if b.start_datetime is not None:
            assert pd.Timestamp(a.start_time) == b.start_datetime
            # NannyML's period ends at its last nanosecond, ours at its last microsecond.
            assert abs(pd.Timestamp(a.end_time) - b.end_datetime) < pd.Timedelta(microseconds=1)


@pytest.mark.parametrize("incomplete", ["keep", "append", "drop"])
@pytest.mark.parametrize("time_column", [None, "t"])
def test_size_chunks_match_nannyml(frame, incomplete, time_column):
    from nannyml.chunk import SizeBasedChunker

    theirs = SizeBasedChunker(700, incomplete, timestamp_column_name=time_column)
    ours = SizeChunker(700, incomplete, time_column=time_column)
    _assert_same_chunks(ours.split(frame), theirs.split(frame.to_pandas()))


@pytest.mark.parametrize("incomplete", ["keep", "append", "drop"])
def test_count_chunks_match_nannyml_including_the_extra_chunk(frame, incomplete):
    from nannyml.chunk import CountBasedChunker

    ours = CountChunker(7, incomplete).split(frame)
    _assert_same_chunks(ours, CountBasedChunker(7, incomplete).split(frame.to_pandas()))
    # NannyML's oddity, kept: 5,000 rows in "7" chunks of 714 leave 2 rows for an eighth.
    assert len(ours) == (8 if incomplete == "keep" else 7)


@pytest.mark.parametrize(
    "every,offset",
    [("hour", "h"), ("day", "D"), ("week", "W"), ("month", "M"), ("quarter", "Q"), ("year", "Y")],
)
def test_period_chunks_match_nannyml(frame, every, offset):
    from nannyml.chunk import PeriodBasedChunker

    ours = PeriodChunker("t", every).split(frame)
    _assert_same_chunks(ours, PeriodBasedChunker("t", offset).split(frame.to_pandas()))


def test_period_keys_and_bounds_read_as_calendar_periods(frame):
    week = PeriodChunker("t", "week").split(frame)[0]
    assert week.key == "2023-12-25/2023-12-31"  # Monday to Sunday, as pandas' "W"
    assert week.start_time == datetime(2023, 12, 25)
    assert week.end_time == datetime(2023, 12, 31, 23, 59, 59, 999999)
    month = PeriodChunker("t", "M").split(frame)[1]
    assert (month.key, month.start_time) == ("2024-01", datetime(2024, 1, 1))


def test_dates_and_iso_text_work_as_time_columns():
    days = [datetime(2024, 1, 1) + timedelta(days=d) for d in range(40)]
    as_dates = pl.DataFrame({"d": [d.date() for d in days]})
    as_text = pl.DataFrame({"d": [d.isoformat() for d in days]})
    for frame in (as_dates, as_text):
        chunks = PeriodChunker("d", "month").split(frame)
        assert [(c.key, c.rows) for c in chunks] == [("2024-01", 31), ("2024-02", 9)]


def test_empty_times_and_bad_arguments_are_refused(frame):
    with_null = frame.with_columns(pl.when(pl.col("v") == 3).then(None).otherwise("t").alias("t"))
    with pytest.raises(InputError, match="1 empty value"):
        PeriodChunker("t", "day").split(with_null)
    with pytest.raises(InputError, match="not in the data"):
        SizeChunker(10, time_column="when").split(frame)
    with pytest.raises(InputError, match="unknown period"):
        PeriodChunker("t", "fortnight")
    with pytest.raises(InputError, match="positive integer"):
        SizeChunker(0)
    with pytest.raises(InputError, match="cannot be cut into"):
        CountChunker(10).split(frame.head(5))
    with pytest.raises(InputError, match="to append the rest to"):
        SizeChunker(10, "append").split(frame.head(5))


def test_chunkers_round_trip_through_dicts():
    for chunker in (SizeChunker(5, "drop", "t"), CountChunker(3), PeriodChunker("t", "W")):
        assert chunker_from_dict(chunker.to_dict()) == chunker
