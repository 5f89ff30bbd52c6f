"""Import hygiene: the core never loads UI libraries; heavy libraries load only where used."""

from __future__ import annotations

import subprocess
import sys

import pytest

CORE = [
    "workbench",
    "workbench.api",
    "workbench.store",
    "workbench.objects",
    "workbench.snapshots",
    "workbench.config",
    "workbench.demo",
    "workbench.drift",
    "workbench.experiments",
]
UI = ("textual", "rich", "click")
HEAVY = ("mlflow", "lightgbm", "evidently", "sklearn")


@pytest.mark.parametrize("module", CORE)
def test_core_imports_no_ui_or_heavy_library(module):
    code = f"import sys, {module}; print(','.join(m for m in {UI + HEAVY!r} if m in sys.modules))"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == ""


@pytest.mark.slow
def test_evidently_imports_with_installed_pandas():
    """evidently 0.7 fails to import with pandas 3; the pins must keep them compatible."""
    import evidently
    import pandas

    assert int(pandas.__version__.split(".")[0]) < 3
    from evidently import Report  # noqa: F401

    assert evidently.__version__.startswith("0.7")


def test_import_layers_contract():
    """import-linter's layer and forbidden contracts from pyproject.toml hold."""
    from pathlib import Path

    exe = Path(sys.executable).with_name("lint-imports")
    if not exe.exists():
        pytest.skip("import-linter is not installed")
    root = Path(__file__).resolve().parents[2]
    res = subprocess.run([str(exe)], cwd=root, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-2000:]
