"""Real server processes on 127.0.0.1: a lean process, signals, workers, binding rules."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.serving.serving_helpers import (
    NAME,
    REPO,
    free_port,
    records,
    served_demo,
    start_server,
    stop_server,
)
from workbench.api import Workspace

FORBIDDEN = ("mlflow", "evidently", "textual", "rich", "click", "sklearn")
PROBE = (
    "import atexit, sys\n"
    f"atexit.register(lambda: print('loaded:' + ','.join(m for m in {FORBIDDEN!r} "
    "if m in sys.modules), flush=True))\n"
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Workspace:
    return Workspace(served_demo(tmp_path_factory.mktemp("process") / "ws"))


@pytest.fixture(scope="module")
def rows(demo):
    return records(demo.load("prod-2025-07"))


def _logged(ws, ids):
    frame = ws.predictions(NAME)
    return frame.filter(frame["request_id"].is_in(ids))


def test_the_server_process_stays_lean_and_sigterm_writes_every_answer(demo, rows):
    proc, port = start_server(demo.root, "--model", f"{NAME}@champion", probe=PROBE)
    url = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=url) as client:
        ids = [client.post("/predict", json=r).json()["request_id"] for r in rows[:50]]
    code, out, err = stop_server(proc)
    assert code == 0, err
    assert "loaded:\n" in out + "\n" and out.strip().endswith("loaded:"), out
    assert _logged(demo, ids).height == 50
    assert not list((demo.dir / "serving").glob("*.json"))  # the status file is gone


def test_ctrl_c_also_writes_every_answer(demo, rows):
    proc, port = start_server(demo.root, "--model", f"{NAME}@champion")
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        ids = [client.post("/predict", json=r).json()["request_id"] for r in rows[:20]]
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=120)
    assert _logged(demo, ids).height == 20


def test_the_status_file_says_what_serves_and_how_fast(demo, rows):
    proc, port = start_server(demo.root, "--model", f"{NAME}@champion", "--shadow",
                              f"{NAME}@challenger")  # fmt: skip
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            for r in rows[:40]:
                client.post("/predict", json=r)
        deadline = time.monotonic() + 15
        status = []
        while time.monotonic() < deadline:
            status = demo.serving_status()
            if status and status[0].requests >= 40:
                break
            time.sleep(0.3)
        (one,) = status
        assert one.pid == proc.pid and one.address == f"http://127.0.0.1:{port}"
        assert one.roles() == {"champion": f"{NAME}@v1", "shadow": f"{NAME}@v2"}
        assert one.requests >= 40
    finally:
        stop_server(proc)
    assert demo.serving_status() == []


def test_binding_beyond_loopback_needs_a_token(demo, rows):
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("WORKBENCH_SERVE_TOKEN", None)
    refused = subprocess.run(
        [sys.executable, "-m", "workbench.server", "--workspace", str(demo.root),
         "--host", "0.0.0.0", "--port", str(port)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert refused.returncode == 2
    assert "bearer token" in refused.stderr
    token = "a-long-enough-test-token"
    proc, port = start_server(demo.root, "--host", "0.0.0.0", env={"WORKBENCH_SERVE_TOKEN": token})
    try:
        url = f"http://127.0.0.1:{port}/predict"
        assert httpx.post(url, json=rows[0]).status_code == 401
        ok = httpx.post(url, json=rows[0], headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200
    finally:
        stop_server(proc)


def test_two_workers_share_the_port_and_both_write_the_log(demo, rows):
    proc, port = start_server(demo.root, "--model", f"{NAME}@champion", "--workers", "2")
    try:
        deadline = time.monotonic() + 60
        while len(demo.serving_status()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(demo.serving_status()) == 2
        ids = []
        for r in rows[:80]:  # a new connection each time: the kernel spreads them
            ids.append(httpx.post(f"http://127.0.0.1:{port}/predict", json=r).json()["request_id"])
    finally:
        code, _, err = stop_server(proc)
    assert code == 0, err
    assert _logged(demo, ids).height == 80
    assert demo.serving_status() == []


def test_workbench_serve_becomes_the_server_process(demo, rows):
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from workbench.cli.main import entry; entry()",
         "-w", str(demo.root), "serve", "--model", f"{NAME}@champion", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        command = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
        assert b"workbench.server" in command  # same pid: a supervisor's SIGTERM reaches it
        assert httpx.post(f"http://127.0.0.1:{port}/predict", json=rows[0]).status_code == 200
    finally:
        code, _, err = stop_server(proc)
    assert code == 0, err
