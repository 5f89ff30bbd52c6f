"""Helpers for tests: the real CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 120):
    """Run the real `workbench` entry point in a subprocess."""
    full_env = {k: v for k, v in os.environ.items() if k != "WORKBENCH_WORKSPACE"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", "from workbench.cli.main import entry; entry()", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
