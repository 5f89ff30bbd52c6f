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


def run_cli_tty(*args: str, columns: int = 80, timeout: float = 60) -> str:
    """Run the real entry point with stdout and stderr on a pseudo-terminal ``columns`` wide;
    returns what it printed (ANSI styles stripped), as a person at that terminal sees it."""
    import pty
    import re
    import select
    import time

    env = {k: v for k, v in os.environ.items() if k != "WORKBENCH_WORKSPACE"}
    env.update(COLUMNS=str(columns), LINES="50", TERM="xterm")
    main, side = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from workbench.cli.main import entry; entry()", *args],
        stdin=subprocess.DEVNULL, stdout=side, stderr=side, env=env, close_fds=True,
    )  # fmt: skip
    os.close(side)
    chunks, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.2)
        if ready:
            try:
                data = os.read(main, 65536)
            except OSError:  # the other end closed
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    proc.wait(timeout=timeout)
    os.close(main)
    text = b"".join(chunks).decode(errors="replace").replace("\r\n", "\n")
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07", "", text)


def record_fixture_edits(ws, con, *tables: str) -> None:
    """Record direct SQL edits a fixture made to governed tables (fixed times for snapshots)
    as an audit entry in the same transaction, as the workbench records its own changes:
    otherwise ``audit verify`` rightly reports them as changed outside the workbench."""
    rows = [
        (table, int(r[0]))
        for table in tables
        for r in con.execute(f'select id from "{table}"').fetchall()  # fixed table names
    ]
    ws.ctx.audit(con, "fixture.edited", None, {"tables": list(tables)}, rows=rows)


def allow_any_actor(settings_path: Path) -> None:
    """Let this process's OS account act under any name in a test workspace (``[accounts]
    ACCOUNT = ["*"]``), as a teaching machine would: tests play alice, bob and carol."""
    from workbench.processes import os_account

    line = f'"{os_account()}" = ["*"]\n'
    text = settings_path.read_text(encoding="utf-8") if settings_path.exists() else ""
    if "\n[accounts]\n" in f"\n{text}":
        text = f"\n{text}".replace("\n[accounts]\n", f"\n[accounts]\n{line}", 1)[1:]
    else:
        text += f"\n[accounts]\n{line}"
    settings_path.write_text(text, encoding="utf-8")
