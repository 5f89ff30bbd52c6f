"""Import hygiene: the estimators load none of their oracles, UI libraries or heavy
libraries, on import and (for CBPE) while they work. Each check runs in a fresh
interpreter, as a user's process would."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import workbench.monitoring

FORBIDDEN = (
    "sklearn",
    "scipy.stats",
    "nannyml",
    "mlflow",
    "evidently",
    "textual",
    "rich",
    "click",
)
MODULES = ["workbench.monitoring"] + [
    f"workbench.monitoring.{m.name}" for m in pkgutil.iter_modules(workbench.monitoring.__path__)
]


def _loaded(code: str) -> list[str]:
    """Forbidden modules in ``sys.modules`` after running ``code`` in a new interpreter."""
    check = f"{code}\nimport sys\nprint(','.join(m for m in {FORBIDDEN!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return [m for m in done.stdout.strip().split(",") if m]


@pytest.mark.parametrize("module", MODULES)
def test_importing_loads_nothing_forbidden(module):
    assert _loaded(f"import {module}") == []


def test_estimating_with_cbpe_loads_nothing_forbidden():
    code = """
from workbench.monitoring import CBPE, SizeChunker, binary_classification_data
reference, analysis = binary_classification_data(3000, 3000)
fitted = CBPE("y_pred_proba", "y_true", "y_pred", chunker=SizeChunker(500)).fit(reference)
fitted.estimate(analysis).to_polars()
"""
    assert _loaded(code) == []


def test_dle_in_a_lean_process_loads_neither_scikit_learn_nor_scipy_stats():
    """LightGBM itself imports scikit-learn when it can; CLI processes and workers import
    it lean (``experiments.lightgbm_import``), and DLE goes through that door."""
    code = """
from workbench.experiments.lightgbm_import import enable_lean_import
enable_lean_import()
from workbench.monitoring import DLE, SizeChunker, regression_data
reference, analysis = regression_data(2000, 2000)
features = ["x1", "x2", "x3", "segment"]
DLE(features, "y_pred", "y_true", chunker=SizeChunker(400)).fit(reference).estimate(analysis)
"""
    assert _loaded(code) == []
