"""Shared fixtures for drift tests: generated data and Evidently as the oracle."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import polars as pl
import pytest

from workbench.drift import METHODS

_BY_DISPLAY = {m.display_name: m.name for m in METHODS.values()}

NUMERIC_COLS = ["normal", "skewed", "heavy", "dirty", "few_float", "constant", "int_many"]
CATEG_COLS = ["int_few", "binary", "flag", "letters", "yes_no", "newcat"]


def make_frame(n: int, seed: int, shift: float = 0.0) -> pl.DataFrame:
    """Columns of every kind the spec names; ``shift`` moves most of them."""
    rng = np.random.default_rng(seed)
    dirty = rng.normal(shift, 1, n)
    dirty[rng.random(n) < 0.05] = np.nan
    dirty[rng.random(n) < 0.01] = np.inf
    dirty[rng.random(n) < 0.01] = -np.inf
    letters = np.array(list("abcde"))
    p = [0.4, 0.3, 0.15, 0.1, 0.05] if shift == 0 else [0.3, 0.3, 0.2, 0.1, 0.1]
    newcat = rng.choice(["u", "v", "w"] if shift else ["u", "v"], n)
    return pl.DataFrame(
        {
            "normal": rng.normal(shift, 1, n),
            "skewed": rng.lognormal(shift, 0.8, n),
            "heavy": rng.standard_t(1.5, n) + shift,
            "dirty": dirty,
            "few_float": rng.choice([0.5, 1.5, 2.5, 3.5] if shift else [0.5, 1.5, 2.5], n),
            "constant": np.full(n, 3.0),
            "int_many": rng.integers(0, 60 + int(20 * shift), n),
            "int_few": rng.integers(0, 4, n),
            "binary": (rng.random(n) < 0.3 + 0.2 * shift).astype(np.int64),
            "flag": rng.random(n) < 0.5,
            "letters": rng.choice(letters, n, p=p),
            "yes_no": rng.choice(["yes", "no"], n),
            "newcat": newcat,
        }
    )


@pytest.fixture(scope="session")
def no_evidently_widgets():
    """Skip Evidently's plotly rendering (80% of its run time); numbers are unaffected."""
    from evidently.metrics.column_statistics import ValueDriftCalculation

    mp = pytest.MonkeyPatch()
    mp.setattr(ValueDriftCalculation, "_render", lambda self, *a, **k: [])
    yield
    mp.undo()


@pytest.fixture(scope="session")
def evidently_oracle(no_evidently_widgets) -> Callable[..., dict]:
    """Run Evidently; return {(column, method or None): (score, drifted, method name)}."""

    def run(
        ref: pl.DataFrame,
        cur: pl.DataFrame,
        pairs: Sequence[tuple[str, str | None]],
        numerical: Sequence[str] | None = None,
        categorical: Sequence[str] | None = None,
    ) -> dict:
        from evidently import DataDefinition, Dataset, Report
        from evidently.metrics import ValueDrift

        definition = None
        if numerical is not None or categorical is not None:
            definition = DataDefinition(
                numerical_columns=list(numerical or []),
                categorical_columns=list(categorical or []),
            )
        metrics = [ValueDrift(column=c, method=m) for c, m in pairs]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            snap = Report(metrics, include_tests=True).run(
                Dataset.from_pandas(cur.to_pandas(), data_definition=definition),
                Dataset.from_pandas(ref.to_pandas(), data_definition=definition),
            )
        return _parse(snap.dict(), pairs)

    return run


def _parse(d: dict, pairs: Sequence[tuple[str, str | None]]) -> dict:
    status = {t["metric_config"]["metric_id"]: t["status"] for t in d["tests"]}
    out = {}
    for (col, method), m in zip(pairs, d["metrics"], strict=True):
        resolved = m["config"]["method"]
        name = _BY_DISPLAY.get(resolved, resolved)
        out[(col, method)] = (float(m["value"]), status[m["id"]] == "FAIL", name)
    return out


@pytest.fixture(scope="session")
def evidently_preset(no_evidently_widgets) -> Callable[..., dict]:
    """Run Evidently's DataDriftPreset with defaults; return per-column and dataset results."""

    def run(ref: pl.DataFrame, cur: pl.DataFrame, **preset_kwargs) -> dict:
        from evidently import Dataset, Report
        from evidently.presets import DataDriftPreset

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            snap = Report([DataDriftPreset(**preset_kwargs)], include_tests=True).run(
                Dataset.from_pandas(cur.to_pandas()), Dataset.from_pandas(ref.to_pandas())
            )
        d = snap.dict()
        status = {t["metric_config"]["metric_id"]: t["status"] for t in d["tests"]}
        cols, share = {}, None
        for m in d["metrics"]:
            cfg = m["config"]
            if cfg["type"].endswith("DriftedColumnsCount"):
                share = m["value"]
                continue
            name = _BY_DISPLAY.get(cfg["method"], cfg["method"])
            cols[cfg["column"]] = (float(m["value"]), status.get(m["id"]) == "FAIL", name)
        return {"columns": cols, "count": share["count"], "share": share["share"]}

    return run
