"""Training: tasks, encodings, metrics, determinism, splits, failures, progress and cancel."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from tests.experiments.conftest import FAST, churn_frame
from workbench.errors import Cancelled, InputError
from workbench.experiments import Model, TrainSpec, apply_split, holdout, predict, train
from workbench.progress import CallbackProgress


def spec(**kw) -> TrainSpec:
    kw.setdefault("params", dict(FAST))
    return TrainSpec(**kw)


def test_binary_text_target_mapping_and_categoricals(churn_result):
    r = churn_result
    assert r.task == "binary"
    assert r.meta.classes == ["No", "Yes"]
    assert r.meta.features == ["x1", "x2", "plan"]
    assert r.meta.categories == {"plan": ["basic", "plus", "pro"]}
    assert set(r.metrics) == {"auc", "logloss", "accuracy", "f1", "precision", "recall"}
    assert r.metrics["auc"] > 0.7
    assert r.params["learning_rate"] == 0.05 and r.params["num_iterations"] == 60
    assert r.effective_params["num_leaves"] == 31 and "max_bin" in r.effective_params
    assert 1 <= r.best_iteration <= r.num_iterations <= 60
    assert len(r.curves["train"]["binary_logloss"]) == r.num_iterations
    assert len(r.curves["valid"]["binary_logloss"]) == r.num_iterations
    assert r.importance.feature == r.meta.features and sum(r.importance.split) > 0
    assert r.split.n_train + r.split.n_valid + r.split.n_test == 600
    assert r.split.n_test == 120


def test_positive_class_override(churn):
    r = train(churn, spec(target="churn", exclude=["customer_id"], positive_class="No"))
    assert r.meta.classes == ["Yes", "No"]


def test_metrics_match_sklearn(churn, churn_result):
    from sklearn import metrics as skm

    r = churn_result
    test = holdout(churn, r.split)
    y = (test["churn"] == "Yes").to_numpy().astype(int)
    p = predict(r.model_text, r.meta, test)
    assert r.metrics["auc"] == pytest.approx(skm.roc_auc_score(y, p), abs=1e-12)
    assert r.metrics["logloss"] == pytest.approx(skm.log_loss(y, p), abs=1e-12)
    assert r.metrics["accuracy"] == pytest.approx(skm.accuracy_score(y, p >= 0.5))
    assert r.metrics["f1"] == pytest.approx(skm.f1_score(y, p >= 0.5))
    assert r.metrics["precision"] == pytest.approx(skm.precision_score(y, p >= 0.5))
    assert r.metrics["recall"] == pytest.approx(skm.recall_score(y, p >= 0.5))


def test_auc_ranks_equal_scipy_rankdata_with_ties_and_nan():
    from scipy.stats import rankdata

    from workbench.experiments.metrics import _average_ranks

    rng = np.random.default_rng(5)
    cases = [
        rng.normal(size=5_000),
        rng.integers(0, 20, 5_000).astype(float),  # many ties
        np.round(rng.random(3_000), 2),
        np.array([2.0, 2.0, 2.0]),
        np.array([1.0]),
        np.array([3.0, 1.0, np.nan]),
    ]
    for values in cases:
        assert np.array_equal(_average_ranks(values), rankdata(values), equal_nan=True)


def test_multiclass_and_regression_metrics_match_sklearn():
    from sklearn import metrics as skm

    from workbench.experiments import compute_metrics

    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 200)
    p = rng.dirichlet([1, 1, 1], 200)
    m = compute_metrics("multiclass", y, p)
    assert m["logloss"] == pytest.approx(skm.log_loss(y, p), abs=1e-12)
    assert m["macro_f1"] == pytest.approx(skm.f1_score(y, p.argmax(1), average="macro"))
    yr, pr = rng.normal(size=200), rng.normal(size=200)
    r = compute_metrics("regression", yr, pr)
    assert r["rmse"] == pytest.approx(skm.root_mean_squared_error(yr, pr))
    assert r["mae"] == pytest.approx(skm.mean_absolute_error(yr, pr))
    assert r["r2"] == pytest.approx(skm.r2_score(yr, pr))


def test_deterministic(churn, churn_result):
    again = train(churn, spec(target="churn", exclude=["customer_id"]))
    assert again.metrics == churn_result.metrics
    assert again.curves == churn_result.curves
    assert again.model_text == churn_result.model_text


def test_predict_and_model_apply_recorded_encodings(churn, churn_result):
    r = churn_result
    model = Model(r.model_text, r.meta.to_dict())
    # reordered columns and an unseen level must not change the mapping
    shuffled = churn.select(["plan", "churn", "x2", "x1"]).head(50)
    base = model.predict(churn.head(50))
    assert np.array_equal(model.predict(shuffled), base)
    unseen = churn.head(5).with_columns(plan=pl.lit("enterprise"))
    missing = churn.head(5).with_columns(plan=pl.lit(None, dtype=pl.String))
    assert np.array_equal(model.predict(unseen), model.predict(missing))
    assert set(model.predict_label(churn.head(20))) <= {"Yes", "No"}
    categorical = churn.head(50).with_columns(pl.col("plan").cast(pl.Categorical))
    assert np.array_equal(model.predict(categorical), base)


def test_multiclass_auto_and_regression_auto():
    rng = np.random.default_rng(1)
    n = 400
    x = rng.normal(size=n)
    df = pl.DataFrame({"x": x, "k": np.digitize(x, [-0.5, 0.5]), "v": 2 * x + rng.normal(size=n)})
    multi = train(df.drop("v"), spec(target="k"))
    assert multi.task == "multiclass" and multi.meta.classes == [0, 1, 2]
    assert set(multi.metrics) == {"logloss", "accuracy", "macro_f1"}
    assert predict(multi.model_text, multi.meta, df.head(3)).shape == (3, 3)
    reg = train(df.drop("k"), spec(target="v"))
    assert reg.task == "regression" and reg.metrics["r2"] > 0.5


def test_time_split_records_cut_and_reproduces(churn):
    from datetime import datetime, timedelta

    start = datetime(2024, 1, 1)
    df = churn.with_columns(ts=pl.Series([start + timedelta(hours=i) for i in range(churn.height)]))
    r = train(df, spec(target="churn", exclude=["customer_id"], split="time", time_column="ts"))
    assert "ts" not in r.meta.features
    assert r.split.cut == (start + timedelta(hours=480)).isoformat()
    test = holdout(df, r.split)
    assert test.height == r.split.n_test == 120
    assert test["ts"].min() == start + timedelta(hours=480)
    train_idx, valid_idx, _ = apply_split(df, r.split)
    assert df["ts"][valid_idx].min() > df["ts"][train_idx].max()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": "nope"}, "target column 'nope' is not in the data"),
        ({"target": "churn", "params": {"num_leaves": 1}}, "num_leaves must be > 1"),
        ({"target": "churn", "params": {"num_leaves": "abc"}}, "num_leaves should be of type int"),
        ({"target": "churn", "params": {"nmu_leaves": 3}}, "unknown LightGBM parameter"),
        ({"target": "churn", "task": "weird"}, "unknown task"),
    ],
)
def test_readable_failures(churn, kwargs, message):
    kwargs.setdefault("params", dict(FAST))
    with pytest.raises(InputError, match=message) as info:
        train(churn, TrainSpec(exclude=["customer_id"], **kwargs))
    assert "\n" not in str(info.value) and ".cpp" not in str(info.value)


def test_one_class_and_null_target(churn):
    with pytest.raises(InputError, match="only one class"):
        train(churn.with_columns(churn=pl.lit("Yes")), spec(target="churn"))
    nulls = churn.with_columns(churn=pl.when(pl.col("x2") == 3).then(None).otherwise("churn"))
    with pytest.raises(InputError, match="null value"):
        train(nulls, spec(target="churn"))


def test_progress_observer_and_cancel(churn):
    events, seen = [], []
    progress = CallbackProgress(on_start=lambda t, n: events.append((t, n)))
    r = train(
        churn,
        spec(target="churn", exclude=["customer_id"]),
        progress=progress,
        on_iteration=lambda i, tr, va: seen.append((i, tr, va)),
        after_fit=lambda: events.append(("after fit", len(seen))),
    )
    # the hook runs once, after the last round and before the holdout is scored
    assert events == [
        ("train", 60.0),
        ("after fit", r.num_iterations),
        ("scoring the holdout", None),
    ]
    assert [s[0] for s in seen] == list(range(1, r.num_iterations + 1))
    assert seen[-1][2] == r.curves["valid"]["binary_logloss"][-1]
    calls = []

    def stop_after_three() -> bool:
        calls.append(1)
        return len(calls) >= 3

    with pytest.raises(Cancelled):
        train(churn, spec(target="churn"), progress=CallbackProgress(cancel=stop_after_three))
    assert len(calls) == 3


def test_bigger_frame_binary_numeric_target():
    df = churn_frame(400, seed=5).with_columns(churn=(pl.col("churn") == "Yes").cast(pl.Int64))
    r = train(df, spec(target="churn", exclude=["customer_id"]))
    assert r.task == "binary" and r.meta.classes == [0, 1]


def test_big_training_sets_draw_the_train_curve_from_a_sample(churn, churn_result, monkeypatch):
    import workbench.experiments.training as training

    monkeypatch.setattr(training, "TRAIN_CURVE_ROWS", 100)
    sampled = train(churn, TrainSpec(target="churn", exclude=["customer_id"], params=dict(FAST)))
    # early stopping still watches only the validation set: the same model, metrics and curve
    assert sampled.best_iteration == churn_result.best_iteration
    assert sampled.model_text == churn_result.model_text
    assert sampled.metrics == churn_result.metrics
    assert sampled.curves["valid"] == churn_result.curves["valid"]
    # the train curve is there under its usual name, one value per iteration, from fewer rows
    assert set(sampled.curves) == {"train", "valid"}
    for metric, values in sampled.curves["train"].items():
        assert len(values) == len(churn_result.curves["train"][metric])
        assert values != churn_result.curves["train"][metric]
