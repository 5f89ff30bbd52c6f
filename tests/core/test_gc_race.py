"""`gc` racing writers never loses an object; killed writes leave temp files that `verify`
reports and the next write (or `gc`) removes. Real processes throughout.

A writer is slowed down deterministically where the race lives: `data add` renames its object
into place, then checks the columns' roles and records it. The child process below makes that
check wait for a file to appear, so the window lasts as long as the test needs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

pytestmark = pytest.mark.slow

#: a `data add` that, with its object in place and before recording it, waits for a file
SLOW_ADD = """
import sys, time
from pathlib import Path
import workbench.snapshots.service as service
release = Path(sys.argv[1])
real = service.check_columns
def slow(*args):
    while not release.exists():
        time.sleep(0.02)
    return real(*args)
service.check_columns = slow
sys.argv = ["workbench", *sys.argv[2:]]
from workbench.cli.main import entry
entry()
"""


def _frame(seed: int, n: int = 50_000) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame({f"x{i}": rng.normal(size=n) for i in range(6)})


def _slow_add(ws, src: Path, name: str, release: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", SLOW_ADD, str(release), "-w", str(ws.root), "data", "add",
         str(src), "--name", name],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def _gc_process(ws, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from workbench.cli.main import entry; entry()",
         "-w", str(ws.root), "gc"],
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def test_gc_during_an_add_waits_and_the_added_object_survives(ws, tmp_path):
    src = tmp_path / "big.csv"
    _frame(1).write_csv(src)
    release = tmp_path / "release"
    before = set(ws.objects.digests())
    adder = _slow_add(ws, src, "big", release)
    # the object is in place but not yet recorded: the window gc used to fall into
    _wait_for(lambda: set(ws.objects.digests()) - before)
    gc = subprocess.Popen(
        [sys.executable, "-c", "from workbench.cli.main import entry; entry()",
         "-w", str(ws.root), "gc"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(1.0)
    assert gc.poll() is None, "gc ran while a write was in flight"
    release.touch()
    out, err = adder.communicate(timeout=120)
    assert adder.returncode == 0, err
    assert "added big@v1" in out
    gc_out, gc_err = gc.communicate(timeout=120)
    assert gc.returncode == 0, gc_err
    assert "removed 0 unreferenced objects" in gc_out
    assert ws.verify().ok
    exported = tmp_path / "out.parquet"
    ws.export("big@v1", exported)
    assert pl.read_parquet(exported).height == 50_000


def test_writers_and_a_gc_loop_lose_nothing(ws, tmp_path):
    """Several adds one after another while another process collects garbage in a loop."""
    sources = []
    for k in range(6):
        path = tmp_path / f"part{k}.csv"
        _frame(10 + k, 30_000).write_csv(path)
        sources.append(path)
    stop = tmp_path / "stop"
    looper = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom pathlib import Path\nfrom workbench.api import Workspace\n"
         "ws = Workspace(sys.argv[1])\nn = 0\n"
         "while not Path(sys.argv[2]).exists():\n    ws.gc(); n += 1\nprint(n)\n",
         str(ws.root), str(stop)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        for k, path in enumerate(sources):
            res = subprocess.run(
                [sys.executable, "-c", "from workbench.cli.main import entry; entry()",
                 "-w", str(ws.root), "data", "add", str(path), "--name", f"part{k}"],
                capture_output=True, text=True, timeout=180,
            )  # fmt: skip
            assert res.returncode == 0, res.stderr
    finally:
        stop.touch()
        out, err = looper.communicate(timeout=120)
    assert looper.returncode == 0, err
    assert int(out.strip()) > 0  # gc really ran meanwhile
    assert len(ws.snapshots()) == 6
    report = ws.verify()
    assert report.ok, (report.missing, report.damaged)
    for k in range(6):
        assert ws.load(f"part{k}").height == 30_000


def test_a_killed_add_leaves_a_temp_file_that_verify_reports_and_the_next_write_removes(
    ws, tmp_path
):
    src = tmp_path / "big.csv"
    _frame(2).write_csv(src)
    adder = _slow_add(ws, src, "big", tmp_path / "never")
    tmp = ws.objects.tmp
    # the object is in place and not recorded; kill while the add waits
    _wait_for(lambda: any(ws.objects.digests()))
    os.kill(adder.pid, signal.SIGKILL)
    adder.wait(timeout=30)
    # make sure a temp file of the dead process is there (a kill can land after the rename)
    (tmp / f"{adder.pid}-leftover.parquet").write_bytes(b"x" * 1000)
    report = ws.verify()
    assert report.ok and report.stale_temp and report.stale_bytes >= 1000
    verify = subprocess.run(
        [sys.executable, "-c", "from workbench.cli.main import entry; entry()",
         "-w", str(ws.root), "verify"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert verify.returncode == 0 and "left by interrupted writes" in verify.stderr
    other = tmp_path / "small.csv"
    _frame(3, 100).write_csv(other)
    ws.add_snapshot(other, "small")  # any write sweeps temp files of processes that are gone
    assert not [t for t in ws.objects.temp_files() if t.stale]
    assert not ws.snapshots("big")  # the killed add recorded nothing
    res = _gc_process(ws)
    assert res.returncode == 0 and "removed 1 unreferenced objects" in res.stdout
    assert ws.verify().ok


def test_exporting_or_loading_a_snapshot_whose_object_is_gone_is_one_clear_error(ws, tmp_path):
    src = tmp_path / "small.csv"
    _frame(4, 50).write_csv(src)
    snap = ws.add_snapshot(src, "small").snapshot
    path = ws.objects.path(snap.object_hash)
    path.chmod(0o644)
    path.unlink()
    res = subprocess.run(
        [sys.executable, "-c", "from workbench.cli.main import entry; entry()",
         "-w", str(ws.root), "data", "export", "small", str(tmp_path / "out.parquet")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert res.returncode == 1, res.stderr
    assert "is missing" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "out.parquet").exists()
    from workbench.errors import IntegrityError

    with pytest.raises(IntegrityError, match="is missing"):
        ws.load("small")
