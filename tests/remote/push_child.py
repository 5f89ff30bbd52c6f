"""Run `push` in a child process that SIGKILLs itself at a chosen step (tests/remote)."""

from __future__ import annotations

import os
import signal
import sys

from workbench.api import Workspace


class KillAt:
    """A progress that kills its own process at the ``at``-th phase that starts."""

    def __init__(self, at: int) -> None:
        self.at = at
        self.phases = 0

    def start(self, task: str, total: float | None = None) -> None:
        self.phases += 1
        print(task, flush=True)  # the parent may wait for a phase, then kill
        if self.phases == self.at:
            os.kill(os.getpid(), signal.SIGKILL)

    def advance(self, amount: float = 1.0) -> None:
        pass

    def check_cancelled(self) -> None:
        pass


if __name__ == "__main__":
    at = int(sys.argv[2])
    Workspace(sys.argv[1]).push("origin", progress=KillAt(at))  # 0: never
    print("pushed")
