"""Shared fixtures: real workspaces in temporary folders, the real CLI in subprocesses."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import run_cli

REPO = Path(__file__).resolve().parents[1]
TELCO = REPO.parent / "shared" / "datasets" / "telco_churn" / "Telco-Customer-Churn.csv"


@pytest.fixture(scope="session")
def _cache_home(tmp_path_factory) -> Path:
    """One cache folder per test session (the empty MLflow store is kept there)."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, _cache_home):
    """No test sees the developer's workspace, identity, MLflow server or cache."""
    for var in ("WORKBENCH_WORKSPACE", "MLFLOW_TRACKING_URI", "WORKBENCH_ACTOR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(_cache_home))


@pytest.fixture
def ws(tmp_path):
    """A fresh, empty workspace."""
    from workbench.api import Workspace

    return Workspace.init(tmp_path / "project")


@pytest.fixture
def cli():
    """The `run_cli` helper."""
    return run_cli


@pytest.fixture
def telco_csv():
    """The real Telco churn CSV from ../shared, or skip when it is absent."""
    if not TELCO.exists():
        pytest.skip("../shared/datasets/telco_churn is not present")
    return TELCO
