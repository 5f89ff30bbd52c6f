"""Models trained on date-stamped tables serve raw rows: the scorer derives the same calendar
parts, times of day and durations as training did, on both its paths."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from tests.experiments.test_dates import dated_frame, spec
from workbench.experiments import train
from workbench.experiments.model import Model
from workbench.experiments.split import holdout
from workbench.serving.scorer import FieldError, Scorer


@pytest.fixture(scope="module")
def trained():
    df = dated_frame(900).with_columns(
        opened=pl.col("last_visit").dt.time(),
        session=pl.duration(seconds=pl.col("order_id") * 7 % 3600),
    )
    result = train(df, spec())
    model = Model(result.model_text, result.meta.to_dict())
    return df, result, model


def test_the_row_and_frame_paths_score_dated_rows_as_training_did(trained):
    df, result, model = trained
    meta = result.meta
    assert "opened" in meta.inputs and "session" in meta.inputs
    assert meta.derived["opened"] == ["opened", "seconds_of_day"]
    assert meta.derived["session"] == ["session", "seconds"]
    rows = holdout(df, result.split)
    expected = model.predict(rows)
    scorer = Scorer(model)

    scores, _ = scorer.score_frame(rows)
    np.testing.assert_allclose(scores.probability, expected, rtol=0, atol=1e-12)

    records = rows.drop("bought").to_dicts()
    by_rows, _ = scorer.score_records(records)
    np.testing.assert_allclose(by_rows.probability, expected, rtol=0, atol=1e-12)
    # the row path's features equal the frame path's, value for value
    conformed = scorer.conform_records(records)
    np.testing.assert_array_equal(
        scorer.encode_records(conformed), scorer.encode_frame(scorer.conform_frame(rows))
    )

    # as JSON sends them: ISO text for dates and times, seconds for durations
    as_json = [
        {**r, "signup": r["signup"] and r["signup"].isoformat(),
         "last_visit": r["last_visit"].isoformat(), "opened": r["opened"].isoformat(),
         "session": r["session"].total_seconds()}
        for r in records
    ]  # fmt: skip
    np.testing.assert_allclose(
        scorer.score_records(as_json)[0].probability, expected, rtol=0, atol=1e-12
    )


def test_a_time_or_duration_of_the_wrong_kind_names_its_field(trained):
    _, _, model = trained
    scorer = Scorer(model)
    row = {"signup": "2024-02-03", "last_visit": "2024-06-02T19:00:00", "visits": 3,
           "promo": False, "plan": "pro", "opened": "19:00:00", "session": 90}  # fmt: skip
    assert len(scorer.score_records([row])[0]) == 1
    with pytest.raises(FieldError) as err:
        scorer.score_records([{**row, "opened": "seven pm"}])
    assert err.value.field == "opened" and err.value.reason == "type"
    with pytest.raises(FieldError) as err:
        scorer.score_records([{**row, "session": "long"}])
    assert err.value.field == "session"
    assert scorer.conform_records([{**row, "session": dt.timedelta(minutes=1.5)}])[0][
        "session"
    ] == dt.timedelta(seconds=90)
