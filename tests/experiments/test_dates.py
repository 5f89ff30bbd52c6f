"""Date-stamped tables train without flags: dates and datetimes become calendar features, other
types LightGBM cannot use are left out with a note (``train`` refused a public table with a date
column: "column 'date' has type Date, which LightGBM cannot use")."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import polars as pl
import pytest

from tests.experiments.conftest import FAST
from tests.helpers import run_cli
from workbench.errors import InputError
from workbench.experiments import TrainSpec, train
from workbench.experiments.features import feature_notes
from workbench.experiments.metrics import compute_metrics
from workbench.experiments.model import Model
from workbench.experiments.split import holdout

CALENDAR = ["year", "month", "day", "day_of_week", "day_of_year"]


def dated_frame(n: int = 1200, seed: int = 3) -> pl.DataFrame:
    """Purchases: a Date (signup, with nulls), a Datetime (last visit), integers (with nulls), a
    boolean, text (with nulls) and an id. Weekend signups and evening visits buy more."""
    rng = np.random.default_rng(seed)
    days = rng.integers(0, 366, n)
    hours = rng.integers(0, 24, n)
    signup = [dt.date(2024, 1, 1) + dt.timedelta(days=int(d)) for d in days]
    visit = [dt.datetime(2024, 6, 1, int(h)) + dt.timedelta(days=int(d) % 30) for h, d in
             zip(hours, days, strict=True)]  # fmt: skip
    visits = rng.integers(0, 20, n)
    promo = rng.random(n) < 0.3
    plan = rng.choice(["basic", "plus", "pro"], n)
    weekend = np.array([s.isoweekday() >= 6 for s in signup])
    logit = 0.15 * visits - 2.0 + 1.5 * weekend + 1.2 * (hours >= 18) + 0.7 * promo
    bought = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    frame = pl.DataFrame({"order_id": np.arange(n), "signup": signup, "last_visit": visit,
                          "visits": visits, "promo": promo, "plan": plan, "bought": bought})  # fmt: skip
    return frame.with_columns(
        signup=pl.when(pl.col("order_id") % 13 == 0).then(None).otherwise(pl.col("signup")),
        visits=pl.when(pl.col("order_id") % 17 == 0).then(None).otherwise(pl.col("visits")),
        plan=pl.when(pl.col("order_id") % 19 == 0).then(None).otherwise(pl.col("plan")),
    )


def spec(**kwargs) -> TrainSpec:
    return TrainSpec(target="bought", exclude=["order_id"], params=dict(FAST), **kwargs)


def test_dates_train_as_calendar_parts_and_score_the_same_way():
    df = dated_frame()
    result = train(df, spec())
    meta = result.meta
    assert meta.features == [
        *(f"signup.{p}" for p in CALENDAR), *(f"last_visit.{p}" for p in [*CALENDAR, "hour"]),
        "visits", "promo", "plan",
    ]  # fmt: skip
    assert meta.inputs == ["signup", "last_visit", "visits", "promo", "plan"]
    assert meta.derived["signup.day_of_week"] == ["signup", "day_of_week"]
    assert meta.dtypes["signup"] == "Date" and meta.dtypes["last_visit"].startswith("Datetime")
    assert meta.left_out == {}
    assert result.importance.feature == meta.features
    # the signal sits in the day of week and the hour: the model finds it
    gain = dict(zip(result.importance.feature, result.importance.gain, strict=True))
    assert gain["signup.day_of_week"] > 0 and gain["last_visit.hour"] > 0
    assert result.metrics["auc"] > 0.7
    assert result.example is not None and result.example.columns == meta.inputs

    # same data, same model
    assert train(df, spec()).model_text == result.model_text
    # the recorded meta scores new rows the way the holdout was scored
    model = Model(result.model_text, meta.to_dict())
    rows = holdout(df, result.split)
    again = compute_metrics("binary", (rows["bought"] == "yes").cast(pl.Float64).to_numpy(),
                            model.predict(rows))  # fmt: skip
    assert again == pytest.approx(result.metrics, abs=1e-12)
    encoded = model.encode(rows.head(3))
    assert list(encoded.columns) == meta.features
    first = rows.row(0, named=True)
    if first["signup"] is not None:
        assert encoded["signup.day_of_week"][0] == first["signup"].isoweekday()
        assert encoded["signup.day_of_year"][0] == first["signup"].timetuple().tm_yday
    assert encoded["last_visit.hour"][0] == first["last_visit"].hour
    # a null date is missing in every part
    null_row = df.filter(pl.col("signup").is_null()).head(1)
    assert np.isnan(model.encode(null_row)[[f"signup.{p}" for p in CALENDAR]].to_numpy()).all()
    # scoring data whose date column is text is one clear error
    with pytest.raises(InputError, match="takes 'signup' as a Date column, but here it is String"):
        model.predict(rows.with_columns(pl.col("signup").cast(pl.String)))
    # a datetime column given as dates scores (hour 0), as dates are days
    as_dates = rows.with_columns(pl.col("last_visit").dt.date())
    assert model.predict(as_dates).shape == (rows.height,)


def test_other_types_are_numbers_where_meaningful_or_left_out_with_a_note():
    df = (
        dated_frame(600)
        .with_columns(
            opens=pl.time(pl.col("order_id") % 24, 30),
            wait=pl.duration(minutes=pl.col("order_id") % 90),
            tags=pl.concat_list(pl.col("plan"), pl.lit("x")),
            pair=pl.struct(a=pl.col("order_id")),
            blob=pl.lit(b"\x00\x01"),
            nothing=pl.lit(None),
        )
        .with_columns(
            pl.Series("shape", [[i, i] for i in range(600)], dtype=pl.Array(pl.Int64, 2)),
            pl.Series("obj", [object()] * 600, dtype=pl.Object),
        )
    )
    result = train(df, spec())
    meta = result.meta
    assert {"opens", "wait"} <= set(meta.features)
    assert meta.derived["opens"] == ["opens", "seconds_of_day"]
    assert meta.derived["wait"] == ["wait", "seconds"]
    assert set(meta.left_out) == {"tags", "pair", "blob", "nothing", "shape", "obj"}
    encoded = Model(result.model_text, meta).encode(df.head(2))
    assert encoded["opens"].tolist() == [30 * 60.0, 3600 + 30 * 60.0]
    assert encoded["wait"].tolist() == pytest.approx([0.0, 60.0], abs=1e-9)
    notes = feature_notes(meta.to_dict())
    assert (
        "'signup' (Date) is trained on as its year, month, day, day of week and day of year."
        in notes
    )
    assert "'opens' (Time) is trained on as seconds since midnight." in notes
    assert (
        "'tags' is left out of the features: it holds a list, which LightGBM cannot use." in notes
    )
    assert (
        "'nothing' is left out of the features: it holds only nulls, which LightGBM cannot use."
        in notes
    )
    assert (
        "'obj' is left out of the features: it holds Python objects, which LightGBM cannot use."
        in notes
    )
    # nothing but unusable columns: one line that says which
    only = df.select("bought", "tags", "blob")
    with pytest.raises(InputError, match="no feature columns left .*'tags' holds a list"):
        train(only, TrainSpec(target="bought", params=dict(FAST)))


def test_a_declared_time_column_stays_out_and_a_derived_name_never_shadows_a_column():
    df = dated_frame(600).with_columns(pl.col("visits").alias("signup.year"))
    result = train(df, spec(time_column="last_visit"))
    assert not any(f.startswith("last_visit") for f in result.meta.features)
    assert "signup.year" in result.meta.features and "signup.year_" in result.meta.features
    assert result.meta.derived["signup.year_"] == ["signup", "year"]


@pytest.fixture
def dated_ws(tmp_path):
    from workbench.api import Workspace

    path = tmp_path / "orders.csv"
    dated_frame().write_csv(path)
    ws = Workspace.init(tmp_path / "project")
    ws.add_snapshot(path, "orders", target="bought", key="order_id")
    snap = ws.snapshot("orders")
    assert snap.schema["signup"] == "Date" and snap.schema["last_visit"].startswith("Datetime")
    return ws


def test_the_facade_records_the_features_mlflow_and_the_gates_use_them(dated_ws):
    import mlflow

    ws = dated_ws
    rec = ws.train("orders", params=FAST)
    assert rec.status == "finished" and "signup.month" in rec.model_meta["features"]
    assert rec.model_meta["derived"]["last_visit.hour"] == ["last_visit", "hour"]
    assert rec.feature_notes[0].startswith("'signup' (Date) is trained on as its year")
    # MLflow's model takes the raw rows, dates included, as for every model
    model = ws.run_model(rec.id)
    rows = ws.run_holdout(rec.id)
    mlflow.set_tracking_uri(ws.mlflow_tracking_uri)
    try:
        loaded = mlflow.pyfunc.load_model(ws.run_model_uri(rec.id))
        logged = mlflow.artifacts.load_dict(f"runs:/{rec.mlflow_run_id}/workbench/model_meta.json")
    finally:
        mlflow.set_tracking_uri(None)
    theirs = loaded.predict(rows.to_pandas())["probability"].to_numpy()
    assert np.array_equal(theirs, model.predict(rows))
    assert logged["derived"] == rec.model_meta["derived"]
    # the registry's gates score the version through the same encodings
    ws.register_model(rec.id, "buyers")
    evidence = ws.gate_results("buyers@v1")
    assert evidence.holdout == f"run {rec.id}'s own holdout of orders@v1"
    assert evidence.metrics["challenger"]["auc"] == pytest.approx(rec.metrics["auc"])


def test_the_command_line_trains_a_date_stamped_table_without_flags(dated_ws):
    ws = dated_ws
    trained = run_cli("-w", str(ws.root), "train", "orders", "--no-mlflow", "--json",
                      "-p", "num_iterations=40", "-p", "num_threads=2",
                      env={"OMP_WAIT_POLICY": "PASSIVE"})  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    assert trained.stderr.splitlines() == [
        "note: 'signup' (Date) is trained on as its year, month, day, day of week and day of year.",
        "note: 'last_visit' (Datetime) is trained on as its year, month, day, day of week, day "
        "of year and hour.",
    ]
    rec = json.loads(trained.stdout)
    assert rec["status"] == "finished" and "last_visit.hour" in rec["model_meta"]["features"]
    shown = run_cli("-w", str(ws.root), "runs", "show", str(rec["id"]))
    assert "features  'signup' (Date) is trained on as its year" in shown.stdout, shown.stdout
