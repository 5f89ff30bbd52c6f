"""Text columns that hold numbers but for a few values (the Telco data's blank
``TotalCharges``) are pointed out when added, shown, and trained on; nothing is changed."""

from __future__ import annotations

import json

import polars as pl

from tests.helpers import run_cli
from workbench.snapshots.profile import ColumnProfile, profile_frame


def _frame(n: int = 400) -> pl.DataFrame:
    amounts = [f"{i * 1.5:.2f}" for i in range(n)]
    for i in (17, 230, 399):
        amounts[i] = " "  # blanks, as exported by many tools
    return pl.DataFrame(
        {
            "amount": amounts,
            "zip": [
                f"{i:05d}" for i in range(n)
            ],  # text of numbers only: no note (a CSV reads ints)
            "plan": ["basic", "pro"] * (n // 2),
            "mostly": [str(i) if i % 5 else "n/a" for i in range(n)],  # 20% are not numbers
            "empty": pl.Series([None] * n, dtype=pl.String),
            "label": [i % 2 for i in range(n)],
        }
    )


def test_profile_counts_the_values_that_are_not_numbers():
    found = {p.name: (p.not_numbers, p.not_number_values) for p in profile_frame(_frame())}
    assert found["amount"] == (3, [" "])
    assert found["zip"] == (None, []) and found["plan"] == (None, [])
    assert found["mostly"] == (None, []) and found["empty"] == (None, [])
    assert found["label"] == (None, [])
    note = next(p for p in profile_frame(_frame()) if p.name == "amount").numeric_text_note()
    assert note == (
        "amount is stored as text because 3 of its values are not numbers (' '); the rest "
        "are. If it is a number column, fix those values (or leave them empty) and add the "
        "file again."
    )


def test_blanks_sorted_first_are_found_and_a_column_may_be_called_count():
    values = [" "] * 1_100 + [str(i) for i in range(40_000)]  # sorted as text: blanks first
    frame = pl.DataFrame({"count": values})
    (prof,) = profile_frame(frame)
    assert (prof.not_numbers, prof.not_number_values) == (1_100, [" "])
    assert prof.top_values[0] == (" ", 1_100)


def test_all_values_distinct_counts_whole_rows():
    def prof(distinct: int, null_share: float) -> ColumnProfile:
        return ColumnProfile("k", "String", "categorical", null_share, distinct)

    assert prof(10, 0.0).all_distinct(10) and not prof(9, 0.0).all_distinct(10)
    assert prof(3, 0.7).all_distinct(10)  # 3 values left, all different
    assert not prof(0, 0.0).all_distinct(0) and not prof(1, 0.0).all_distinct(1)


def test_profiles_saved_before_or_after_this_field_still_load():
    old = {"name": "x", "dtype": "String", "kind": "categorical", "null_share": 0.0,
           "distinct": 2, "top_values": [["a", 1]]}  # fmt: skip
    assert ColumnProfile.from_dict(old).not_numbers is None
    newer = {**old, "not_numbers": 2, "a_field_from_a_later_version": 1}
    assert ColumnProfile.from_dict(newer).not_numbers == 2


def test_cli_add_show_and_train_say_so(tmp_path):
    csv = tmp_path / "bills.csv"
    _frame().write_csv(csv)
    ws = str(tmp_path / "ws")
    assert run_cli("init", ws).returncode == 0
    added = run_cli("-w", ws, "data", "add", str(csv), "-n", "bills", "--target", "label")
    assert added.returncode == 0, added.stderr
    assert "added bills@v1" in added.stdout
    note = "note: amount is stored as text because 3 of its values are not numbers (' ')"
    assert added.stderr.startswith(note) and len(added.stderr.strip().splitlines()) == 1

    shown = run_cli("-w", ws, "data", "show", "bills", env={"COLUMNS": "200"})
    assert shown.returncode == 0 and note in shown.stdout
    assert "zip" in shown.stdout and "note: zip" not in shown.stdout

    trained = run_cli("-w", ws, "train", "bills", "--no-mlflow", "--json",
                      "-p", "num_iterations=5", "-p", "min_data_in_leaf=5")  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    assert note in trained.stderr and "Trained on as a category." in trained.stderr
    assert json.loads(trained.stdout)["status"] == "finished"  # stdout stays JSON
    # the stored data is what the file says: nothing was converted
    stored = json.loads(run_cli("-w", ws, "data", "show", "bills", "--json").stdout)
    assert stored["schema"]["amount"] == "String"
