"""The scorer: raw rows with the snapshot's types, encoded exactly as training did.

Against real trained LightGBM models: the demo's raw CSV (read by pandas, as a new user
would) scores equal to training's holdout scores; the pure-Python path for small requests
equals training's Polars encoding value for value (also on generated rows); bad input is a
``FieldError`` naming the field and why.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.serving.serving_helpers import FEATURES, NAME, served_demo
from workbench.api import EncodingPolicy, FieldError, Workspace
from workbench.experiments import Model, TrainSpec, train
from workbench.experiments.features import encode_matrix
from workbench.serving.mlflow_pyfunc import frame_of_pandas
from workbench.serving.scorer import SMALL_INPUT, Scorer

FAST = {"num_threads": 2, "num_iterations": 40, "verbosity": -1}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Workspace:
    return Workspace(served_demo(tmp_path_factory.mktemp("scorer") / "ws"))


@pytest.fixture(scope="module")
def scorer(demo) -> Scorer:
    return demo.scorer(f"{NAME}@champion")


def _holdout(demo):
    run_id = demo.model(f"{NAME}@champion").run_id
    holdout = demo.run_holdout(run_id)
    return holdout, demo.run_model(run_id).predict(holdout)


def test_the_raw_csv_read_by_pandas_scores_as_training_did(demo, scorer):
    holdout, expected = _holdout(demo)
    raw = pd.read_csv(demo.root / "data" / "train.csv")  # int64, float64 and object columns
    raw = raw.set_index("customer_id").loc[holdout["customer_id"].to_list()].reset_index()
    frame_scores, _ = scorer.score_frame(frame_of_pandas(raw, scorer.inputs))
    assert np.array_equal(frame_scores.probability, expected)
    records = raw.to_dict("records")
    small, _ = scorer.score_records(records[:SMALL_INPUT])
    large, _ = scorer.score_records(records)
    assert np.array_equal(small.probability, expected[:SMALL_INPUT])
    assert np.array_equal(large.probability, expected)
    model = demo.run_model(demo.model(f"{NAME}@champion").run_id)
    assert frame_scores.labels == model.predict_label(holdout)


def test_the_row_path_encodes_every_demo_row_as_training_does(demo, scorer):
    data = demo.load("churn@v1")
    rows = scorer.conform_records(data.to_dicts())
    assert np.array_equal(
        scorer.encode_records(rows), encode_matrix(scorer.meta, data), equal_nan=True
    )
    conformed = scorer.conform_frame(data)
    assert np.array_equal(scorer.encode_frame(conformed), encode_matrix(scorer.meta, data),
                          equal_nan=True)  # fmt: skip


def _record(**changes):
    base = {"tenure_months": 12, "monthly_charges": 70.5, "total_charges": 846.0,
            "contract": "Month-to-month", "payment_method": "Electronic check",
            "internet_service": "Fiber optic", "senior_citizen": 0, "gender": "Female",
            "region": "North", "support_calls": 2, "data_usage_gb": 12.5}  # fmt: skip
    return {**base, **changes}


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"tenure_months": "twelve"}, "tenure_months", "type"),
        ({"tenure_months": 12.5}, "tenure_months", "type"),
        ({"monthly_charges": True}, "monthly_charges", "type"),
        ({"contract": 3}, "contract", "type"),
        ({"region": ["North"]}, "region", "type"),
    ],
)
def test_a_value_of_the_wrong_type_names_its_field(scorer, changes, field, reason):
    with pytest.raises(FieldError) as err:
        scorer.score_records([_record(**changes)])
    assert (err.value.field, err.value.reason, err.value.row) == (field, reason, None)
    assert field in str(err.value)


def test_a_missing_field_is_refused_or_scored_as_missing_by_policy(scorer):
    record = _record()
    del record["support_calls"]
    with pytest.raises(FieldError) as err:
        scorer.score_records([_record(), record])
    assert (err.value.field, err.value.reason, err.value.row) == ("support_calls", "missing", 1)
    lenient = scorer.with_policy(EncodingPolicy(missing_column="missing"))
    absent, _ = lenient.score_records([record])
    null, _ = scorer.score_records([_record(support_calls=None)])
    assert absent.probability[0] == null.probability[0]
    with pytest.raises(FieldError):
        scorer.conform_frame(pl.DataFrame([record]))
    assert lenient.score_frame(pl.DataFrame([record]))[0].probability[0] == null.probability[0]


def test_an_unknown_category_is_missing_by_default_and_refused_when_strict(scorer):
    unseen, _ = scorer.score_records([_record(region="Atlantis")])
    missing, _ = scorer.score_records([_record(region=None)])
    assert unseen.probability[0] == missing.probability[0]  # as training encodes it
    strict = scorer.with_policy(EncodingPolicy(unknown_category="error"))
    for score in (
        lambda: strict.score_records([_record(region="Atlantis")]),
        lambda: strict.score_frame(pl.DataFrame([_record(region="Atlantis")])),
    ):
        with pytest.raises(FieldError) as err:
            score()
        assert (err.value.field, err.value.reason) == ("region", "unknown_category")
        assert "Atlantis" in str(err.value)


def test_whole_floats_and_nan_are_accepted_where_pandas_makes_them(scorer):
    as_int, _ = scorer.score_records([_record(tenure_months=12, data_usage_gb=None)])
    as_float, _ = scorer.score_records([_record(tenure_months=12.0, data_usage_gb=math.nan)])
    assert as_int.probability[0] == as_float.probability[0]
    frame = pl.DataFrame([_record(tenure_months=12.0, data_usage_gb=None)])
    assert scorer.score_frame(frame)[0].probability[0] == as_int.probability[0]
    with pytest.raises(FieldError) as err:
        scorer.score_frame(pl.DataFrame([_record(tenure_months=12.5)]))
    assert err.value.field == "tenure_months"


def test_a_text_column_where_numbers_belong_is_refused_on_the_frame_path(scorer):
    frame = pl.DataFrame([_record(), _record()]).with_columns(pl.lit("n/a").alias("tenure_months"))
    with pytest.raises(FieldError) as err:
        scorer.score_frame(frame)
    assert (err.value.field, err.value.reason) == ("tenure_months", "type")
    assert "'n/a'" in str(err.value)


# -- the two paths agree on generated rows -------------------------------------------------

_LEVELS = ["Month-to-month", "One year", "Two year", "Weekly", None]


def _row_strategy():
    whole = st.one_of(st.none(), st.integers(-5, 200), st.integers(-5, 200).map(float))
    real = st.one_of(st.none(), st.just(math.nan), st.floats(-1e6, 1e6, allow_nan=False),
                     st.integers(-100, 100))  # fmt: skip
    text = st.one_of(st.sampled_from(_LEVELS), st.text(max_size=3))
    return st.fixed_dictionaries(
        {
            f: whole
            if f in ("tenure_months", "senior_citizen", "support_calls")
            else real
            if f in ("monthly_charges", "total_charges", "data_usage_gb")
            else text
            for f in FEATURES
        }  # fmt: skip
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(_row_strategy(), min_size=1, max_size=12))
def test_row_and_frame_paths_agree_on_any_valid_rows(scorer, rows):
    conformed = scorer.conform_records(rows)
    by_rows = scorer.encode_records(conformed)
    by_frame = scorer.encode_frame(scorer.frame_of_records(conformed))
    assert np.array_equal(by_rows, by_frame, equal_nan=True)
    via_pandas = scorer.conform_frame(frame_of_pandas(pd.DataFrame(rows), scorer.inputs))
    assert np.array_equal(by_rows, scorer.encode_frame(via_pandas), equal_nan=True)


# -- other tasks ---------------------------------------------------------------------------


def _synthetic(task: str) -> tuple[Scorer, pl.DataFrame]:
    rng = np.random.default_rng(5)
    n = 400
    x = rng.normal(size=n)
    kind = rng.choice(["a", "b", "c"], n)
    y = {"multiclass": np.where(x > 0.5, "hi", np.where(x < -0.5, "lo", "mid")),
         "regression": 3 * x + (kind == "b")}[task]  # fmt: skip
    df = pl.DataFrame({"x": x, "kind": kind, "small": rng.integers(0, 5, n), "y": y})
    result = train(df, TrainSpec(target="y", task=task, params=dict(FAST)))
    return Scorer(Model(result.model_text, result.meta)), df


def test_multiclass_answers_the_class_its_probability_and_every_class_probability():
    scorer, df = _synthetic("multiclass")
    scores, _ = scorer.score_frame(df)
    expected = scorer.model.predict(df)
    assert np.array_equal(scores.probabilities, expected)
    assert scores.labels == scorer.model.predict_label(df)
    table = scores.to_polars()
    assert table.columns == ["label", "probability", "p_hi", "p_lo", "p_mid"]
    first = scores.records()[0]
    assert set(first) == {"label", "probability", "probabilities"}
    assert first["probability"] == max(first["probabilities"].values())


def test_regression_answers_values():
    scorer, df = _synthetic("regression")
    scores, _ = scorer.score_records(df.head(3).to_dicts())
    assert np.array_equal(scores.values, scorer.model.predict(df.head(3)))
    assert [set(r) for r in scores.records()] == [{"value"}] * 3
    assert scores.to_polars().columns == ["value"]


def test_the_single_row_path_predicts_what_booster_predict_does(demo, scorer):
    from workbench.serving.single_row import SingleRowPredictor

    x = encode_matrix(scorer.meta, demo.load("churn@v1"))
    fast = SingleRowPredictor.create(scorer.booster)
    assert np.array_equal(fast.predict(x), scorer.booster.predict(x))
    multi, df = _synthetic("multiclass")
    x = encode_matrix(multi.meta, df)
    assert np.array_equal(SingleRowPredictor.create(multi.booster).predict(x),
                          multi.booster.predict(x))  # fmt: skip
    one, _ = multi.score_records(df.head(1).to_dicts())  # the single-row path, (1, k)
    assert np.array_equal(one.probabilities, multi.booster.predict(x[:1]))
