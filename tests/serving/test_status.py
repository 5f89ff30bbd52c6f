"""Status files of running servers: written atomically, read back alive, dead ones removed."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from workbench.serving.status import StatusWriter, read_statuses

DESCRIBED = {
    "models": [
        {"role": "champion", "ref": "m@champion", "model": "m", "version": 3, "task": "binary",
         "since": "2026-01-02T03:04:05+00:00"},
        {"role": "canary", "ref": "m@challenger", "model": "m", "version": 4, "task": "binary",
         "since": "2026-01-02T03:04:06+00:00"},
    ],
    "canary": {"fraction": 0.1, "route_key": "customer_id", "salt": "x"},
}  # fmt: skip


def test_a_writer_publishes_what_serves_and_removes_its_file_when_stopped(tmp_path):
    counts = iter([(0, 0), (10, 1)])
    writer = StatusWriter(tmp_path, "http://127.0.0.1:9", lambda: DESCRIBED,
                          lambda: next(counts), interval=60)  # fmt: skip
    writer.start()
    writer.write()
    (status,) = read_statuses(tmp_path)
    assert status.roles() == {"champion": "m@v3", "canary": "m@v4"}
    assert (status.requests, status.errors) == (10, 1) and status.request_rate > 0
    line = status.summary()
    assert line.startswith("http://127.0.0.1:9 (pid ")
    assert "champion m@v3 since 03:04:05; canary 10% m@v4 since 03:04:06" in line
    assert not list(tmp_path.glob(".*.tmp"))  # written under a temporary name, renamed
    writer.stop()
    assert read_statuses(tmp_path) == [] and not writer.path.exists()


def test_files_of_dead_processes_go_and_silent_ones_are_not_shown(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    pid = int(dead.stdout)
    now = datetime.now(UTC)
    record = {"pid": pid, "host": __import__("socket").gethostname(), "address": "a",
              "started_at": now.isoformat(), "updated_at": now.isoformat(), "models": []}  # fmt: skip
    (tmp_path / f"{pid}.json").write_text(json.dumps(record))
    assert read_statuses(tmp_path) == []
    assert not (tmp_path / f"{pid}.json").exists()
    writer = StatusWriter(tmp_path, "b", lambda: DESCRIBED, lambda: (0, 0), interval=1)
    writer.write()
    assert len(read_statuses(tmp_path)) == 1
    assert read_statuses(tmp_path, now=now + timedelta(minutes=5)) == []  # stopped writing
    (tmp_path / "garbage.json").write_text("{not json")
    assert len(read_statuses(tmp_path)) == 1
