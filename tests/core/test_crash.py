"""Killing `data add` at any moment leaves no half object and no record without its object."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from workbench.objects import hash_file


def _consistent(ws) -> None:
    for snap in ws.snapshots():
        assert ws.objects.exists(snap.object_hash), f"{snap.ref} points to a missing object"
    for digest in ws.objects.digests():
        assert hash_file(ws.objects.path(digest)) == digest, "a half-written object"
    assert ws.verify().ok
    assert ws.audit_verify() == []


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory):
    rng = np.random.default_rng(1)
    n = 400_000
    df = pl.DataFrame({f"c{i}": rng.normal(size=n) for i in range(8)}).with_columns(
        cat=pl.Series(rng.choice(["a", "b", "c"], n))
    )
    path = tmp_path_factory.mktemp("crash") / "big.csv"
    df.write_csv(path)
    return path


def _start_add(ws, src, name):
    return subprocess.Popen(
        [sys.executable, "-c", "from workbench.cli.main import entry; entry()",
         "-w", str(ws.root), "data", "add", str(src), "--name", name],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


@pytest.mark.slow
def test_kill_at_random_moments(ws, big_csv):
    # Time one whole import, then kill others at moments spread across it.
    start = time.monotonic()
    proc = _start_add(ws, big_csv, "ref")
    assert proc.wait(timeout=300) == 0
    full = time.monotonic() - start
    rng = random.Random(3)
    delays = sorted(rng.uniform(0.05, full) for _ in range(6))
    for k, delay in enumerate(delays):
        src = big_csv.with_name(f"v{k}.csv")
        src.write_bytes(big_csv.read_bytes() + f"{k},0,0,0,0,0,0,0,a\n".encode())
        proc = _start_add(ws, src, "victim")
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        _consistent(ws)
    # The workspace still works, and gc clears what the kills left behind.
    ws.gc()
    _consistent(ws)
    assert ws.add_snapshot(big_csv, "after").created


def _reading(pid: int, path) -> bool:
    """The process has the file open or mapped: it is inside the import, past start-up."""
    target = str(path)
    try:
        fds = Path(f"/proc/{pid}/fd")
        if any(os.readlink(fd) == target for fd in fds.iterdir()):
            return True
        return target in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("after", [0.0, 0.3])
def test_ctrl_c_cancels_cleanly(ws, big_csv, after):
    # Interrupt once the import is under way (an interrupt during interpreter start-up is
    # Python's own business), straight away and a little later.
    src = big_csv.with_name(f"interrupted{int(after * 10)}.csv")
    src.write_bytes(big_csv.read_bytes() + b"1,2,3,4,5,6,7,8,c\n")  # new content: a full import
    proc = _start_add(ws, src, "interrupted")
    deadline = time.monotonic() + 60
    while not _reading(proc.pid, src) and proc.poll() is None:
        assert time.monotonic() < deadline, "the import never opened its source"
        time.sleep(0.005)
    time.sleep(after)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the import finished before the interrupt arrived")
    assert proc.returncode == 130 and "cancelled" in err and "Traceback" not in err, err
    _consistent(ws)
    assert not list(ws.objects.tmp.iterdir())
    assert "interrupted" not in {s.name for s in ws.snapshots()}
