"""``python -m workbench.server``: the scoring server process (``workbench serve`` runs it).

A process of its own, so that it loads neither the CLI library nor rich: ``workbench serve``
checks its options and replaces itself with this. Options are parsed with ``argparse``.
"""

from __future__ import annotations

import argparse
import os
import sys

from .config import CONFIG_ENV, ServerConfig


def parse_args(argv: list[str] | None = None) -> tuple[ServerConfig, bool]:
    """(options, this is a worker started by a supervisor)."""
    p = argparse.ArgumentParser(prog="python -m workbench.server", description=__doc__)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--workspace", "-w", default=os.environ.get("WORKBENCH_WORKSPACE", "."))
    p.add_argument("--model", default="@champion")
    p.add_argument("--shadow")
    p.add_argument("--canary", help="REF:FRACTION")
    p.add_argument("--route-key")
    p.add_argument("--salt")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--max-body", type=int, default=16 * 1024 * 1024)
    p.add_argument("--unknown-category", choices=("missing", "error"), default="missing")
    p.add_argument("--missing-column", choices=("error", "missing"), default="error")
    p.add_argument("--no-log", action="store_true")
    p.add_argument("--graceful-timeout", type=int, default=20)
    p.add_argument("--watch-interval", type=float, default=0.25)
    p.add_argument("--token-file")
    a = p.parse_args(argv)
    if a.worker:
        return ServerConfig.from_json(os.environ[CONFIG_ENV]), True
    return ServerConfig(
        workspace=a.workspace, model=a.model, shadow=a.shadow, canary=a.canary,
        route_key=a.route_key, salt=a.salt, host=a.host, port=a.port, workers=a.workers,
        max_body=a.max_body, unknown_category=a.unknown_category,
        missing_column=a.missing_column, log=not a.no_log,
        graceful_timeout=a.graceful_timeout, watch_interval=a.watch_interval,
        token_file=a.token_file,
    ), False  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Run the server; errors are one line on stderr and exit code 2 (or 3, 1)."""
    from ..errors import WorkbenchError

    try:
        config, worker = parse_args(argv)
        if worker:
            from .config import read_token
            from .run import WORKER_FD_ENV, serve_worker

            return serve_worker(config, read_token(None), int(os.environ[WORKER_FD_ENV]))
        from .run import serve

        return serve(config)
    except WorkbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
