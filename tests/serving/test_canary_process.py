"""A real server process on 127.0.0.1 follows the canary ramp while traffic flows.

Two client threads post July's customers one record per request, round and round, while the
test starts the ramp (``ws.start_canary``: 5%), steps it (``ws.canary_step``: 25%, once the
server has logged enough canary rows) and stops it (``workbench monitor canary stop``, the
CLI in a process of its own). No request fails.
Between the moment ``GET /model`` shows a share and the moment the next change is written,
every answer is the one the server's split picks for its customer (salt and route key as
``GET /model`` reports them); the status file shows the canary's version, share and source;
and every answer is in the prediction log with the version and role that made it. Then two
worker processes started mid-ramp: both follow it with the ramp's one salt.

Timing on a loaded machine: waits have deadlines of many seconds; how long the server took to
follow each change is measured and printed, not asserted (the in-process test and the
watcher's interval cover that).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import polars as pl
import pytest

from tests.serving.serving_helpers import (
    NAME,
    REPO,
    predict_row,
    ramp_demo,
    records,
    start_server,
    stop_server,
)
from workbench.serving.deployment import CanarySplit, ramp_salt

pytestmark = pytest.mark.slow
_clock = time.monotonic


class Traffic:
    """Client threads posting the rows round and round until ``stop``; every answer kept
    with when it was sent and received (monotonic seconds), every failure kept."""

    def __init__(self, port: int, rows: list[dict], threads: int = 2) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.answers: list[tuple[float, float, dict]] = []
        self.failures: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(threads)
        self._futures = [self._pool.submit(self._send, rows[i::threads]) for i in range(threads)]

    def _send(self, part: list[dict]) -> None:
        with httpx.Client(base_url=self.url, timeout=60) as client:
            while not self._stop.is_set():
                for row in part:
                    if self._stop.is_set():
                        return
                    sent = _clock()
                    try:
                        body = predict_row(client, row)
                        with self._lock:
                            self.answers.append((sent, _clock(), body))
                    except Exception as exc:  # kept, and the test fails on it
                        with self._lock:
                            self.failures.append(repr(exc))

    def count_since(self, moment: float) -> int:
        with self._lock:
            return sum(1 for sent, _, _ in self.answers if sent >= moment)

    def wait_answers_since(self, moment: float, n: int, timeout: float = 120.0) -> None:
        deadline = _clock() + timeout
        while self.count_since(moment) < n:
            assert not self.failures, self.failures[:3]
            assert _clock() < deadline, f"only {self.count_since(moment)} answers"
            time.sleep(0.05)

    def between(self, start: float, end: float) -> list[dict]:
        """Answers to requests sent after ``start`` and answered before ``end``."""
        with self._lock:
            return [body for sent, got, body in self.answers if sent >= start and got <= end]

    def finish(self) -> None:
        self._stop.set()
        for future in self._futures:
            future.result(timeout=120)
        self._pool.shutdown()


def _model_shows(port: int, wanted, timeout: float = 30.0) -> tuple[dict, float]:
    """(``GET /model`` once ``wanted(body)`` holds, when it was first seen)."""
    deadline = _clock() + timeout
    while True:
        body = httpx.get(f"http://127.0.0.1:{port}/model", timeout=10).json()
        if wanted(body):
            return body, _clock()
        assert _clock() < deadline, f"the server did not follow the ramp: {body}"
        time.sleep(0.05)


def _share(fraction: float | None):
    def wanted(body: dict) -> bool:
        canary = body.get("canary")
        return (canary or {}).get("fraction") == fraction if fraction else canary is None

    return wanted


def _check_phase(answers: list[dict], split: CanarySplit | None) -> float:
    """Every answer is the split's pick for its customer, by the right version; the share."""
    assert answers, "no answer in this phase"
    for body in answers:
        canary = split is not None and split.picks(body["customer_id"])
        assert (body["role"], body["version"]) == (("canary", 2) if canary else ("champion", 1))
    return sum(body["role"] == "canary" for body in answers) / len(answers)


