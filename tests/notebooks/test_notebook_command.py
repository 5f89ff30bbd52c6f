"""``workbench notebook``: copies of the notebooks beside the workspace, then JupyterLab there."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import run_cli

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


@pytest.fixture
def project(tmp_path) -> Path:
    root = tmp_path / "proj"
    assert run_cli("init", str(root)).returncode == 0
    return root


def test_the_notebooks_are_copied_once_and_a_learners_copy_is_kept(project):
    first = run_cli("-w", str(project), "notebook", "03", "--print-command")
    assert first.returncode == 0, first.stderr
    dest = project / "notebooks"
    assert sorted(p.name for p in dest.glob("*.ipynb")) == [p.name for p in NOTEBOOKS]
    assert f"notebooks in {dest}: {len(NOTEBOOKS)} copied" in first.stdout
    command = first.stdout.strip().splitlines()[-1]
    assert command.startswith(f"WORKBENCH_WORKSPACE={project} ")
    assert f"--notebook-dir={dest}" in command and command.endswith(str(dest / "03_drift.ipynb"))

    edited = dest / "01_data_versions.ipynb"
    edited.write_text(edited.read_text().replace("Data versions", "My data versions"))
    mine = edited.read_text()
    (dest / "02_experiments.ipynb").unlink()
    again = run_cli("-w", str(project), "notebook", "--print-command")
    assert again.returncode == 0, again.stderr
    assert f"1 copied, {len(NOTEBOOKS) - 1} kept as they were" in again.stdout
    assert edited.read_text() == mine  # never overwritten


def test_an_unknown_notebook_or_a_file_for_the_folder_is_one_line(project, tmp_path):
    unknown = run_cli("-w", str(project), "notebook", "09_nothing")
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert unknown.stderr.startswith("error: no notebook '09_nothing' (one of: 01_data_versions")
    a_file = tmp_path / "file"
    a_file.write_text("")
    refused = run_cli("-w", str(project), "notebook", "--dir", str(a_file))
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert not (project / "notebooks").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_jupyterlab_starts_on_the_workspace(project, tmp_path):
    port = _free_port()
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"), "JUPYTER_DATA_DIR": str(tmp_path / "data")}  # fmt: skip
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench", "-w", str(project), "notebook", "--no-browser",
         "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        version = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api", timeout=2) as r:
                    version = json.load(r)["version"]
                    break
            except OSError:
                time.sleep(0.5)
        assert version, proc.stdout.read() if proc.poll() is not None else "no answer in 90 s"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
