"""Tests for the seeded churn demo data: determinism, schema, and the planted scenarios."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from workbench import demo_data
from workbench.demo_data import COLUMNS, BatchInfo, DemoData, generate, write_demo_files
from workbench.errors import InputError

MONTHS = ["2025-07", "2025-08", "2025-09", "2025-10", "2025-11", "2025-12"]
CATEGORICAL = ["contract", "payment_method", "internet_service", "gender", "region"]


@pytest.fixture(scope="module")
def data() -> DemoData:
    return generate(7)


def _churn(frame: pl.DataFrame) -> np.ndarray:
    return (frame["churn"] == "Yes").to_numpy().astype(int)


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    """Mann-Whitney AUC: share of (positive, negative) pairs ranked the right way."""
    from scipy.stats import rankdata  # here: scipy.stats costs every xdist worker ~1 s to import

    ranks = rankdata(score)
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _ks(a: pl.Series, b: pl.Series) -> float:
    from scipy.stats import ks_2samp

    return float(ks_2samp(a.drop_nulls().to_numpy(), b.drop_nulls().to_numpy()).statistic)


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_frames(data: DemoData) -> None:
    again = generate(7)
    assert again.train.equals(data.train)
    assert list(again.batches) == list(data.batches)
    for month, frame in data.batches.items():
        assert again.batches[month].equals(frame), month


def test_different_seeds_differ(data: DemoData) -> None:
    other = generate(8)
    assert not other.train.equals(data.train)
    for month in MONTHS:
        assert not other.batches[month].equals(data.batches[month])


def test_batches_do_not_depend_on_training_size(data: DemoData) -> None:
    # Each frame has its own child generator, so a smaller train leaves batches alone.
    small = generate(7, n_train=500, n_per_batch=3_000)
    assert small.train.height == 500
    assert (
        small.batches["2025-07"]
        .drop("customer_id")
        .equals(data.batches["2025-07"].drop("customer_id"))
    )


def test_fast() -> None:
    # CPU time, not wall time: under two test suites on two cores it took 1.15 s of wall time
    # for ~0.1 s of CPU.
    start = time.process_time()
    generate(11)
    assert time.process_time() - start < 1.0


def test_bad_sizes_raise() -> None:
    with pytest.raises(InputError):
        generate(7, n_train=0)


# --------------------------------------------------------------------------- schema


def test_schema_and_sizes(data: DemoData) -> None:
    assert data.seed == 7
    assert data.train.height == 12_000
    assert list(data.batches) == MONTHS
    for frame in [data.train, *data.batches.values()]:
        assert frame.schema == pl.Schema(COLUMNS)
    for month in MONTHS:
        assert data.batches[month].height == 3_000


def test_value_domains(data: DemoData) -> None:
    train = data.train
    assert train["contract"].unique().sort().to_list() == ["Month-to-month", "One year", "Two year"]
    assert train["internet_service"].unique().sort().to_list() == ["DSL", "Fiber optic", "None"]
    assert train["payment_method"].n_unique() == 4
    assert set(train["gender"].unique()) == {"Female", "Male"}
    assert set(train["senior_citizen"].unique()) == {0, 1}
    assert set(train["churn"].unique()) == {"Yes", "No"}
    assert train["support_calls"].min() >= 0 and train["support_calls"].max() <= 8
    assert train["tenure_months"].min() >= 0 and train["tenure_months"].max() <= 72
    # data_usage_gb is right-skewed: the mean sits well above the median.
    used = train.filter(pl.col("internet_service") != "None")["data_usage_gb"]
    assert used.mean() > 1.15 * used.median()
    assert train.null_count().sum_horizontal().item() == 0


def test_customer_ids_unique_across_all_frames(data: DemoData) -> None:
    ids = pl.concat([data.train["customer_id"], *(f["customer_id"] for f in data.batches.values())])
    assert ids.n_unique() == ids.len()


def test_dates_fall_in_their_period(data: DemoData) -> None:
    assert str(data.train["observed_at"].min()) >= "2025-01-01"
    assert str(data.train["observed_at"].max()) <= "2025-06-30"
    for month, frame in data.batches.items():
        months = frame["observed_at"].dt.strftime("%Y-%m").unique().to_list()
        assert months == [month]
    # Rows are in time order, as an export from a system of record would be.
    assert data.train["observed_at"].is_sorted()


@pytest.mark.parametrize("seed", [7, 1, 2024])
def test_churn_rate_in_range(seed: int) -> None:
    d = generate(seed)
    for frame in [d.train, *d.batches.values()]:
        assert 0.20 <= _churn(frame).mean() <= 0.30


# --------------------------------------------------------------------------- scenarios


def test_descriptions_match_batches(data: DemoData) -> None:
    infos = data.descriptions
    assert [i.month for i in infos] == MONTHS
    assert all(isinstance(i, BatchInfo) and i.description for i in infos)
    assert infos[0].label == "Jul 2025"
    assert infos[0].file_name == "batch_2025_07.csv"
    assert infos[0].scenarios == ("control",)
    tagged = {tag: [i.month for i in infos if tag in i.scenarios] for tag in
              ["broken_feed", "new_category", "concept_drift"]}  # fmt: skip
    assert tagged == {
        "broken_feed": ["2025-09"],
        "new_category": ["2025-10", "2025-11", "2025-12"],
        "concept_drift": ["2025-11", "2025-12"],
    }


def test_control_month_has_little_drift(data: DemoData) -> None:
    jul = data.batches["2025-07"]
    for col in ["monthly_charges", "total_charges", "data_usage_gb", "tenure_months"]:
        assert _ks(data.train[col], jul[col]) < 0.04, col
    for col in CATEGORICAL:
        ref = data.train[col].value_counts(normalize=True).sort(col)
        cur = jul[col].value_counts(normalize=True).sort(col)
        assert ref[col].to_list() == cur[col].to_list()
        assert np.abs(ref["proportion"].to_numpy() - cur["proportion"].to_numpy()).max() < 0.03


def test_covariate_drift_grows(data: DemoData) -> None:
    usage_ks = [_ks(data.train["data_usage_gb"], data.batches[m]["data_usage_gb"]) for m in MONTHS]
    assert usage_ks[0] < 0.04
    assert usage_ks[-1] > 0.15
    assert usage_ks == sorted(usage_ks)
    # Prices climb every month (September is left out: its feed reports cents).
    charges = [data.batches[m]["monthly_charges"].mean() for m in MONTHS if m != "2025-09"]
    assert charges == sorted(charges)
    assert charges[-1] - data.train["monthly_charges"].mean() > 10
    fiber = [(data.batches[m]["internet_service"] == "Fiber optic").mean() for m in MONTHS]
    assert fiber[-1] - fiber[0] > 0.08


def test_broken_feed_month(data: DemoData) -> None:
    before = data.batches["2025-08"]["monthly_charges"].mean()
    broken = data.batches["2025-09"]["monthly_charges"].mean()
    after = data.batches["2025-10"]["monthly_charges"].mean()
    assert 80 < broken / before < 120
    assert 0.9 < after / before < 1.2
    null_share = {m: data.batches[m]["total_charges"].null_count() / 3_000 for m in MONTHS}
    assert 0.3 < null_share["2025-09"] < 0.5
    assert all(share == 0 for m, share in null_share.items() if m != "2025-09")
    # Only what is reported broke: the labels still follow the usual model.
    assert (
        abs(_churn(data.batches["2025-09"]).mean() - _churn(data.batches["2025-08"]).mean()) < 0.04
    )


def test_new_category_only_from_its_month(data: DemoData) -> None:
    def crypto_share(frame: pl.DataFrame) -> float:
        return float((frame["payment_method"] == "Crypto wallet").mean())

    assert crypto_share(data.train) == 0
    shares = [crypto_share(data.batches[m]) for m in MONTHS]
    assert shares[:3] == [0, 0, 0]
    assert all(s > 0.03 for s in shares[3:])
    assert shares[3] < shares[5]


def test_concept_drift_support_calls_stop_mattering(data: DemoData) -> None:
    def corr(frame: pl.DataFrame) -> float:
        return float(np.corrcoef(frame["support_calls"].to_numpy(), _churn(frame))[0, 1])

    def lift(frame: pl.DataFrame) -> float:
        """Churn rate of frequent callers over churn rate of customers who never call."""
        y = _churn(frame)
        calls = frame["support_calls"].to_numpy()
        return y[calls >= 3].mean() / y[calls == 0].mean()

    before = pl.concat([data.batches[m] for m in ["2025-07", "2025-08", "2025-10"]])
    after = pl.concat([data.batches[m] for m in ["2025-11", "2025-12"]])
    assert corr(data.train) > 0.15 and corr(before) > 0.15
    assert abs(corr(after)) < 0.07
    assert lift(data.train) > 2.0
    assert lift(after) < 1.4
    # The intercept compensation keeps the churn rate roughly steady across the change.
    oct_rate = _churn(data.batches["2025-10"]).mean()
    nov_rate = _churn(data.batches["2025-11"]).mean()
    assert abs(nov_rate - oct_rate) < 0.04


def _features(frame: pl.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Numeric matrix for LightGBM; categories become integer codes in a fixed order."""
    levels = {
        "contract": ["Month-to-month", "One year", "Two year"],
        "payment_method": list(demo_data.PAYMENTS) + [demo_data.NEW_PAYMENT],
        "internet_service": ["DSL", "Fiber optic", "None"],
        "gender": ["Female", "Male"],
        "region": list(demo_data.REGIONS),
    }
    x = frame.drop("customer_id", "observed_at", "churn").with_columns(
        pl.col(c).cast(pl.Enum(levels[c])).to_physical() for c in CATEGORICAL
    )
    return x.cast(pl.Float64).to_numpy(), x.columns


