"""LightGBM without scikit-learn in the workbench's own processes, as usual elsewhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.util import find_spec

import numpy as np
import pytest

from tests.experiments.test_cli import ENV, FAST

# without scikit-learn there is nothing to skip (found, not imported: importing it at
# collection cost every xdist worker a second)
pytestmark = pytest.mark.skipif(find_spec("sklearn") is None, reason="scikit-learn is absent")

TRAIN_TINY = """
import numpy as np
lgb = import_lightgbm()
x = np.arange(40.0).reshape(20, 2)
booster = lgb.train({"verbosity": -1, "num_iterations": 3, "min_data_in_leaf": 2},
                    lgb.Dataset(x, np.arange(20.0) % 2))
print(json.dumps({"sklearn_at_import": sklearn_at_import,
                  "lgb_sees_sklearn": lgb.compat.SKLEARN_INSTALLED,
                  "trees": booster.num_trees()}))
"""


@pytest.mark.parametrize("lean", [True, False], ids=["lean", "as-usual"])
@pytest.mark.slow
def test_lightgbm_import_hides_sklearn_only_when_lean(lean):
    """Lean: LightGBM sees no scikit-learn, which stays importable; otherwise as usual."""
    code = (
        "import json, sys\n"
        "from workbench.experiments.lightgbm_import import enable_lean_import, import_lightgbm\n"
        + ("enable_lean_import()\n" if lean else "")
        + "import_lightgbm()\n"
        "sklearn_at_import = 'sklearn' in sys.modules\n"
        "import sklearn.base  # importable afterwards either way\n" + TRAIN_TINY
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found == {"sklearn_at_import": not lean, "lgb_sees_sklearn": not lean, "trees": 3}


@pytest.mark.slow
def test_cli_training_skips_sklearn_and_its_mlflow_model_predicts_like_ours(demo_ws):
    import mlflow

    ws = demo_ws
    probe = "import atexit, sys; atexit.register(lambda: print('sklearn' in sys.modules))\n"
    done = subprocess.run(
        [sys.executable, "-c", probe + "from workbench.cli.main import entry; entry()",
         "-w", str(ws.root), "train", "churn@v1", *FAST, "--json"],
        capture_output=True, text=True, env={**os.environ, **ENV}, check=True,
    )  # fmt: skip
    *printed, sklearn_loaded = done.stdout.strip().splitlines()
    assert sklearn_loaded == "False"
    run_id = json.loads("\n".join(printed))["id"]
    holdout = ws.run_holdout(run_id)
    ours = ws.run_model(run_id)
    mlflow.set_tracking_uri(ws.mlflow_tracking_uri)
    try:
        loaded = mlflow.pyfunc.load_model(ws.run_model_uri(run_id))
    finally:
        mlflow.set_tracking_uri(None)
    theirs = loaded.predict(holdout.to_pandas())["probability"].to_numpy()
    assert np.array_equal(theirs, ours.predict(holdout))
