"""Fixtures for the prediction-log tests: a bare workspace folder and child processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("predlog_child.py")


@pytest.fixture
def workspace(tmp_path) -> Path:
    """A project folder with an empty ``.workbench`` (the log needs nothing else)."""
    project = tmp_path / "project"
    (project / ".workbench").mkdir(parents=True)
    return project


def child(*args: str) -> subprocess.Popen:
    """Start ``predlog_child.py`` with ``args`` in a new process, stdout piped as text."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, str(CHILD), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO,
    )  # fmt: skip


def wait_ready(proc: subprocess.Popen) -> None:
    """Block until the child printed ``ready`` (it has emitted its first row)."""
    line = proc.stdout.readline()
    assert line.strip() == "ready", (line, proc.stderr.read() if proc.poll() is not None else "")
