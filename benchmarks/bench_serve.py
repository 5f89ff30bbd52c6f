"""Scoring server and batch scoring, side by side with MLflow's server and a bare app.

One model for every side: LightGBM binary, 20 numeric features, 300 trees of 31 leaves,
trained by the workbench (mirrored to MLflow) and registered as ``bench@champion`` (a second
run of the same shape is ``bench@challenger``, the shadow). Servers, one at a time, each a
process of its own with one worker on 127.0.0.1:

* ``mlflow``: ``mlflow models serve -m models:/bench@champion --env-manager local`` (the
  workbench's MLflow model: raw rows through the scorer), ``POST /invocations`` with
  ``{"dataframe_records": [record]}``;
* ``bare``: a Starlette app (uvicorn, access log off) that parses the JSON record, builds a
  1x20 array and calls ``booster.predict(x, num_threads=1)``;
* ``workbench``: ``workbench serve --model bench@champion`` (prediction log on);
* ``workbench+shadow``: the same with ``--shadow bench@challenger``.

Load: ``--clients`` closed-loop client processes (one keep-alive connection each, raw HTTP/1.1
over asyncio, single-record POSTs) for ``--seconds`` after ``--warmup``; then an open-loop
run at a fixed ``--rate`` (requests sent on schedule from the same number of processes,
latency counted from the scheduled time, so a slow server cannot hide its queue). Each side
runs ``--rounds`` times, interleaved; the best round is reported, every round printed.

Batch: ``ws.score(frame, "bench@champion")`` on a ``--batch-rows`` x 20 frame (conform,
training's encoding, predict, answers, and every row into the prediction log) against bare
``booster.predict`` of the same frame's array, best of ``--repeat``; and the whole
``workbench score FILE.parquet -o OUT.parquet`` command once.

    .venv/bin/python benchmarks/bench_serve.py --clients 4 --seconds 15 --rate 1000 \\
        --rounds 2 --batch-rows 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

FEATURES = [f"f{i}" for i in range(20)]
NAME = "bench"
PARAMS = {"num_iterations": 300, "num_leaves": 31, "early_stopping_round": 0,
          "min_data_in_leaf": 5}  # fmt: skip


# -- the model ---------------------------------------------------------------------------------


def build_workspace(root: Path, rows: int = 20_000) -> Path:
    """A workspace with bench@v1 (champion) and bench@v2 (challenger), mirrored to MLflow."""
    import numpy as np
    import polars as pl

    from workbench.api import Workspace

    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, len(FEATURES)))
    logit = x[:, :6] @ rng.normal(size=6) + np.sin(3 * x[:, 6]) + x[:, 7] * x[:, 8]
    y = np.where(rng.random(rows) < 1 / (1 + np.exp(-logit)), "yes", "no")
    frame = pl.DataFrame({f: x[:, i] for i, f in enumerate(FEATURES)}).with_columns(
        pl.Series("target", y)
    )
    ws = Workspace.init(root)
    from workbench.processes import os_account

    # this OS account may act as "bench", an admin (identity: [accounts] in the settings)
    account = os_account()
    (ws.dir / "workbench.toml").write_text(
        f'actor = "bench"\n[roles]\nbench = "admin"\n[accounts]\n{account} = ["bench"]\n'
    )
    frame.write_parquet(root / "train.parquet")
    ws = Workspace(root)
    ws.add_snapshot(root / "train.parquet", "data", target="target")
    for seed in (1, 2):
        run = ws.train("data@v1", params=PARAMS, seed=seed)
        ws.register_model(run.id, NAME)
    ws.set_alias(f"{NAME}@v1", "champion")
    ws.set_alias(f"{NAME}@v2", "challenger")
    trees = ws.run_model(1).booster.num_trees()
    assert trees == 300, trees
    return root


def bodies(n: int = 2000) -> list[dict]:
    rng = random.Random(1)
    return [{f: round(rng.gauss(0, 1), 6) for f in FEATURES} for _ in range(n)]


# -- the bare app ------------------------------------------------------------------------------


def run_bare_app(model_file: str, port: int) -> None:
    """The anchor: parse, a 1x20 array, ``booster.predict(x, num_threads=1)``."""
    import lightgbm as lgb
    import numpy as np
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    booster = lgb.Booster(model_file=model_file)

    async def predict(request: Request) -> JSONResponse:
        record = json.loads(await request.body())
        x = np.array([[record[f] for f in FEATURES]], dtype=np.float64)
        return JSONResponse({"probability": float(booster.predict(x, num_threads=1)[0])})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    app = Starlette(routes=[Route("/predict", predict, methods=["POST"]),
                            Route("/health", health)])  # fmt: skip
    uvicorn.run(app, host="127.0.0.1", port=port, access_log=False, log_level="warning")


# -- servers -----------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(side: str, root: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "MLFLOW_TRACKING_URI":
           f"sqlite:///{root}/.workbench/mlflow/mlflow.db"}  # fmt: skip
    env.pop("WORKBENCH_SERVE_TOKEN", None)
    # mlflow models serve runs `uvicorn` from PATH: the one beside this interpreter
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    if side == "mlflow":
        cmd = [str(Path(sys.executable).with_name("mlflow")), "models", "serve", "-m",
               f"models:/{NAME}@champion", "--env-manager", "local", "-p", str(port),
               "-h", "127.0.0.1"]  # fmt: skip
    elif side == "bare":
        cmd = [sys.executable, __file__, "--bare-app", str(root / "model.txt"), str(port)]
    else:
        cmd = [sys.executable, "-c", "from workbench.cli.main import entry; entry()", "-w",
               str(root), "serve", "--model", f"{NAME}@champion", "--port", str(port)]  # fmt: skip
        if side == "workbench+shadow":
            cmd += ["--shadow", f"{NAME}@challenger"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    health = "/ping" if side == "mlflow" else "/health"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{side} exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            status = asyncio.run(_get(port, health))
            if status == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"{side} did not start")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(120)
    except subprocess.TimeoutExpired:
        proc.kill()


# -- the load generator ------------------------------------------------------------------------


async def _get(port: int, path: str) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    status, _ = await _read_response(reader)
    writer.close()
    return status


def _request(path: str, body: bytes) -> bytes:
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")  # fmt: skip
    return head.encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return status, await reader.readexactly(length)


async def _closed(port: int, requests: list[bytes], seconds: float, warmup: float):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    latencies, errors, i = [], 0, 0
    started = time.perf_counter()
    measure_from = started + warmup
    end = measure_from + seconds
    while True:
        t0 = time.perf_counter()
        if t0 >= end:
            break
        writer.write(requests[i % len(requests)])
        status, _ = await _read_response(reader)
        t1 = time.perf_counter()
        i += 1
        if t0 >= measure_from:
            latencies.append(t1 - t0)
            errors += status != 200
    writer.close()
    return latencies, errors


async def _open(port: int, requests: list[bytes], rate: float, seconds: float, warmup: float):
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    latencies, errors = [], 0
    start = time.perf_counter() + 0.2
    total = int((seconds + warmup) * rate)
    measure_from = start + warmup

    async def one(i: int, scheduled: float) -> None:
        nonlocal errors
        conn = idle.pop() if idle else await asyncio.open_connection("127.0.0.1", port)
        try:
            conn[1].write(requests[i % len(requests)])
            status, _ = await _read_response(conn[0])
        except (ConnectionError, asyncio.IncompleteReadError):
            # the server closed a connection that sat idle past its keep-alive: a new one
            conn = await asyncio.open_connection("127.0.0.1", port)
            conn[1].write(requests[i % len(requests)])
            status, _ = await _read_response(conn[0])
        done = time.perf_counter()
        idle.append(conn)
        if scheduled >= measure_from:
            latencies.append(done - scheduled)
            errors += status != 200

    tasks = []
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, scheduled)))
    await asyncio.gather(*tasks)
    for _, writer in idle:
        writer.close()
    return latencies, errors


def _client(args: tuple) -> tuple[list[float], int]:
    mode, port, requests, a, b, c = args
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    if mode == "closed":
        return asyncio.run(_closed(port, requests, a, b))
    return asyncio.run(_open(port, requests, a, b, c))


def load(side: str, port: int, args, mode: str) -> dict:
    path = "/invocations" if side == "mlflow" else "/predict"
    pool = bodies()
    if side == "mlflow":
        requests = [_request(path, json.dumps({"dataframe_records": [r]}).encode()) for r in pool]
    else:
        requests = [_request(path, json.dumps(r).encode()) for r in pool]
    if mode == "closed":
        jobs = [("closed", port, requests, args.seconds, args.warmup, 0)] * args.clients
    else:
        per = args.rate / args.clients
        jobs = [("open", port, requests, per, args.seconds, args.warmup)] * args.clients
    with multiprocessing.get_context("spawn").Pool(args.clients) as pool_:
        results = pool_.map(_client, jobs)
    latencies = sorted(x for lat, _ in results for x in lat)
    errors = sum(e for _, e in results)
    n = len(latencies)
    return {
        "side": side, "mode": mode, "requests": n, "errors": errors,
        "rps": n / args.seconds,
        "p50_ms": 1000 * latencies[n // 2] if n else float("nan"),
        "p99_ms": 1000 * latencies[min(n - 1, int(n * 0.99))] if n else float("nan"),
    }  # fmt: skip


# -- batch ---------------------------------------------------------------------------------------


def batch(root: Path, rows: int, repeat: int) -> dict:
    import numpy as np
    import polars as pl

    from workbench.api import Workspace, enable_lean_import

    enable_lean_import()
    ws = Workspace(root)
    rng = np.random.default_rng(7)
    frame = pl.DataFrame({f: rng.normal(size=rows) for f in FEATURES})
    booster = ws.run_model(ws.model(f"{NAME}@champion").run_id).booster
    x = frame.to_numpy()
    booster.predict(x[:1000])  # warm
    ws.score(frame.head(1000), f"{NAME}@champion", log=False)
    bare, ours = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        expected = booster.predict(x)
        bare.append(time.perf_counter() - t)
        t = time.perf_counter()
        answers = ws.score(frame, f"{NAME}@champion")
        ours.append(time.perf_counter() - t)
        assert np.array_equal(answers["probability"].to_numpy(), expected)
    path = root / "batch.parquet"
    frame.write_parquet(path)
    t = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", "from workbench.cli.main import entry; entry()", "-w", str(root),
         "score", str(path), "--model", f"{NAME}@champion", "-o", str(root / "out.parquet")],
        env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True,
    )  # fmt: skip
    cli = time.perf_counter() - t
    assert done.returncode == 0, done.stderr
    return {"rows": rows, "bare_s": bare, "ws_score_s": ours, "cli_s": cli,
            "ratio": min(ours) / min(bare)}  # fmt: skip


# -- main ----------------------------------------------------------------------------------------


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--bare-app":
        run_bare_app(sys.argv[2], int(sys.argv[3]))
        return
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--seconds", type=float, default=15.0)
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--rate", type=float, default=1000.0)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--sides", default="mlflow,bare,workbench,workbench+shadow")
    p.add_argument("--batch-rows", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--workspace", help="reuse a workspace made by an earlier run")
    args = p.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        root = Path(args.workspace) if args.workspace else Path(tmp) / "ws"
        if not (root / ".workbench").exists():
            print("training the model ...", flush=True)
            build_workspace(root)
        from workbench.api import Workspace

        ws = Workspace(root)
        (root / "model.txt").write_text(
            ws.run_model(ws.model(f"{NAME}@champion").run_id).booster.model_to_string()
        )
        print(f"load: uptime {os.getloadavg()}", flush=True)
        results: dict[str, list[dict]] = {}
        sides = args.sides.split(",")
        for round_ in range(args.rounds):
            for side in sides:
                port = free_port()
                proc = start(side, root, port)
                try:
                    for mode in ("closed", "open"):
                        if mode == "open" and side == "mlflow":
                            continue  # 1,000 req/s is far beyond it: the queue only grows
                        r = load(side, port, args, mode)
                        results.setdefault(f"{side}/{mode}", []).append(r)
                        print(f"round {round_ + 1} {side:17} {mode:6} {r['rps']:8.0f} req/s  "
                              f"p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  "
                              f"errors {r['errors']}", flush=True)  # fmt: skip
                finally:
                    stop(proc)
        best = {k: max(v, key=lambda r: r["rps"]) if k.endswith("closed") else
                min(v, key=lambda r: r["p99_ms"]) for k, v in results.items()}  # fmt: skip
        print("\nbest rounds:")
        for key, r in best.items():
            print(f"  {key:24} {r['rps']:8.0f} req/s  p50 {r['p50_ms']:6.2f} ms  "
                  f"p99 {r['p99_ms']:6.2f} ms")  # fmt: skip
        ours = best.get("workbench/closed")
        if ours and "mlflow/closed" in best:
            print(f"workbench / mlflow: {ours['rps'] / best['mlflow/closed']['rps']:.1f}x "
                  "(target >= 10x)")  # fmt: skip
        if ours and "bare/closed" in best:
            print(f"workbench / bare: {ours['rps'] / best['bare/closed']['rps']:.0%} "
                  "(target >= 60%)")  # fmt: skip
        if ours and "workbench+shadow/closed" in best:
            cost = 1 - best["workbench+shadow/closed"]["rps"] / ours["rps"]
            print(f"shadow costs {cost:.0%} of throughput (target <= 25%)")
        if "workbench/open" in best:
            print(f"workbench p99 at {args.rate:.0f} req/s open loop: "
                  f"{best['workbench/open']['p99_ms']:.2f} ms (target <= 5 ms)")  # fmt: skip
        if args.batch_rows:
            b = batch(root, args.batch_rows, args.repeat)
            print(f"\nbatch {b['rows']:,} rows: bare predict "
                  f"{', '.join(f'{s:.2f}' for s in b['bare_s'])} s; ws.score "
                  f"{', '.join(f'{s:.2f}' for s in b['ws_score_s'])} s; ratio {b['ratio']:.2f}x "
                  f"(target <= 1.3x); workbench score command {b['cli_s']:.2f} s")  # fmt: skip
        print(f"load: uptime {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
