"""Shared fixtures: small generated frames, a real store in a temp workspace, one trained run."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # shared 2-core CI: do not spin

import numpy as np
import polars as pl
import pytest

from workbench.experiments import TrainSpec, train

FAST = {"num_threads": 2, "num_iterations": 60, "early_stopping_round": 10}


def churn_frame(n: int = 600, seed: int = 0) -> pl.DataFrame:
    """A binary problem with a text target, a categorical feature with nulls and an id."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.integers(0, 50, n)
    plan = rng.choice(["basic", "plus", "pro", "none"], n)
    logit = 1.5 * x1 + (plan == "pro") * 1.5 - (plan == "basic") * 1.0
    churn = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "Yes", "No")
    return pl.DataFrame(
        {"customer_id": np.arange(n), "x1": x1, "x2": x2, "plan": plan, "churn": churn}
    ).with_columns(plan=pl.when(pl.col("plan") == "none").then(None).otherwise(pl.col("plan")))


@pytest.fixture(scope="session")
def churn() -> pl.DataFrame:
    return churn_frame()


@pytest.fixture(scope="session")
def churn_result(churn):
    spec = TrainSpec(target="churn", exclude=["customer_id"], params=dict(FAST))
    return train(churn, spec)


@pytest.fixture
def workspace(tmp_path):
    (tmp_path / ".workbench").mkdir()
    return tmp_path


@pytest.fixture
def store(workspace):
    from workbench.store import Store

    return Store(workspace / ".workbench" / "meta.duckdb")


@pytest.fixture
def objects(workspace):
    from workbench.objects import ObjectStore

    root = workspace / ".workbench"
    return ObjectStore(root / "objects", root / "tmp")


# -- facade, CLI and notebook tests: a small demo-like snapshot in a real workspace ------------


@pytest.fixture(scope="session")
def demo_csv(tmp_path_factory):
    """The demo generator's training frame, small, as the CSV a user would import."""
    from workbench.demo_data import generate

    path = tmp_path_factory.mktemp("demo") / "train.csv"
    generate(7, n_train=2000, n_per_batch=200).train.write_csv(path)
    return path


@pytest.fixture
def demo_ws(tmp_path, demo_csv):
    """A fresh workspace holding ``churn@v1`` (target churn, key customer_id, time observed_at)."""
    from workbench.api import Workspace

    ws = Workspace.init(tmp_path / "project")
    ws.add_snapshot(demo_csv, "churn", target="churn", time_column="observed_at", key="customer_id")
    return ws
