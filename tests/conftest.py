"""Shared fixtures: real workspaces in temporary folders, the real CLI in subprocesses.

Also the test tiers (docs/architecture.md, "Tests"): every test gets one of the markers
``unit``, ``cli``, ``tui`` or ``notebook`` here, from where it lives and what it runs, so no
test file has to remember it; ``slow`` is set by hand on the long ones.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from types import CodeType

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


# -- tiers -----------------------------------------------------------------------------------

#: names of the helpers that run the real entry point in a subprocess
_CLI_HELPERS = frozenset({"run_cli", "run_cli_tty"})


def _runs_the_cli(code: CodeType, module: dict, seen: set[CodeType]) -> bool:
    """Whether ``code`` (or a function or helper of its module that it calls) starts the real
    CLI: it calls ``run_cli``/``run_cli_tty`` or holds a ``workbench.cli`` command line."""
    if code in seen:
        return False
    seen.add(code)
    if _CLI_HELPERS.intersection(code.co_names):
        return True
    for const in code.co_consts:
        if isinstance(const, str) and "workbench.cli" in const:
            return True
        if isinstance(const, CodeType) and _runs_the_cli(const, module, seen):
            return True
    for name in code.co_names:
        helper = module.get(name)
        if (
            inspect.isfunction(helper)
            and helper.__module__ == module.get("__name__")
            and _runs_the_cli(helper.__code__, module, seen)
        ):
            return True
    return False


def _tier(item: pytest.Item) -> str:
    """The tier of a test: tui, notebook or cli by where it lives and what it runs, else unit."""
    path = Path(str(item.path))
    if "tui" in path.relative_to(REPO / "tests").parts:
        return "tui"
    if "notebook" in path.stem:
        return "notebook"
    function = getattr(item, "function", None)
    if "cli" in getattr(item, "fixturenames", ()) or (
        function is not None and _runs_the_cli(function.__code__, function.__globals__, set())
    ):
        return "cli"
    return "unit"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its tier, unless it is marked with one already."""
    tiers = ("unit", "cli", "tui", "notebook")
    for item in items:
        if not any(item.get_closest_marker(t) for t in tiers):
            item.add_marker(_tier(item))