def test_lightgbm_learns_the_label(data: DemoData) -> None:
    import lightgbm as lgb

    x, names = _features(data.train)
    y = _churn(data.train)
    order = np.random.default_rng(0).permutation(len(y))
    fit, hold = order[:9_000], order[9_000:]
    params = {
        "objective": "binary",
        "num_leaves": 15,
        "learning_rate": 0.1,
        "min_data_in_leaf": 40,
        "num_threads": 2,
        "verbose": -1,
        "seed": 0,
    }
    train_set = lgb.Dataset(x[fit], y[fit], feature_name=names, categorical_feature=CATEGORICAL)
    model = lgb.train(params, train_set, num_boost_round=80)
    holdout_auc = _auc(y[hold], model.predict(x[hold]))
    assert holdout_auc >= 0.75

    # The control month scores like the holdout; concept drift costs AUC.
    def batch_auc(months: list[str]) -> float:
        frame = pl.concat([data.batches[m] for m in months])
        xb, _ = _features(frame)
        return _auc(_churn(frame), model.predict(xb))

    control = batch_auc(["2025-07"])
    drifted = batch_auc(["2025-11", "2025-12"])
    assert abs(control - holdout_auc) < 0.04
    assert drifted < control - 0.02


# --------------------------------------------------------------------------- files


def test_write_demo_files(tmp_path: Path, data: DemoData) -> None:
    paths = write_demo_files(tmp_path / "demo", seed=7)
    names = [p.name for p in paths]
    assert names == ["train.csv"] + [f"batch_{m.replace('-', '_')}.csv" for m in MONTHS]
    assert all(p.is_file() for p in paths)
    assert paths[0].read_text().splitlines()[0] == ",".join(COLUMNS)
    # A CSV import gives back the generated frames, nulls and dates included.
    back = pl.read_csv(paths[0], schema=COLUMNS)
    assert back.equals(data.train)
    broken = pl.read_csv(tmp_path / "demo" / "batch_2025_09.csv", schema=COLUMNS)
    assert broken.equals(data.batches["2025-09"])

    again = write_demo_files(tmp_path / "again", seed=7)
    for a, b in zip(paths, again, strict=True):
        assert a.read_bytes() == b.read_bytes()


def test_core_import_loads_no_ui_library() -> None:
    code = (
        "import sys, workbench.demo_data; "
        "bad = [m for m in ('textual', 'rich', 'click') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
