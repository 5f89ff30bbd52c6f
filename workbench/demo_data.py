"""Seeded demo data: a synthetic customer-churn table with planted monitoring scenarios.

The project ships no third-party data, so ``workbench demo PATH`` builds its demo
workspace from this generator. Everything is drawn from ``numpy.random.default_rng(seed)``,
so the same seed always gives byte-identical frames and CSV files.

What comes out (see ``data/README.md`` for the full story):

* a training period of about 12,000 customers observed between January and June 2025;
* six labelled monthly production batches, July to December 2025, of about 3,000 rows each.
  Each batch carries one or more planted scenarios (covariate drift, a broken upstream
  feed, a new category value, concept drift) and July is a clean control month.

The label comes from a documented logistic model (``LABEL_MODEL``) over the *true* feature
values. A broken feed corrupts only what is reported, not the world, so the labels of the
broken month still follow the usual model.

This module is core: it imports only numpy and polars (never textual, rich or click) and is
fast (well under a second for the full default data set).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from .errors import InputError

__all__ = [
    "COLUMNS",
    "LABEL_MODEL",
    "BatchInfo",
    "DemoData",
    "batch_descriptions",
    "generate",
    "write_demo_files",
]

DEFAULT_SEED = 7

#: Column name -> Polars dtype, in file order. Categories are kept as plain strings so the
#: in-memory frames match what a CSV import gives back.
COLUMNS: dict[str, pl.DataType] = {
    "customer_id": pl.String(),
    "observed_at": pl.Date(),
    "tenure_months": pl.Int64(),
    "monthly_charges": pl.Float64(),
    "total_charges": pl.Float64(),
    "contract": pl.String(),
    "payment_method": pl.String(),
    "internet_service": pl.String(),
    "senior_citizen": pl.Int64(),
    "gender": pl.String(),
    "region": pl.String(),
    "support_calls": pl.Int64(),
    "data_usage_gb": pl.Float64(),
    "churn": pl.String(),
}

TARGET = "churn"
TIME_COLUMN = "observed_at"
ID_COLUMN = "customer_id"
SENSITIVE_COLUMNS = ("gender",)

CONTRACTS = ("Month-to-month", "One year", "Two year")
CONTRACT_P = (0.55, 0.25, 0.20)
# Mean tenure by contract: long contracts belong to long-standing customers.
CONTRACT_TENURE_MEAN = (14.0, 32.0, 48.0)

PAYMENTS = (
    "Electronic check",
    "Mailed check",
    "Bank transfer (automatic)",
    "Credit card (automatic)",
)
PAYMENT_P = (0.34, 0.23, 0.22, 0.21)
NEW_PAYMENT = "Crypto wallet"

INTERNET = ("DSL", "Fiber optic", "None")
INTERNET_P = (0.35, 0.45, 0.20)
# Plan price by internet service (dollars per month): mean and spread.
CHARGE_MEAN = (55.0, 85.0, 22.0)
CHARGE_SD = (10.0, 12.0, 4.0)
# Median monthly data use by internet service; "None" uses no data.
USAGE_MEDIAN_GB = (18.0, 45.0, 0.0)
USAGE_SIGMA = 0.7

GENDERS = ("Female", "Male")
REGIONS = ("North", "South", "East", "West")
REGION_P = (0.28, 0.26, 0.24, 0.22)
SENIOR_P = 0.16
# Support calls are Poisson; fibre customers call a bit more (install and outage issues).
SUPPORT_BASE_RATE = 1.0
SUPPORT_FIBER_EXTRA = 0.3
SUPPORT_MAX = 8

#: The churn label model: P(churn) = sigmoid(logit), logit = sum of these terms plus
#: N(0, noise_sd) unobserved noise (the "things we cannot measure" that keep AUC near 0.82-0.84).
#: Gender has no term on purpose: a fair model has nothing real to learn from it.
LABEL_MODEL: dict[str, Any] = {
    "intercept": -1.65,
    "contract": {"Month-to-month": 1.2, "One year": -0.4, "Two year": -1.8},
    "tenure_months_per_month": -0.035,
    "monthly_charges_per_dollar_over_65": 0.02,
    "internet_service": {"DSL": 0.0, "Fiber optic": 0.4, "None": -0.35},
    "payment_method": {
        "Electronic check": 0.45,
        "Mailed check": 0.1,
        "Bank transfer (automatic)": -0.2,
        "Credit card (automatic)": -0.2,
        NEW_PAYMENT: 0.6,
    },
    "senior_citizen": 0.35,
    "support_calls_per_call": 0.65,
    "log1p_data_usage_gb": -0.2,
    "region": {"North": 0.0, "South": 0.15, "East": -0.1, "West": 0.05},
    "noise_sd": 0.3,
    # Concept drift: from this month on, support calls stop predicting churn (a new support
    # process fixes problems on the first call). The intercept rises by the lost average
    # contribution so the churn *rate* stays about the same and only the relationship moves.
    "concept_drift_from": "2025-11",
    "support_calls_per_call_after_drift": 0.0,
}

TRAIN_START = dt.date(2025, 1, 1)
TRAIN_END = dt.date(2025, 6, 30)
BATCH_MONTHS = ("2025-07", "2025-08", "2025-09", "2025-10", "2025-11", "2025-12")

# Covariate drift starts in August and grows by one step a month: prices go up, people use
# more data and fibre takes share from DSL. July has step 0 (the control month).
DRIFT_STEP = {"2025-07": 0, "2025-08": 1, "2025-09": 2, "2025-10": 3, "2025-11": 4, "2025-12": 5}
DRIFT_CHARGE_PER_STEP = 2.5  # dollars added to every plan per step
DRIFT_USAGE_PER_STEP = 1.12  # multiplicative growth of data use per step
DRIFT_FIBER_PER_STEP = 0.025  # share moved from DSL to fibre per step

BROKEN_MONTH = "2025-09"
BROKEN_UNIT_FACTOR = 100  # monthly_charges arrive in cents
BROKEN_NULL_COLUMN = "total_charges"
BROKEN_NULL_SHARE = 0.4

NEW_CATEGORY_FROM = "2025-10"
# Share of customers paying by crypto wallet, by month (taken from electronic checks).
NEW_CATEGORY_SHARE = {"2025-10": 0.06, "2025-11": 0.09, "2025-12": 0.12}


@dataclass(frozen=True)
class BatchInfo:
    """What a production batch contains, for the TUI, notebooks and the README.

    ``month`` is ``"YYYY-MM"``; ``scenarios`` are short machine tags (``"control"``,
    ``"covariate_drift"``, ``"broken_feed"``, ``"new_category"``, ``"concept_drift"``);
    ``description`` is a sentence or two a learner can read.
    """

    month: str
    label: str
    file_name: str
    title: str
    scenarios: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class DemoData:
    """The generated demo data: a training frame and one labelled frame per month."""

    seed: int
    train: pl.DataFrame
    batches: dict[str, pl.DataFrame]
    descriptions: list[BatchInfo] = field(default_factory=list)

    def batch(self, month: str) -> pl.DataFrame:
        """Return the batch for ``month`` (``"2025-07"`` ... ``"2025-12"``)."""
        try:
            return self.batches[month]
        except KeyError:
            raise InputError(
                f"no demo batch for month {month!r}",
                hint=f"choose one of {', '.join(self.batches)}",
            ) from None


def batch_descriptions() -> list[BatchInfo]:
    """Describe each monthly batch: its month, file name and the scenario planted in it.

    The text does not depend on the seed: the scenarios are fixed, only the draws change.
    """
    texts = {
        "2025-07": (
            "Control month",
            ("control",),
            "Drawn from the same process as the training period. Drift checks should stay "
            "quiet and model performance should match the holdout.",
        ),
        "2025-08": (
            "Covariate drift begins",
            ("covariate_drift",),
            f"Prices rise by ${DRIFT_CHARGE_PER_STEP:.2f}, data use grows "
            f"{DRIFT_USAGE_PER_STEP - 1:.0%} and fibre gains {DRIFT_FIBER_PER_STEP * 100:.1f} "
            "points of share from DSL, and the same again every month after. Small shifts in monthly_charges, total_charges, data_usage_gb and "
            "internet_service; labels still follow the training model.",
        ),
        "2025-09": (
            "Broken upstream feed",
            ("covariate_drift", "broken_feed"),
            "The billing feed reports monthly_charges in cents (x100) and drops "
            f"total_charges for about {BROKEN_NULL_SHARE:.0%} of rows (nulls). The customers "
            "themselves are normal; covariate drift keeps growing underneath.",
        ),
        "2025-10": (
            "New payment method",
            ("covariate_drift", "new_category"),
            f"The feed is fixed. payment_method has a new value, '{NEW_PAYMENT}' (about 6% of "
            "rows, taken from electronic checks), never seen in training; those customers "
            "churn more. Covariate drift keeps growing.",
        ),
        "2025-11": (
            "Concept drift",
            ("covariate_drift", "new_category", "concept_drift"),
            "A new support process: support_calls no longer predicts churn. The churn rate "
            "stays about the same but the relationship changed, so a model trained on the "
            f"first half-year loses AUC. '{NEW_PAYMENT}' grows to about 9%.",
        ),
        "2025-12": (
            "All drift at its peak",
            ("covariate_drift", "new_category", "concept_drift"),
            f"Strongest covariate drift (prices +${5 * DRIFT_CHARGE_PER_STEP:.2f}, data use "
            f"x{DRIFT_USAGE_PER_STEP**5:.2f} vs training), "
            f"'{NEW_PAYMENT}' at about 12%, and support_calls still irrelevant to churn.",
        ),
    }
    out = []
    for month in BATCH_MONTHS:
        title, tags, text = texts[month]
        d = dt.date.fromisoformat(month + "-01")
        out.append(
            BatchInfo(
                month=month,
                label=d.strftime("%b %Y"),
                file_name=f"batch_{month.replace('-', '_')}.csv",
                title=title,
                scenarios=tags,
                description=text,
            )
        )
    return out


def generate(
    seed: int = DEFAULT_SEED, *, n_train: int = 12_000, n_per_batch: int = 3_000
) -> DemoData:
    """Generate the churn demo data: a training frame and six labelled monthly batches.

    Args:
        seed: seed for ``numpy.random.default_rng``; the same seed gives identical frames.
        n_train: rows in the training period (January to June 2025).
        n_per_batch: rows in each monthly batch (July to December 2025).

    Returns:
        A ``DemoData`` with ``train``, ``batches`` (keyed ``"2025-07"`` ... ``"2025-12"``,
        in month order) and ``descriptions`` (one ``BatchInfo`` per batch).
    """
    if n_train < 1 or n_per_batch < 1:
        raise InputError(
            "demo data needs at least one row per frame",
            hint="pass positive n_train and n_per_batch",
        )
    # One child generator per frame: each frame's draws depend only on the seed and its own
    # size, so a different training size leaves the batches' values unchanged (ids shift).
    children = np.random.default_rng(seed).spawn(1 + len(BATCH_MONTHS))

    train = _frame(
        children[0],
        n_train,
        start=TRAIN_START,
        end=TRAIN_END,
        month=None,
        first_id=1,
    )
    batches: dict[str, pl.DataFrame] = {}
    next_id = n_train + 1
    for rng, month in zip(children[1:], BATCH_MONTHS, strict=True):
        start = dt.date.fromisoformat(month + "-01")
        end = _month_end(start)
        batches[month] = _frame(
            rng, n_per_batch, start=start, end=end, month=month, first_id=next_id
        )
        next_id += n_per_batch
    return DemoData(seed=seed, train=train, batches=batches, descriptions=batch_descriptions())


def write_demo_files(folder: Path, seed: int = DEFAULT_SEED) -> list[Path]:
    """Write the demo data as CSV files a user would import, and return their paths.

    Writes ``train.csv`` and one ``batch_YYYY_MM.csv`` per month into ``folder`` (created if
    missing), each with a header row. Nulls are written as empty fields and dates as
    ``YYYY-MM-DD``. The same seed gives byte-identical files.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = generate(seed)
    paths = [folder / "train.csv"]
    data.train.write_csv(paths[0])
    for info in data.descriptions:
        path = folder / info.file_name
        data.batches[info.month].write_csv(path)
        paths.append(path)
    return paths


