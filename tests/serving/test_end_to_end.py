"""The whole story over HTTP, against a real server process on 127.0.0.1.

The demo's monthly batches go to the server record by record from four client threads:
first with the challenger in shadow, while the champion is promoted and rolled back (each
takes effect within two seconds, and no request fails); then with the challenger as a 10%
canary split by customer. The server stops on SIGTERM each time, and every answer is in the
prediction log with the version and role that made it. Finally MLflow's own client loads the
champion and predicts on the raw CSV rows.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pandas as pd
import polars as pl
import pytest

from tests.serving.serving_helpers import (
    NAME,
    open_as,
    predict_row,
    records,
    served_demo,
    start_server,
)
from tests.serving.serving_helpers import stop_server as stop

MONTHS = ("2025-07", "2025-08", "2025-09", "2025-10", "2025-11", "2025-12")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return served_demo(tmp_path_factory.mktemp("e2e") / "ws", MONTHS, mlflow=True)


class Traffic:
    """Client threads posting records one per request; every answer or failure is kept."""

    def __init__(self, port: int, rows: list[dict], threads: int = 4) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.rows = rows
        self.answers: list[dict] = []
        self.failures: list[str] = []
        self.sent = 0
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(threads)
        self._parts = [rows[i::threads] for i in range(threads)]
        self._futures = [self._pool.submit(self._send, part) for part in self._parts]

    def _send(self, part: list[dict]) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            for row in part:
                try:
                    body = predict_row(client, row)
                    with self._lock:
                        self.answers.append(body)
                        self.sent += 1
                except Exception as exc:  # kept, and the test fails on it
                    with self._lock:
                        self.failures.append(repr(exc))
                        self.sent += 1

    def wait_sent(self, n: int, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while self.sent < n:
            assert time.monotonic() < deadline, f"only {self.sent} requests sent"
            time.sleep(0.02)

    def finish(self) -> None:
        for future in self._futures:
            future.result(timeout=600)
        self._pool.shutdown()


def _champion_becomes(port: int, version: int, timeout: float = 10.0) -> float:
    """Seconds until ``GET /model`` shows ``version`` as champion."""
    started = time.monotonic()
    while True:
        models = httpx.get(f"http://127.0.0.1:{port}/model").json()["models"]
        if next(m["version"] for m in models if m["role"] == "champion") == version:
            return time.monotonic() - started
        assert time.monotonic() - started < timeout, "the server did not follow the alias"
        time.sleep(0.05)


def _batch_rows(ws, months) -> list[dict]:
    return [r for m in months for r in records(ws.load(f"prod-{m}"))]


def test_shadow_then_canary_with_a_promotion_and_a_rollback_during_traffic(root):
    ws = open_as(root, "alice")
    # -- 1: the challenger in shadow; the champion is promoted, then rolled back, under load
    proc, port = start_server(root, "--model", f"{NAME}@champion", "--shadow",
                              f"{NAME}@challenger")  # fmt: skip
    rows = _batch_rows(ws, MONTHS[:3])
    traffic = Traffic(port, rows)
    try:
        traffic.wait_sent(len(rows) // 4)
        ws.set_alias(f"{NAME}@v2", "champion", "challenger wins")
        promoted_in = _champion_becomes(port, 2)
        traffic.wait_sent(len(rows) // 2)
        ws.rollback(NAME, "back to v1")
        rolled_back_in = _champion_becomes(port, 1)
        traffic.finish()
    finally:
        code, _, err = stop(proc)
    assert code == 0, err
    assert traffic.failures == []
    assert len(traffic.answers) == len(rows)
    assert promoted_in < 2.0 and rolled_back_in < 2.0
    versions = {a["version"] for a in traffic.answers}
    assert versions == {1, 2}  # both champions answered some of the traffic
    shadow_phase = traffic.answers

    # -- 2: the challenger as a 10% canary, split by customer
    proc, port = start_server(root, "--model", f"{NAME}@champion", "--canary",
                              f"{NAME}@challenger:0.1", "--route-key", "customer_id")  # fmt: skip
    rows = _batch_rows(ws, MONTHS[3:])
    again = rows[:100]  # the same customers a second time: they get the same model
    traffic = Traffic(port, rows + again)
    try:
        traffic.finish()
    finally:
        code, _, err = stop(proc)
    assert code == 0, err
    assert traffic.failures == []
    canary_phase = traffic.answers
    by_customer: dict[str, set[str]] = {}
    for a in canary_phase:
        by_customer.setdefault(a["customer_id"], set()).add(a["role"])
    assert all(len(roles) == 1 for roles in by_customer.values())  # sticky
    share = np.mean([a["role"] == "canary" for a in canary_phase[: len(rows)]])
    assert 0.05 < share < 0.16
    assert {a["version"] for a in canary_phase if a["role"] == "canary"} == {2}

    # -- every answer is in the log with the version and role that made it
    logged = ws.predictions(NAME)
    answered = pl.DataFrame(
        [(a["request_id"], a["version"], a["role"]) for a in shadow_phase + canary_phase],
        schema=["request_id", "version", "role"], orient="row",
    )  # fmt: skip
    joined = answered.join(logged, on=["request_id", "version", "role"], how="left")
    assert joined["time"].null_count() == 0
    assert joined.height == answered.height
    # the shadow scored each request the champion v1 answered (v2 as champion had no shadow)
    shadowed = logged.filter(pl.col("role") == "shadow")["request_id"].to_list()
    by_v1 = [a["request_id"] for a in shadow_phase if a["version"] == 1]
    assert set(by_v1) <= set(shadowed)
    assert logged.filter(pl.col("role") == "shadow")["version"].unique().to_list() == [2]
    assert set(logged.filter(pl.col("role") == "canary")["route"]) == {"canary 0.1"}

    # -- MLflow's own client loads the champion and predicts on raw rows
    import mlflow

    mlflow.set_tracking_uri(ws.mlflow_tracking_uri)
    try:
        loaded = mlflow.pyfunc.load_model(f"models:/{NAME}@champion")
    finally:
        mlflow.set_tracking_uri(None)
    raw = pd.read_csv(root / "data" / "batch_2025-12.csv")
    theirs = loaded.predict(raw)
    ours, _ = ws.scorer(f"{NAME}@champion").score_frame(ws.load("prod-2025-12"))
    assert np.array_equal(theirs["probability"].to_numpy(), ours.probability)
    assert theirs["label"].to_list() == ours.labels
