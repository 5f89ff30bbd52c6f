"""Importing the experiments package stays cheap and UI-free."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ["lightgbm", "mlflow", "sklearn", "polars", "pandas", "textual", "rich", "click"]


def test_import_is_light():
    code = (
        "import sys, workbench.experiments as e; e.Fields; e.compile_filter;"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_api_resolves():
    import workbench.experiments as e

    for name in e.__all__:
        assert getattr(e, name) is not None
    assert callable(e.train)
