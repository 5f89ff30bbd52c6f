"""``workbench monitor`` and ``workbench alerts`` through the real entry point."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.helpers import run_cli
from tests.monitoring.story import build


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli") / "story"
    build(root)
    return root


def cli(root, *args):
    return run_cli("-w", str(root), *args, env={"WORKBENCH_ACTOR": "alice"})


def test_labels_report_check_and_alerts(root):
    labels = root / "data" / "labels_2025-07.csv"
    first = cli(root, "monitor", "labels", str(labels), "--key", "customer_id")
    assert first.returncode == 0, first.stderr
    assert "400 new, 0 corrected, 0 unchanged" in first.stdout and "coverage" in first.stdout
    again = cli(root, "monitor", "labels", str(labels), "--key", "customer_id", "--json")
    assert json.loads(again.stdout)["added"] == 0
    report = cli(root, "monitor", "report", "--json")
    assert report.returncode == 0, report.stderr
    data = json.loads(report.stdout)
    assert [w["window_key"] for w in data["windows"]][:2] == ["2025-07", "2025-08"]
    assert data["windows"][0]["realized"]["roc_auc"] > 0.7
    table = cli(root, "monitor", "report", "--by", "week")
    assert table.returncode == 0 and "2025-07-" in table.stdout
    check = cli(root, "monitor", "check", "--fail-on-alert")
    assert check.returncode == 1, check.stderr
    assert "FIRING" in check.stdout and "alert(s) firing" in check.stderr
    listed = cli(root, "alerts", "list", "--status", "firing", "--json")
    alert_id = json.loads(listed.stdout)[0]["id"]
    ack = cli(root, "alerts", "ack", str(alert_id), "-m", "looking")
    assert ack.returncode == 0 and f"acknowledged alert {alert_id}" in ack.stdout
    assert cli(root, "alerts", "ack", str(alert_id)).returncode == 2  # already acknowledged
    silence = cli(root, "alerts", "silence", str(alert_id), "--for", "2h")
    assert silence.returncode == 0 and "silenced churn-model" in silence.stdout
    backtest = cli(root, "monitor", "backtest", "--policy", "drift_share=0.2", "--json")
    assert json.loads(backtest.stdout)["policy"]["drift_share"] == 0.2
    bad = cli(root, "monitor", "backtest", "--policy", "nonsense=1")
    assert bad.returncode == 2 and "unknown policy setting" in bad.stderr
    test = cli(root, "alerts", "test")
    assert test.returncode == 2 and "no notification channel" in test.stderr


def test_watch_stops_cleanly_on_ctrl_c(root):
    env = {**os.environ, "WORKBENCH_ACTOR": "alice"}
    env.pop("WORKBENCH_WORKSPACE", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", "from workbench.cli.main import entry; entry()",
         "-w", str(root), "monitor", "watch", "--every", "1h"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    line = ""
    while time.monotonic() < deadline and "windows" not in line:
        line = proc.stdout.readline()  # the first check's summary
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "stopped after 1 check(s)" in err