def test_a_server_follows_start_step_and_stop_of_the_canary_ramp_under_traffic(tmp_path):
    ws = ramp_demo(tmp_path / "ws")
    rows = records(ws.load("prod-2025-07"))
    proc, port = start_server(ws.root, "--model", f"{NAME}@champion")
    took: dict[str, float] = {}
    try:
        body = httpx.get(f"http://127.0.0.1:{port}/model").json()
        assert "canary" not in body and body["canary_ramp"]["followed"] is True
        traffic = Traffic(port, rows)
        began = _clock()
        traffic.wait_answers_since(began, 100)

        # -- start: 5%
        written = _clock()
        ws.start_canary(f"{NAME}@v2", "try v2 on a few customers")
        returned = _clock()
        at5, seen5 = _model_shows(port, _share(0.05))
        took["start"] = seen5 - returned
        canary = at5["canary"]
        assert (canary["version"], canary["source"], canary["route_key"]) == (
            2, "ramp", "customer_id"
        )  # fmt: skip
        assert canary["route_key_from"] == "key column"
        assert at5["canary_ramp"]["state"] == "ramping" and at5["canary_ramp"]["step"] == 0
        split5 = CanarySplit(0.05, "customer_id", canary["salt"])
        traffic.wait_answers_since(seen5, 2 * len(rows))

        # -- step: 25%, once the server has logged enough canary rows since the ramp began
        deadline = _clock() + 60
        while True:
            step_called = _clock()
            result = ws.canary_step(NAME)
            if result.action == "advanced":
                returned = _clock()
                break
            assert result.action == "hold", result.message
            assert _clock() < deadline, result.message
            time.sleep(0.5)
        at25, seen25 = _model_shows(port, _share(0.25))
        took["step"] = seen25 - returned
        assert at25["canary"]["salt"] == canary["salt"]  # the same customers, and more
        assert at25["canary_ramp"]["step"] == 1
        split25 = CanarySplit(0.25, "customer_id", canary["salt"])
        traffic.wait_answers_since(seen25, 2 * len(rows))
        (status,) = _statuses(ws, lambda ss: [s.canary["fraction"] for s in ss if s.canary]
                              == [0.25])  # fmt: skip
        assert (status.canary["version"], status.canary["source"]) == (2, "ramp")
        assert "canary 25% (ramp)" in status.summary()
        shown = _cli(ws.root, "monitor", "canary", "status")
        assert f"canary {NAME}@v2 at 25% (ramp)" in shown, shown
        assert (
            "workbench_canary_fraction 0.25" in httpx.get(f"http://127.0.0.1:{port}/metrics").text
        )

        # -- stop, from the command line: no canary
        stop_called = _clock()
        _cli(ws.root, "monitor", "canary", "stop", "--model", NAME, "-m", "enough")
        returned = _clock()
        stopped, seen0 = _model_shows(port, _share(None))
        took["stop"] = seen0 - returned
        assert stopped["canary_ramp"]["state"] == "stopped"
        assert [m["role"] for m in stopped["models"]] == ["champion"]
        traffic.wait_answers_since(seen0, len(rows))
        traffic.finish()
    finally:
        code, _, err = stop_server(proc)
    print("seconds from the change written to GET /model showing it:",
          {k: round(v, 2) for k, v in took.items()})  # fmt: skip
    assert code == 0, err
    assert traffic.failures == []

    # -- each phase's answers are exactly the split's picks
    end = _clock()
    assert _check_phase(traffic.between(began, written), None) == 0.0
    share5 = _check_phase(traffic.between(seen5, step_called), split5)
    share25 = _check_phase(traffic.between(seen25, stop_called), split25)
    assert _check_phase(traffic.between(seen0, end), None) == 0.0
    assert 0.0 < share5 < 0.15 and 0.12 < share25 < 0.40 and share5 < share25
    picked5 = {c for c in (r["customer_id"] for r in rows) if split5.picks(c)}
    assert picked5 <= {c for c in (r["customer_id"] for r in rows) if split25.picks(c)}

    # -- every answer is in the log with the version, role and route that made it
    answered = pl.DataFrame(
        [(b["request_id"], b["version"], b["role"]) for _, _, b in traffic.answers],
        schema=["request_id", "version", "role"], orient="row",
    )  # fmt: skip
    logged = ws.predictions(NAME)
    joined = answered.join(logged, on=["request_id", "version", "role"], how="left")
    assert joined.height == answered.height and joined["time"].null_count() == 0
    routes = set(joined.filter(pl.col("role") == "canary")["route"])
    assert routes == {"canary 0.05", "canary 0.25"}
    assert set(joined["version"]) == {1, 2}


def _cli(root, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO), "WORKBENCH_ACTOR": "alice"}
    done = subprocess.run(
        [sys.executable, "-c", "from workbench.cli.main import entry; entry()", "-w", str(root),
         *args],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_workers_of_a_server_follow_one_ramp_with_one_salt(tmp_path):
    """Two worker processes, each its own watcher, started mid-ramp: both serve the ramp's
    canary from the start with the ramp's salt (so a customer gets the same version from
    either), and both drop it when the ramp stops."""
    ws = ramp_demo(tmp_path / "ws")
    setting = ws.start_canary(f"{NAME}@v2")
    rows = records(ws.load("prod-2025-07"))
    proc, port = start_server(ws.root, "--model", f"{NAME}@champion", "--workers", "2")
    try:
        statuses = _statuses(ws, lambda ss: len(ss) == 2 and all(s.canary for s in ss))
        assert {(s.canary["version"], s.canary["fraction"], s.canary["source"],
                 s.canary["salt"]) for s in statuses} == {
            (2, 0.05, "ramp", ramp_salt(NAME, setting.value, setting.id))
        }  # fmt: skip
        split = CanarySplit(0.05, "customer_id", ramp_salt(NAME, setting.value, setting.id))
        for row in rows[:120]:  # a new connection each time: the kernel spreads them
            body = httpx.post(f"http://127.0.0.1:{port}/predict", json=row, timeout=60).json()
            wanted = "canary" if split.picks(row["customer_id"]) else "champion"
            assert body["role"] == wanted
        _cli(ws.root, "monitor", "canary", "stop", "--model", NAME)
        _statuses(ws, lambda ss: len(ss) == 2 and not any(s.canary for s in ss))
    finally:
        code, _, err = stop_server(proc)
    assert code == 0, err


def _statuses(ws, wanted, timeout: float = 60.0):
    """The servers' statuses once ``wanted(statuses)`` holds (written every 2 s)."""
    deadline = _clock() + timeout
    while True:
        statuses = ws.serving_status()
        if wanted(statuses):
            return statuses
        assert _clock() < deadline, statuses
        time.sleep(0.2)
