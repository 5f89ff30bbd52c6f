"""Which process is this, and is a recorded process still alive?

Records that a process leaves behind while it works (a running training) name it by pid, host
and start time; a reader on the same host can then tell a live process from a dead one even
after its pid was reused. The start time is the kernel's (``/proc/<pid>/stat``, clock ticks
since boot) where there is one, else None (the pid alone is checked).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ProcessId",
    "this_process",
    "is_alive",
    "process_alive",
    "start_ticks",
    "os_account",
]


@dataclass(frozen=True)
class ProcessId:
    """A process as records name it."""

    pid: int
    host: str
    started: int | None


def start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may hold spaces: split after it
    fields = stat.rpartition(")")[2].split()
    try:
        return int(fields[19])  # field 22 of the whole line
    except (IndexError, ValueError):
        return None


def this_process() -> ProcessId:
    """This process."""
    pid = os.getpid()
    return ProcessId(pid, socket.gethostname(), start_ticks(pid))


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def is_alive(process: ProcessId) -> bool | None:
    """Whether a recorded process still runs: None when it ran on another host (unknown)."""
    if process.host != socket.gethostname():
        return None
    if not process_alive(process.pid):
        return False
    if process.started is not None:
        now = start_ticks(process.pid)
        if now is not None and now != process.started:
            return False  # the pid belongs to a newer process now
    return True


def os_account() -> str:
    """The operating-system account running this process, from its uid.

    Not from ``USER``/``LOGNAME``, which anyone can set: the audit log records this beside
    the name a person acts under, and roles are granted to it (see ``workbench.identity``).
    """
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):  # no passwd entry (some containers), or not POSIX
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"
