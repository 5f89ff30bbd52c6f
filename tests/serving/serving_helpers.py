"""Real workspaces with registered models, and real server processes on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

from tests.registry.conftest import FAST, SETTINGS, make_small_demo, open_as

REPO = Path(__file__).resolve().parents[2]
NAME = "churn-model"
FEATURES = (
    "tenure_months", "monthly_charges", "total_charges", "contract", "payment_method",
    "internet_service", "senior_citizen", "gender", "region", "support_calls", "data_usage_gb",
)  # fmt: skip


def served_demo(root: Path, months: tuple[str, ...] = ("2025-07",), mlflow: bool = False) -> Path:
    """A small demo where alice registered two runs: churn-model@v1 is the champion and
    churn-model@v2 the challenger."""
    registry = "" if mlflow else "\n[registry]\nmlflow = false\n"
    root = make_small_demo(root, months, SETTINGS + registry)
    ws = open_as(root, "alice")
    for seed in (1, 2):
        run = ws.train("churn@v1", params=FAST, seed=seed, mlflow=mlflow)
        ws.register_model(run.id, NAME)
    ws.set_alias(f"{NAME}@v1", "champion", "first champion")
    ws.set_alias(f"{NAME}@v2", "challenger", "retrained")
    return root


#: guards kept simple for tests about the server following the ramp (the guards' statistics
#: are tested in tests/monitoring): a step needs 5 canary rows, no metric guard (it runs only
#: on ``[monitoring] min_rows``)
RAMP_SETTINGS = """
[monitoring]
min_rows = 100000

[monitoring.canary]
min_rows = 5
"""


def ramp_demo(root: Path):
    """``served_demo`` (v1 champion, v2 challenger) with a ramp that steps after 5 canary rows,
    opened as alice (an approver, who may start and step a canary)."""
    root = served_demo(root)
    settings = root / ".workbench" / "workbench.toml"
    settings.write_text(settings.read_text(encoding="utf-8") + RAMP_SETTINGS, encoding="utf-8")
    return open_as(root, "alice")


def mixed_frame(n: int = 1500, seed: int = 3) -> pl.DataFrame:
    """A table with integer, float, boolean, text and date columns, a key and a text target."""
    rng = np.random.default_rng(seed)
    count = rng.integers(0, 40, n)
    amount = rng.gamma(2.0, 30.0, n).round(2)
    flag = rng.random(n) < 0.3
    plan = rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2])
    days = rng.integers(0, 700, n)
    signup = (np.datetime64("2023-01-01") + days).astype("datetime64[D]")
    logit = 0.06 * count - 0.01 * amount + 1.2 * flag + (plan == "pro") * 1.0 + days / 700 - 1
    target = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return pl.DataFrame(
        {
            "account": [f"A{i:05d}" for i in range(n)],
            "count": count,
            "amount": amount,
            "flag": flag,
            "plan": plan,
            "signup": signup,
            "renewed": target,
        }
    ).with_columns(
        # a few missing values in each kind of column, as real files have
        pl.when(pl.int_range(pl.len()) % 97 == 5)
        .then(None)
        .otherwise(pl.col("amount"))
        .alias("amount"),
        pl.when(pl.int_range(pl.len()) % 89 == 7)
        .then(None)
        .otherwise(pl.col("plan"))
        .alias("plan"),
    )


def free_port() -> int:
    """A TCP port nothing listens on now (127.0.0.1)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    root: Path,
    *args: str,
    port: int | None = None,
    env: dict[str, str] | None = None,
    probe: str = "",
    timeout: float = 180.0,
) -> tuple[subprocess.Popen, int]:
    """``python -m workbench.server`` on 127.0.0.1 in a new process, ready (``/health`` 200).

    ``probe`` is Python run before the server's ``main`` (e.g. an atexit hook that reports
    what the process loaded).
    """
    import httpx

    port = port or free_port()
    code = probe + "\nimport sys\nfrom workbench.server.__main__ import main\nsys.exit(main())"
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_WAIT_POLICY": "PASSIVE",
                **(env or {})}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "--workspace", str(root), "--port", str(port), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full_env, cwd=REPO,
    )  # fmt: skip
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited {proc.returncode}: {proc.stderr.read()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc, port
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("the server did not become ready")


def stop_server(proc: subprocess.Popen, timeout: float = 120.0) -> tuple[int, str, str]:
    """SIGTERM, then wait: (exit code, stdout, stderr)."""
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def records(frame: pl.DataFrame) -> list[dict]:
    """Rows as JSON-ready dicts (dates as ISO text), as a client would post them."""
    return [
        {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in row.items()}
        for row in frame.to_dicts()
    ]


def predict_row(client, row: dict) -> dict:
    """POST one row to ``/predict`` with an httpx client: the answer, carrying the row's
    ``customer_id`` (an AssertionError on any status but 200)."""
    response = client.post("/predict", json=row)
    if response.status_code != 200:
        raise AssertionError(f"{response.status_code} {response.text}")
    body = response.json()
    body["customer_id"] = row["customer_id"]
    return body


__all__ = ["FAST", "open_as", "served_demo", "ramp_demo", "mixed_frame", "start_server", "stop_server",
           "free_port", "records", "predict_row", "NAME", "FEATURES"]  # fmt: skip
