"""Cold start of ``workbench ui``: time to first paint and to a loaded snapshot table.

Runs the real entry point (``workbench -w PATH ui``) in a subprocess on a pseudo-terminal, with
``WORKBENCH_TUI_TIMING`` asking the app to write ``paint``/``ready`` timestamps and
``WORKBENCH_TUI_EXIT_WHEN_READY`` to quit once the workspace has loaded. The anchor is a bare
``python -c "import textual.app"`` in the same conditions: the floor any Textual app pays.

    .venv/bin/python benchmarks/bench_tui_start.py [--workspace PATH] [--runs 5]

Target: first paint <= 1.0 s. Not part of the test suite's pass/fail.
"""

from __future__ import annotations

import argparse
import os
import pty
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ENTRY = "from workbench.cli.main import entry; entry()"


def _drain(fd: int) -> None:
    """Read the app's terminal output so it never blocks on a full pty buffer."""
    try:
        while os.read(fd, 65536):
            pass
    except OSError:
        pass


def _run_on_pty(args: list[str], env: dict[str, str], timeout: float = 60) -> float:
    """Run ``args`` on a pty; returns the wall time from launch to exit."""
    master, slave = pty.openpty()
    os.set_blocking(master, True)
    reader = threading.Thread(target=_drain, args=(master,), daemon=True)
    reader.start()
    start = time.time()
    proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    try:
        proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return start


def time_app(workspace: Path) -> tuple[float, float]:
    """(seconds to first paint, seconds to a loaded workspace) for one cold start."""
    with tempfile.TemporaryDirectory() as tmp:
        timing = Path(tmp) / "timing.txt"
        env = dict(os.environ, WORKBENCH_TUI_TIMING=str(timing), WORKBENCH_TUI_EXIT_WHEN_READY="1",
                   TERM="xterm-256color", COLUMNS="120", LINES="40")  # fmt: skip
        start = _run_on_pty([sys.executable, "-c", ENTRY, "-w", str(workspace), "ui"], env)
        events = dict(line.split() for line in timing.read_text().splitlines())
        return float(events["paint"]) - start, float(events["ready"]) - start


def time_anchor() -> float:
    """Seconds for a bare ``import textual.app`` in a fresh interpreter."""
    env = dict(os.environ, TERM="xterm-256color")
    start = time.time()
    subprocess.run([sys.executable, "-c", "import textual.app"], env=env, check=True)
    return time.time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, help="workspace to open (default: a demo)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    workspace = args.workspace
    tmp = None
    if workspace is None:
        tmp = tempfile.TemporaryDirectory()
        workspace = Path(tmp.name) / "demo"
        from workbench.demo import create_demo

        create_demo(workspace)

    time_app(workspace)  # warm the OS file cache and .pyc files once
    paints, readies, anchors = [], [], []
    for _ in range(args.runs):
        anchors.append(time_anchor())
        paint, ready = time_app(workspace)
        paints.append(paint)
        readies.append(ready)
    paint, ready, anchor = (statistics.median(v) for v in (paints, readies, anchors))
    print(f"runs: {args.runs} (medians)")
    print(f"anchor  python -c 'import textual.app' : {anchor:6.3f} s")
    print(
        f"workbench ui  first paint              : {paint:6.3f} s  ({paint / anchor:.2f}x anchor)"
    )
    print(
        f"workbench ui  workspace loaded         : {ready:6.3f} s  ({ready / anchor:.2f}x anchor)"
    )
    print(f"target first paint <= 1.0 s: {'met' if paint <= 1.0 else 'NOT met'}")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
