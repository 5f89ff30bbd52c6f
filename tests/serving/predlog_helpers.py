"""Starting ``predlog_child.py`` in child processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("predlog_child.py")


def child(*args: str) -> subprocess.Popen:
    """Start ``predlog_child.py`` with ``args`` in a new process, stdout piped as text."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, str(CHILD), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO,
    )  # fmt: skip


def wait_ready(proc: subprocess.Popen) -> None:
    """Block until the child printed ``ready``."""
    line = proc.stdout.readline()
    assert line.strip() == "ready", (line, proc.stderr.read() if proc.poll() is not None else "")
