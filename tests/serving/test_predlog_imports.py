"""Import hygiene: the scoring server imports the prediction log and must start fast."""

from __future__ import annotations

import subprocess
import sys

import pytest

UI_AND_HEAVY = ("mlflow", "evidently", "textual", "rich", "click", "lightgbm", "sklearn")
DATA = ("polars", "pyarrow", "duckdb", "pandas", "numpy")


def loaded_after(code: str, watch: tuple[str, ...]) -> list[str]:
    """Which of ``watch`` a fresh interpreter has imported after running ``code``."""
    probe = f"{code}\nimport sys\nprint(','.join(m for m in {watch!r} if m in sys.modules))"
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return [m for m in res.stdout.strip().split(",") if m]


@pytest.mark.parametrize("module", ["workbench.serving", "workbench.serving.predlog"])
def test_importing_the_log_loads_no_ui_heavy_or_data_library(module):
    assert loaded_after(f"import {module}", UI_AND_HEAVY + DATA) == []


def test_writing_loads_polars_only(tmp_path):
    (tmp_path / ".workbench").mkdir()
    code = (
        "from workbench.serving import Prediction, open_prediction_log\n"
        f"with open_prediction_log({str(tmp_path)!r}) as log:\n"
        "    log.emit(Prediction('r', 'churn', 1, {'x': 1}))\n"
    )
    assert loaded_after(code, UI_AND_HEAVY + ("duckdb", "pandas")) == []
    assert list((tmp_path / ".workbench" / "predictions").rglob("*.parquet"))
