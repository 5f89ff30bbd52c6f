"""Running the server: one process, or a supervisor and N worker processes.

One worker: uvicorn serves the app in this process. SIGTERM or Ctrl-C makes uvicorn stop
accepting, wait for requests in flight (up to ``graceful_timeout``), then run the lifespan
teardown, which closes the session (shadow, then the prediction log: every row written). A
second Ctrl-C forces the exit (uvicorn's rule) and skips that teardown; SIGKILL skips
everything, and the log then loses at most its last second.

Several workers: this process binds the socket and starts each worker as
``python -m workbench.server`` with the socket inherited; every worker opens its own session
(models, log writer, alias watcher, status file) on the shared socket, and all of them share
one canary salt. The supervisor only forwards SIGTERM/SIGINT to the workers and waits for
them; a worker that dies while serving is started again.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from typing import Any

from .config import CONFIG_ENV, TOKEN_ENV, ServerConfig, read_token

__all__ = ["serve", "serve_worker", "build_app"]

_logger = logging.getLogger("workbench.server")
WORKER_FD_ENV = "WORKBENCH_SERVE_FD"


def build_app(config: ServerConfig, token: str | None) -> Any:
    """The app for ``config``: its session opens at startup, on the lifespan's thread."""
    from ..api import Workspace
    from .app import create_app

    spec = config.spec()

    def open_session() -> Any:
        ws = Workspace.open(config.workspace)
        return ws.serving_session(spec, log=config.log, interval=config.watch_interval)

    return create_app(open_session, token=token, max_body=config.max_body, address=config.address)


def serve(config: ServerConfig) -> int:
    """Serve until SIGTERM or Ctrl-C; the exit code."""
    token = read_token(config.token_file)
    config.check(token)
    if config.canary and config.salt is None:  # one salt for every worker of this set-up
        from ..api import new_salt

        config = replace(config, salt=new_salt())
    if config.workers == 1:
        return serve_worker(config, token, None)
    return _supervise(config, token)


def serve_worker(config: ServerConfig, token: str | None, fd: int | None) -> int:
    """Serve in this process (on the inherited socket ``fd`` when given)."""
    from ..api import enable_lean_import

    enable_lean_import()
    from .uvicorn_lean import load_uvicorn

    Config, Server = load_uvicorn()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    uv_config = Config(
        build_app(config, token),
        host=config.host,
        port=config.port,
        lifespan="on",
        access_log=False,
        log_config=None,
        log_level="warning",
        timeout_graceful_shutdown=config.graceful_timeout,
        server_header=False,
    )
    server = Server(uv_config)
    stopped: list[int] = []
    # uvicorn restores these after its own handlers and re-raises the signal it caught:
    # noting it here makes a SIGTERM an orderly exit (code 0) once the teardown has run.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: stopped.append(signum))
    sockets = [socket.socket(fileno=fd)] if fd is not None else None
    server.run(sockets=sockets)
    if not server.started:
        return 1
    return 0


def _supervise(config: ServerConfig, token: str | None) -> int:
    sock = socket.create_server((config.host, config.port), backlog=2048)
    sock.set_inheritable(True)
    stop: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: stop.append(signum))
    env = {**os.environ, CONFIG_ENV: config.to_json(), WORKER_FD_ENV: str(sock.fileno())}
    if token is not None:
        env[TOKEN_ENV] = token
    command = [sys.executable, "-m", "workbench.server", "--worker"]

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(command, env=env, pass_fds=[sock.fileno()])

    workers = [start() for _ in range(config.workers)]
    restarts: list[float] = []
    while not stop:
        time.sleep(0.2)
        for i, proc in enumerate(workers):
            if proc.poll() is not None and not stop:
                now = time.monotonic()
                restarts = [t for t in restarts if now - t < 60] + [now]
                if len(restarts) > 5 * config.workers:
                    _logger.error("workers keep dying; stopping")
                    stop.append(signal.SIGTERM)
                    break
                _logger.error("worker %d exited (%s); starting another", proc.pid, proc.returncode)
                workers[i] = start()
    for proc in workers:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + config.graceful_timeout + 30
    for proc in workers:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
    sock.close()
    return 0
