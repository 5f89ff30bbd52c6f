"""The CSV reader's shortcut gives exactly the frame of Polars' own typed read.

``read_table`` infers column types from the head without date parsing and reads the file with
those types unless a text column starts with a date (reader._read_csv). These files are built
to catch a shortcut that differs: types decided late in the inference window, values that
change type after it, dates in several spellings, quoted multi-line values across the head's
cut, text columns that are empty for the whole window.
"""

from __future__ import annotations

import random

import polars as pl
import pytest

from workbench.snapshots import reader
from workbench.snapshots.reader import INFER_ROWS

N = INFER_ROWS


def polars_read(path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema_length=INFER_ROWS, try_parse_dates=True)


def lines(n: int, row) -> list[str]:
    return [row(i) for i in range(n)]


def numbers_and_text(i: int) -> str:
    return f"{i},{i * 0.5},{'abc'[i % 3]},{i % 7 == 0}"


CASES = {
    "small file": ("id,x,cat,flag", lines(50, numbers_and_text)),
    "long file": ("id,x,cat,flag", lines(3 * N, numbers_and_text)),
    # Short lines first, then long ones: the head's size estimate falls short and must grow.
    "line length grows": (
        "id,text",
        lines(2000, lambda i: f"{i},a") + lines(2 * N, lambda i: f"{i},{'word ' * 40}"),
    ),
    "float late in the window": (
        "id,v",
        lines(N - 1, lambda i: f"{i},{i}") + ["9999,0.5"] + lines(N, lambda i: f"{i},{i}"),
    ),
    "dates and times": (
        "id,day,stamp,stamp_tz",
        lines(
            2 * N,
            lambda i: (
                f"{i},2024-01-{i % 28 + 1:02d},2024-01-01 10:{i % 60:02d}:00,"
                f"2024-01-01T10:00:{i % 60:02d}+01:00"
            ),
        ),
    ),
    "slashed dates": ("id,day", lines(2 * N, lambda i: f"{i},{i % 28 + 1:02d}/03/2021")),
    "quoted dates": ("id,day", lines(2 * N, lambda i: f'{i},"2024-02-{i % 28 + 1:02d}"')),
    "date first then words": (
        "id,mixed",
        ["0,2024-01-01"] + lines(2 * N, lambda i: f"{i},word{i}"),
    ),
    "words first then dates": (
        "id,mixed",
        ["0,word"] + lines(2 * N, lambda i: f"{i},2024-01-{i % 28 + 1:02d}"),
    ),
    "empty for the whole window": (
        "id,late",
        lines(N + 5, lambda i: f"{i},") + lines(N, lambda i: f"{i},2024-01-01"),
    ),
    "quoted multi-line values": (
        "id,note,v",
        lines(3 * N, lambda i: f'{i},"line one\nline {i}, two",{i * 1.5}'),
    ),
    "numbers like dates": ("id,ymd", lines(2 * N, lambda i: f"{i},2024{i % 12 + 1:02d}01")),
}

#: cases that take the shortcut (no text column starts with a date)
FAST = {
    "small file",
    "long file",
    "line length grows",
    "quoted multi-line values",
    "float late in the window",
}


@pytest.mark.parametrize("case", list(CASES))
def test_same_frame_as_polars_typed_read(tmp_path, case):
    header, rows = CASES[case]
    path = tmp_path / "data.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    expected = polars_read(path)
    got = reader._read_csv(path)
    assert got.schema == expected.schema
    assert got.equals(expected)
    if case in FAST:
        head, _ = reader._head(path)
        assert head is not None and not reader._may_hold_dates(head), "shortcut not taken"


ROWS = lines(2 * N + 5, numbers_and_text)
RAW = {
    "byte-order mark": "\ufeffid,x,cat,flag\n" + "\n".join(ROWS) + "\n",
    "CRLF line ends": "id,x,cat,flag\r\n" + "\r\n".join(ROWS) + "\r\n",
    "no final newline": "id,x,cat,flag\n" + "\n".join(ROWS),
    "quoted header": '"id","x","cat","flag"\n' + "\n".join(ROWS) + "\n",
    "blank lines": "id,x,cat,flag\n" + "\n\n".join(ROWS) + "\n",
}


@pytest.mark.parametrize("case", list(RAW))
def test_file_layouts_read_the_same(tmp_path, case):
    path = tmp_path / "data.csv"
    path.write_bytes(RAW[case].encode("utf-8"))
    expected = polars_read(path)
    got = reader._read_csv(path)
    assert got.schema == expected.schema and got.equals(expected)
    assert reader._head(path)[0] is not None  # the shortcut was taken


def test_random_mixed_columns_match(tmp_path):
    """Seeded files of columns whose values switch kind at random rows."""
    rng = random.Random(7)
    kinds = [
        lambda i: str(i),
        lambda i: f"{i / 3:.3f}",
        lambda i: f"2023-0{1 + i % 9}-1{i % 10}",
        lambda i: rng.choice(["x", "y", "z", ""]),
        lambda i: "",
    ]
    for k in range(6):
        n = rng.choice([N // 2, N + 50, 2 * N])
        switch = {c: (rng.randrange(n), rng.choice(kinds), rng.choice(kinds)) for c in range(4)}
        rows = [",".join((a if i < at else b)(i) for at, a, b in switch.values()) for i in range(n)]
        path = tmp_path / f"mixed{k}.csv"
        path.write_text("a,b,c,d\n" + "\n".join(rows) + "\n")
        try:
            expected = polars_read(path)
        except pl.exceptions.PolarsError:
            with pytest.raises(pl.exceptions.PolarsError):
                reader._read_csv(path)
            continue
        got = reader._read_csv(path)
        assert got.schema == expected.schema, (k, switch)
        assert got.equals(expected), k


def test_a_value_that_breaks_the_inferred_type_is_refused_as_before(tmp_path):
    path = tmp_path / "late.csv"
    path.write_text("id,v\n" + "\n".join(f"{i},{i}" for i in range(2 * N)) + "\n5,oops\n")
    with pytest.raises(pl.exceptions.PolarsError):
        polars_read(path)
    with pytest.raises(pl.exceptions.PolarsError):
        reader._read_csv(path)


def test_dates_are_detected_only_from_text_columns(tmp_path):
    plain = tmp_path / "plain.csv"
    plain.write_text("id,cat\n1,a\n2,b\n")
    dated = tmp_path / "dated.csv"
    dated.write_text("id,day\n1,2024-01-01\n2,2024-01-02\n")
    assert not reader._may_hold_dates(pl.read_csv(plain))
    assert reader._may_hold_dates(pl.read_csv(dated))
