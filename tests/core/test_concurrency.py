"""Several OS processes share one workspace: all writes land, the store stays consistent."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

from workbench.errors import WorkspaceBusy
from workbench.store import Store

WRITER = textwrap.dedent(
    """
    import sys
    from workbench.api import Workspace
    ws = Workspace.open(sys.argv[1])
    for i in range(int(sys.argv[3])):
        ws.record("test.write", f"{sys.argv[2]}-{i}", process=sys.argv[2], i=i)
    """
)

READER = textwrap.dedent(
    """
    import sys, time
    from workbench.api import Workspace
    ws = Workspace.open(sys.argv[1])
    # Reads side by side with the writers until it has seen every record (or gives up).
    reads, seen, total = 0, 0, int(sys.argv[2])
    end = time.monotonic() + 300
    while seen < total and time.monotonic() < end:
        seen = max(seen, len(ws.audit_log()))
        ws.snapshots()
        reads += 1
    print(reads, seen)
    """
)


@pytest.mark.slow
def test_four_processes_write_800_records(ws):
    n_proc, n_each = 4, 200
    # A generous lock timeout: on a loaded 2-core machine 800 serialized writes take a while,
    # and this test is about every write landing, not about latency.
    env = {**os.environ, "WORKBENCH_LOCK_TIMEOUT": "300"}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(ws.root), f"p{k}", str(n_each)], env=env
        )
        for k in range(n_proc)
    ]
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(ws.root), str(n_proc * n_each)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    for w in writers:
        assert w.wait(timeout=300) == 0
    out, _ = reader.communicate(timeout=400)
    reads, seen = map(int, out.split())
    assert reader.returncode == 0 and reads > 1 and seen == n_proc * n_each

    entries = ws.audit_log()
    assert len(entries) == n_proc * n_each
    assert [e.seq for e in entries] == list(range(1, n_proc * n_each + 1))
    for k in range(n_proc):
        mine = [e.details["i"] for e in entries if e.details["process"] == f"p{k}"]
        assert mine == list(range(n_each))  # each process's writes landed, in its order
    assert ws.audit_verify() == []  # the hash chain held across processes


HOLDER = textwrap.dedent(
    """
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    con.close()
    """
)


def test_lock_conflict_retries_then_reports_busy(ws):
    path = ws.store.path
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), "2.5"], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "locked"
    impatient = Store(path, lock_timeout=0.3)
    start = time.monotonic()
    with pytest.raises(WorkspaceBusy, match="workspace busy"), impatient.write():
        pass
    assert time.monotonic() - start < 2.0
    patient = Store(path, lock_timeout=20)
    with patient.write() as con:  # waits for the holder, then succeeds
        con.execute("select 1")
    holder.wait(timeout=30)
