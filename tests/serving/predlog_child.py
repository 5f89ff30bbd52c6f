"""A child process for the prediction-log tests: a writer, or a compaction that crashes.

``write WORKSPACE WRITER ROWS RATE SIGNALS``: log rows ``WRITER-0``, ``WRITER-1``, ... of
``churn@v1`` (ROWS = 0: until stopped) at RATE rows/s (0: flat out), printing ``ready`` after
the first row and ``emitted N`` after the log is closed. SIGNALS ``flag`` installs the
documented handling (SIGTERM and SIGINT set a flag; the loop ends; leaving ``with`` closes the
log); ``default`` keeps Python's own (Ctrl-C raises KeyboardInterrupt inside the ``with``).

``compact-loop WORKSPACE``: compact again and again (one big target size, the default grace
period) until SIGTERM, then print how many files it wrote.

``compact WORKSPACE WHERE``: run one compaction with no grace period and SIGKILL itself
``before-rename`` (the merged file is written and fsynced under its temporary name) or
``after-rename`` (the merged file is in place, the inputs not yet deleted).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time


def write(workspace: str, writer: str, rows: int, rate: float, signals: str) -> None:
    from workbench.serving.predlog import Prediction, open_prediction_log

    stop = threading.Event()
    if signals == "flag":
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
    emitted = 0
    start = time.monotonic()
    try:
        with open_prediction_log(workspace) as log:
            log.sink.declare_inputs("churn", 1, {"n": "Int64", "writer": "String"})
            while not stop.is_set() and (rows == 0 or emitted < rows):
                log.emit(
                    Prediction(f"{writer}-{emitted}", "churn", 1, {"n": emitted, "writer": writer})
                )
                emitted += 1
                if emitted == 1:
                    print("ready", flush=True)
                if rate and emitted % 20 == 0:  # pace in small bursts
                    time.sleep(max(0.0, start + emitted / rate - time.monotonic()))
    except KeyboardInterrupt:
        pass
    print(f"emitted {emitted}", flush=True)


def crash_compaction(workspace: str, where: str) -> None:
    from workbench.serving import predlog_compact, predlog_layout
    from workbench.serving.predlog import compact

    def die(*_: object) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    if where == "before-rename":
        real_rename = os.rename

        def rename(src, dst):
            if os.path.basename(src).startswith(".cmp-"):  # the merged file's temporary name
                die()
            real_rename(src, dst)

        predlog_layout.os.rename = rename  # this process only
    else:
        real_write = predlog_compact.write_atomic

        def write_then_die(*args, **kwargs):
            real_write(*args, **kwargs)
            die()

        predlog_compact.write_atomic = write_then_die
    compact(workspace, grace=0)
    print("survived", flush=True)


def compact_loop(workspace: str) -> None:
    from workbench.serving.predlog import compact

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    written = 0
    print("ready", flush=True)
    while not stop.is_set():
        written += compact(workspace, target_size=1 << 30).files_written
        stop.wait(0.05)
    print(f"written {written}", flush=True)


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "write":
        write(args[0], args[1], int(args[2]), float(args[3]), args[4])
    elif command == "compact-loop":
        compact_loop(args[0])
    else:
        crash_compaction(args[0], args[1])
