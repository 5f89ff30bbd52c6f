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
    "workbench.monitoring",
    "workbench.serving",
    "workbench.serving.service",
    "workbench.server",
    "workbench.server.app",
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


def test_loading_the_champion_imports_no_mlflow_evidence_or_ui(tmp_path):
    """The scoring server's start: resolve NAME@champion and load that version's booster.

    Done in a fresh interpreter over a real workspace with a registered, promoted model;
    none of mlflow, evidently, textual, rich or click may load (LightGBM and Polars must).
    """
    from tests.registry.conftest import FAST, SETTINGS, make_small_demo, open_as

    settings = f"{SETTINGS}\n[registry]\nmlflow = false\n"
    root = make_small_demo(tmp_path / "ws", ("2025-07",), settings)
    ws = open_as(root, "alice")
    run = ws.train("churn@v1", params=FAST, mlflow=False)
    mv = ws.register_model(run.id, "churn-model")
    ws.set_alias(mv.ref, "champion", "first")
    code = (
        "import sys\n"
        "from workbench.experiments.lightgbm_import import enable_lean_import\n"
        "enable_lean_import()  # as the CLI and the server do: LightGBM without scikit-learn\n"
        "from workbench.api import Workspace\n"
        f"ws = Workspace({str(root)!r})\n"
        "mv = ws.model('churn-model@champion')\n"
        "model = ws.run_model(mv.run_id)\n"
        "p = model.predict(ws.load('prod-2025-07'))\n"
        "assert len(p) == 300, len(p)\n"
        "print(','.join(sorted(m for m in ('mlflow', 'evidently', 'textual', 'rich', 'click', "
        "'lightgbm', 'polars') if m in sys.modules)))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip() == "lightgbm,polars"
