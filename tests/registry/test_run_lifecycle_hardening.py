"""Runs whose process was killed, and deleting runs: found trying the workbench as users would.

* A run whose process was killed stayed `running` forever; it shows as `interrupted`.
* `runs delete` had no role check and deleted the champion's run; after `gc`,
  `runs delete N --restore` exited 0 with the objects gone and `models promote` then crashed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.helpers import run_cli
from tests.registry.conftest import FAST, open_as, two_versions
from workbench.errors import InputError, IntegrityError, PermissionDenied

pytestmark = pytest.mark.slow

LONG = "learning_rate=0.000001,num_iterations=1000000,early_stopping_round=0,num_threads=1"


def _cli(root, *args):
    return run_cli("-w", str(root), *args, env={"OMP_WAIT_POLICY": "PASSIVE"})


def test_a_killed_training_shows_as_interrupted(tmp_path):
    root = two_versions(tmp_path / "ws", "alice")
    params = [a for kv in LONG.split(",") for a in ("-p", kv)]
    proc = subprocess.Popen(
        [sys.executable, "-c", "from workbench.cli.main import entry; entry()", "-w", str(root),
         "train", "churn@v1", "--no-mlflow", *params],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    ws = open_as(root, "alice")
    deadline = time.monotonic() + 120
    while not ws.runs("status = running").height:
        assert time.monotonic() < deadline and proc.poll() is None, "the training never started"
        time.sleep(0.1)
    run_id = int(ws.runs("status = running")["id"][0])
    assert ws.run(run_id).status == "running"  # alive: still running
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    rec = ws.run(run_id)
    assert rec.status == "interrupted"
    assert "interrupted" in (rec.reason or "")
    assert ws.runs("status = interrupted")["id"].to_list() == [run_id]
    assert ws.runs("status = running").height == 0
    listed = json.loads(_cli(root, "runs", "list", "--json").stdout)
    assert {r["id"]: r["status"] for r in listed}[run_id] == "interrupted"
    shown = _cli(root, "runs", "show", str(run_id))
    assert shown.returncode == 0 and "interrupted" in shown.stdout


def test_deleting_runs_needs_a_role_and_spares_registered_models(tmp_path):
    root = two_versions(tmp_path / "ws", "alice")
    alice = open_as(root, "alice")
    alice.set_alias("churn-model@v1", "champion", "first")
    champion_run = alice.model("churn-model@champion").run_id
    with pytest.raises(PermissionDenied, match="delete run needs developer"):
        open_as(root, "viewer-vic").delete_run(champion_run)
    bob = open_as(root, "bob")  # a developer
    with pytest.raises(InputError, match="backs churn-model@v1"):
        bob.delete_run(champion_run)
    assert not alice.run(champion_run).deleted
    # through the CLI: one line, exit 2, nothing changed
    res = _cli(root, "runs", "delete", str(champion_run))
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    assert not alice.run(champion_run).deleted


def test_restoring_a_run_whose_objects_gc_removed_is_refused(tmp_path):
    root = two_versions(tmp_path / "ws", "alice")
    ws = open_as(root, "alice")
    spare = ws.train("churn@v1", params=FAST, seed=9, mlflow=False)
    ws.delete_run(spare.id)
    ws.delete_run(spare.id, restore=True)  # objects still there: fine
    assert not ws.run(spare.id).deleted
    ws.delete_run(spare.id)
    removed = ws.gc()
    assert spare.model_hash in removed
    with pytest.raises(IntegrityError, match="removed by gc"):
        ws.delete_run(spare.id, restore=True)
    assert ws.run(spare.id).deleted  # nothing changed
    settings = root / ".workbench" / "workbench.toml"
    settings.write_text('actor = "alice"\n' + settings.read_text(), encoding="utf-8")
    res = _cli(root, "runs", "delete", str(spare.id), "--restore")
    assert res.returncode == 1 and "removed by gc" in res.stderr and "Traceback" not in res.stderr
    with pytest.raises(InputError, match="is deleted"):
        ws.register_model(spare.id, "churn-model")
    with pytest.raises(IntegrityError, match="missing"):
        ws.run_model(spare.id)
    assert ws.verify().ok
