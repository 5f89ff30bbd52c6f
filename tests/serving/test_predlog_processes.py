"""The prediction log across real OS processes: SIGKILL, SIGTERM, Ctrl-C, concurrent writers,
compaction beside them, and a compaction killed half-way."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import duckdb
import polars as pl
import pytest

from tests.serving.predlog_helpers import REPO, child, wait_ready
from workbench.serving.predlog import (
    Prediction,
    compact,
    create_prediction_views,
    open_prediction_log,
    predictions_dir,
    read_predictions,
)
from workbench.serving.predlog_layout import list_folder

RATE = 2000  # rows per second each writer logs


def logged_numbers(workspace, writer: str) -> list[int]:
    """The sequence numbers of ``writer``'s rows in the log, sorted, repeats kept."""
    frame = read_predictions(workspace, dedupe=False).filter(pl.col("in_writer") == writer)
    return sorted(frame["in_n"].to_list())


def assert_whole_files(workspace) -> None:
    """Every file with a final name reads completely; only temporary names may be torn."""
    for path in predictions_dir(workspace).rglob("*.parquet"):
        pl.read_parquet(path)


@pytest.mark.slow
@pytest.mark.parametrize("seconds", [2.3, 3.1])
def test_sigkill_loses_at_most_the_last_interval_and_leaves_no_torn_file(workspace, seconds):
    proc = child("write", str(workspace), "w", "0", str(RATE), "default")
    wait_ready(proc)
    time.sleep(seconds + random.random() * 0.5)  # let it log; land anywhere in a flush cycle
    killed_at = time.time()
    proc.kill()
    proc.wait(30)

    assert_whole_files(workspace)
    numbers = logged_numbers(workspace, "w")
    assert numbers == list(range(len(numbers)))  # a prefix of what was emitted, each once
    assert len(numbers) >= RATE  # more than a second of rows made it
    newest = read_predictions(workspace)["time"].max().timestamp()
    lost = killed_at - newest
    print(f"SIGKILL: {len(numbers)} rows kept, the newest {lost:.2f} s before the kill")
    # One flush interval, plus the flush itself on a shared, busy machine.
    assert lost < 1.0 + 1.0, f"{lost:.2f} s of rows lost"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("handling", "signum"),
    [("flag", signal.SIGTERM), ("flag", signal.SIGINT), ("default", signal.SIGINT)],
)
def test_a_clean_shutdown_on_a_signal_writes_every_row(workspace, handling, signum):
    proc = child("write", str(workspace), "w", "0", str(RATE), handling)
    wait_ready(proc)
    time.sleep(1.2)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    emitted = int(out.split()[-1])
    numbers = logged_numbers(workspace, "w")
    # Ctrl-C's KeyboardInterrupt may land after an emit, before the child counted it.
    assert len(numbers) in ((emitted,) if handling == "flag" else (emitted, emitted + 1))
    assert numbers == list(range(len(numbers)))
    assert not list(predictions_dir(workspace).rglob("*.tmp"))


@pytest.mark.slow
def test_two_writers_and_a_compaction_meanwhile_lose_and_duplicate_nothing(workspace):
    rows = 9000  # three seconds of each writer
    compactor = child("compact-loop", str(workspace))
    wait_ready(compactor)  # compacting before the first segment lands
    writers = [child("write", str(workspace), w, str(rows), "3000", "flag") for w in "ab"]
    for proc in writers:
        wait_ready(proc)
    con = duckdb.connect()
    seen = 0
    while any(proc.poll() is None for proc in writers):
        ids = read_predictions(workspace, dedupe=False)["request_id"]
        assert ids.n_unique() == len(ids) >= seen  # reading while writing and compacting
        seen = len(ids)
        create_prediction_views(con, workspace)
        duplicates = "select count(*) - count(distinct request_id) from predictions_raw"
        assert con.execute(duplicates).fetchall() == [(0,)]
    for proc in writers:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0 and out.split()[-1] == str(rows), err
    compactor.send_signal(signal.SIGTERM)
    out, err = compactor.communicate(timeout=60)
    assert compactor.returncode == 0 and int(out.split()[-1]) >= 1, err  # files it wrote

    expected = sorted(f"{w}-{i}" for w in "ab" for i in range(rows))
    assert sorted(read_predictions(workspace, dedupe=False)["request_id"]) == expected
    assert con.execute("select count(*) from predictions_raw").fetchall() == [(2 * rows,)]
    compact(workspace, grace=0, target_size=1 << 30)
    assert sorted(read_predictions(workspace, dedupe=False)["request_id"]) == expected
    for folder in predictions_dir(workspace).glob("*/*/*"):  # superseded files are gone
        assert not list_folder(folder).superseded


@pytest.mark.parametrize("where", ["before-rename", "after-rename"])
def test_a_compaction_killed_half_way_leaves_a_readable_log(workspace, where):
    with open_prediction_log(workspace, interval=3600) as log:
        for i in range(12):
            log.emit(Prediction(f"r{i}", "churn", 1, {"n": i}))
            if i % 3 == 2:
                log.flush()
    before = sorted(read_predictions(workspace, dedupe=False)["request_id"])

    proc = child("compact", str(workspace), where)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL and "survived" not in out, err

    assert_whole_files(workspace)
    assert sorted(read_predictions(workspace, dedupe=False)["request_id"]) == before
    con = duckdb.connect()
    create_prediction_views(con, workspace)
    assert con.execute("select count(*) from predictions_raw").fetchall() == [(12,)]
    leftovers = list(predictions_dir(workspace).rglob("*.tmp"))
    assert len(leftovers) == (1 if where == "before-rename" else 0)

    # The next compaction finishes the job (the lock died with the killed process).
    report = compact(workspace, grace=0, now=time.time() + 7200)
    assert not report.busy and report.temp_files_removed == len(leftovers)
    assert sorted(read_predictions(workspace, dedupe=False)["request_id"]) == before
    assert len(list(predictions_dir(workspace).rglob("*.parquet"))) == 1


def test_a_log_its_owner_forgot_to_close_is_flushed_at_exit(workspace):
    code = (
        "from workbench.serving.predlog import Prediction, open_prediction_log\n"
        f"log = open_prediction_log({str(workspace)!r}, interval=3600)\n"
        "for i in range(100):\n"
        "    log.emit(Prediction(f'r{i}', 'churn', 1, {'n': i}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)
    assert read_predictions(workspace).height == 100