# --------------------------------------------------------------------------- internals


def _month_end(first: dt.date) -> dt.date:
    nxt = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def _pick(rng: np.random.Generator, n: int, p: np.ndarray) -> np.ndarray:
    """Draw ``n`` category indices with probabilities ``p``."""
    return rng.choice(len(p), size=n, p=p / p.sum())


def _frame(
    rng: np.random.Generator,
    n: int,
    *,
    start: dt.date,
    end: dt.date,
    month: str | None,
    first_id: int,
) -> pl.DataFrame:
    """Draw ``n`` customers observed in ``[start, end]``; ``month`` None means training."""
    step = DRIFT_STEP.get(month, 0) if month else 0
    concept_drift = month is not None and month >= str(LABEL_MODEL["concept_drift_from"])
    m = LABEL_MODEL

    days = (end - start).days + 1
    observed = np.datetime64(start, "D") + np.sort(rng.integers(0, days, size=n))

    gender = rng.integers(0, 2, size=n)
    senior = (rng.random(n) < SENIOR_P).astype(np.int64)
    region = _pick(rng, n, np.array(REGION_P))

    contract = _pick(rng, n, np.array(CONTRACT_P))
    # Gamma with shape 1.5 gives the right-skewed tenure of a real customer base.
    tenure_mean = np.array(CONTRACT_TENURE_MEAN)[contract]
    tenure = np.clip(np.rint(rng.gamma(1.5, tenure_mean / 1.5)), 0, 72).astype(np.int64)

    internet_p = np.array(INTERNET_P)
    internet_p[0] -= DRIFT_FIBER_PER_STEP * step
    internet_p[1] += DRIFT_FIBER_PER_STEP * step
    internet = _pick(rng, n, internet_p)

    payment_p = np.array(PAYMENT_P + (0.0,))
    crypto = NEW_CATEGORY_SHARE.get(month, 0.0) if month else 0.0
    payment_p[0] -= crypto  # early adopters come from electronic checks
    payment_p[4] = crypto
    payment = _pick(rng, n, payment_p)

    charges = rng.normal(np.array(CHARGE_MEAN)[internet], np.array(CHARGE_SD)[internet])
    charges = np.round(np.maximum(charges, 15.0) + DRIFT_CHARGE_PER_STEP * step, 2)
    # Customers' past bills vary a little around today's price.
    total = np.round(charges * np.maximum(tenure, 1) * rng.uniform(0.93, 1.03, size=n), 2)

    support_rate = SUPPORT_BASE_RATE + SUPPORT_FIBER_EXTRA * (internet == 1)
    support = np.minimum(rng.poisson(support_rate), SUPPORT_MAX).astype(np.int64)

    usage_median = np.array(USAGE_MEDIAN_GB)[internet] * DRIFT_USAGE_PER_STEP**step
    usage = np.round(usage_median * rng.lognormal(0.0, USAGE_SIGMA, size=n), 2)

    # Label: logistic model over the true values (before any feed corruption below).
    support_coef = float(m["support_calls_per_call"])
    intercept = float(m["intercept"])
    if concept_drift:
        new_coef = float(m["support_calls_per_call_after_drift"])
        mean_calls = SUPPORT_BASE_RATE + SUPPORT_FIBER_EXTRA * INTERNET_P[1]
        intercept += (support_coef - new_coef) * mean_calls
        support_coef = new_coef
    logit = (
        intercept
        + _lookup(m["contract"], CONTRACTS)[contract]
        + float(m["tenure_months_per_month"]) * tenure
        + float(m["monthly_charges_per_dollar_over_65"]) * (charges - 65.0)
        + _lookup(m["internet_service"], INTERNET)[internet]
        + _lookup(m["payment_method"], PAYMENTS + (NEW_PAYMENT,))[payment]
        + float(m["senior_citizen"]) * senior
        + support_coef * support
        + float(m["log1p_data_usage_gb"]) * np.log1p(usage)
        + _lookup(m["region"], REGIONS)[region]
        + rng.normal(0.0, float(m["noise_sd"]), size=n)
    )
    churn = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))

    # The broken feed: the world is normal, the report is not.
    charges_out = charges
    total_out = total
    if month == BROKEN_MONTH:
        charges_out = np.round(charges * BROKEN_UNIT_FACTOR, 0)
        # NaN marks the dropped values; it becomes a real null once in Polars.
        total_out = np.where(rng.random(n) < BROKEN_NULL_SHARE, np.nan, total)

    return pl.DataFrame(
        {
            "customer_id": [f"CUST-{i:06d}" for i in range(first_id, first_id + n)],
            "observed_at": observed,
            "tenure_months": tenure,
            "monthly_charges": charges_out,
            "total_charges": total_out,
            "contract": np.array(CONTRACTS)[contract],
            "payment_method": np.array(PAYMENTS + (NEW_PAYMENT,))[payment],
            "internet_service": np.array(INTERNET)[internet],
            "senior_citizen": senior,
            "gender": np.array(GENDERS)[gender],
            "region": np.array(REGIONS)[region],
            "support_calls": support,
            "data_usage_gb": usage,
            "churn": np.where(churn, "Yes", "No"),
        },
        schema=COLUMNS,
    ).with_columns(pl.col(BROKEN_NULL_COLUMN).fill_nan(None))


def _lookup(effects: object, levels: tuple[str, ...]) -> np.ndarray:
    assert isinstance(effects, dict)
    return np.array([float(effects[level]) for level in levels])
