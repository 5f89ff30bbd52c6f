"""The console script ends the process without the interpreter's teardown, losing nothing."""

from __future__ import annotations

import subprocess
import sys

# An object whose finaliser prints at the interpreter's teardown, and an exit function.
PROBE = (
    "import atexit, sys\n"
    "class Z:\n"
    "    def __del__(self): print('torn down', flush=True)\n"
    "z = Z()\n"
    "atexit.register(lambda: print('exit function ran', flush=True))\n"
)


def _python(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60
    )


def test_entry_runs_exit_functions_keeps_output_and_codes_but_skips_teardown():
    done = _python(PROBE + "from workbench.cli.main import entry; entry()", "--version")
    assert done.returncode == 0
    assert done.stdout.splitlines()[-1] == "exit function ran" and "version" in done.stdout
    assert "torn down" not in done.stdout  # the teardown it exists to skip

    # a user error keeps its one line and exit code
    failed = _python(PROBE + "from workbench.cli.main import entry; entry()", "runs", "lst")
    assert failed.returncode == 2 and "torn down" not in failed.stdout
    assert failed.stderr.strip().startswith("error:") and "Traceback" not in failed.stderr

    # main() called from Python returns; the interpreter then exits as usual
    plain = _python(PROBE + "from workbench.cli.main import main; main()", "--version")
    assert plain.returncode == 0 and plain.stdout.splitlines()[-1] == "torn down"


def test_entry_waits_the_usual_way_for_a_running_thread():
    # The thread ends only once the interpreter shuts down (joining the main thread returns
    # then), so it is still running when the command has finished, however slow the machine.
    # (It slept 0.5 s: on a busy machine the command took longer, the thread was done, and the
    # exit rightly skipped the teardown.)
    code = (
        PROBE + "import threading\n"
        "threading.Thread(target=lambda: (threading.main_thread().join(),"
        " print('thread done', flush=True))).start()\n"
        "from workbench.cli.main import entry; entry()"
    )
    done = _python(code, "--version")
    assert done.returncode == 0
    assert "thread done" in done.stdout and "torn down" in done.stdout
