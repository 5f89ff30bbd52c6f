"""A labelled snapshot whose column types differ from the training data is not a holdout, and
a model given such data says which column is wrong (both met promoting a model on the Telco
data: raw data where 11 blanks made TotalCharges text)."""

from __future__ import annotations

import polars as pl
import pytest

from tests.registry.conftest import FAST, make_small_demo, open_as
from workbench.errors import InputError


def _retyped_batch(ws, root, name: str) -> None:
    """The July batch with monthly_charges as text with a blank, added as ``name``."""
    frame = ws.load("prod-2025-07").with_columns(pl.col("monthly_charges").cast(pl.String))
    frame = frame.with_columns(
        monthly_charges=pl.when(pl.int_range(pl.len()) == 5)
        .then(pl.lit(" "))
        .otherwise(pl.col("monthly_charges"))
    )
    path = root / f"{name}.csv"
    frame.write_csv(path)
    ws.add_snapshot(path, name, target="churn")
    assert ws.snapshot(name).schema["monthly_charges"] == "String"


def test_holdout_skips_retyped_data_and_scoring_it_is_one_clear_error(tmp_path):
    root = make_small_demo(tmp_path / "ws", ("2025-07",), "[registry]\nmlflow = false\n")
    ws = open_as(root, "alice")
    run = ws.train("churn@v1", params=FAST, mlflow=False)
    label, _ = ws.services.registry.evidence_builder().choose_holdout(run, None)
    assert label.startswith("prod-2025-07@v1")  # the newest labelled data it did not see

    _retyped_batch(ws, root, "raw-export")  # newer, labelled, but monthly_charges is text
    label, rows = ws.services.registry.evidence_builder().choose_holdout(run, None)
    assert label.startswith("prod-2025-07@v1") and rows.height == 300

    model = ws.run_model(run.id)
    with pytest.raises(InputError, match=r"takes monthly_charges \(String\) as numbers"):
        model.predict(ws.load("raw-export"))
