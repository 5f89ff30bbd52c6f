"""The registry core stays headless and light: no UI libraries, no MLflow or LightGBM on import."""

from __future__ import annotations

import subprocess
import sys

MODULES = [
    "workbench.registry",
    "workbench.registry.service",
    "workbench.registry.repository",
    "workbench.registry.models",
    "workbench.registry.aliases",
    "workbench.registry.roles",
    "workbench.registry.gates",
    "workbench.registry.evaluation",
    "workbench.registry.evidence",
    "workbench.registry.decisions",
    "workbench.registry.retrain",
    "workbench.registry.lineage",
    "workbench.registry.cards",
    "workbench.registry.mlflow_registry",
]
FORBIDDEN = ["textual", "rich", "click", "mlflow", "lightgbm", "sklearn"]


def test_registry_modules_import_no_ui_or_heavy_library():
    code = (
        "import sys\n"
        f"for m in {MODULES!r}: __import__(m)\n"
        f"print([m for m in {FORBIDDEN!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
