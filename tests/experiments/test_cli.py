"""``workbench train`` and ``workbench runs ...`` through the real entry point (subprocesses)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time

import pytest

from tests.helpers import run_cli

ENV = {"OMP_WAIT_POLICY": "PASSIVE"}
FAST = ["-p", "num_iterations=40", "-p", "early_stopping_round=10", "-p", "num_threads=2"]


def cli(ws, *args: str, ok: bool = True):
    result = run_cli("-w", str(ws.root), *args, env=ENV)
    if ok:
        assert result.returncode == 0, result.stderr
    return result


@pytest.mark.slow
def test_sweep_list_compare_tag_show_delete_rerun(demo_ws, tmp_path):
    ws = demo_ws
    config = tmp_path / "train.toml"
    config.write_text('note = "from config"\n[params]\nnum_iterations = 40\nnum_threads = 2\n')
    made = cli(ws, "train", "churn@v1", "--config", str(config), "--grid", "num_leaves=7,15",
               "--no-mlflow", "--json")  # fmt: skip
    runs = json.loads(made.stdout)
    assert [r["params"]["num_leaves"] for r in runs] == ["7", "15"]
    assert {r["note"] for r in runs} == {"from config"} and {r["status"] for r in runs} == {
        "finished"
    }
    a, b = (r["id"] for r in runs)

    listed = json.loads(cli(ws, "runs", "list", "--where", "num_leaves >= 7", "--sort", "-num_leaves",
                            "--json").stdout)  # fmt: skip
    assert [r["id"] for r in listed] == [b, a] and listed[0]["num_leaves"] == 15
    table = cli(ws, "runs", "list", "--sort", "-auc").stdout
    assert "auc" in table and "num_leaves" in table

    compared = cli(ws, "runs", "compare", str(a), str(b), "--only-diff").stdout
    assert "num_leaves" in compared and "same data" in compared
    assert "learning_rate" not in compared and "validation binary_logloss" in compared
    # metrics and deltas with four decimals; iteration ticks are whole numbers
    assert re.search(r"\n auc +0\.\d{4} +0\.\d{4} +[+-]0\.\d{4} *\n", compared), compared
    ticks = compared.strip().splitlines()[-2].split()
    assert ticks[0] == "1" and all(t.replace(",", "").isdigit() for t in ticks), ticks

    cli(ws, "runs", "tag", str(a), "owner=ana", "stage=try")
    shown = json.loads(cli(ws, "runs", "show", str(a), "--json").stdout)
    assert shown["tags"] == {"owner": "ana", "stage": "try"} and shown["status"] == "finished"

    cli(ws, "runs", "delete", str(b))
    assert [r["id"] for r in json.loads(cli(ws, "runs", "list", "--json").stdout)] == [a]

    again = cli(ws, "runs", "rerun", str(a), "--no-mlflow").stdout
    assert f"metrics identical to run {a}" in again

    # a metric no listed run has is left out of the listing (rmse among classifiers)
    cli(ws, "train", "churn@v1", "--target", "tenure_months", "-p", "num_iterations=5",
        "--no-mlflow")  # fmt: skip
    assert "rmse" in cli(ws, "runs", "list").stdout
    binary = cli(ws, "runs", "list", "--where", "task = binary").stdout
    assert "auc" in binary and "rmse" not in binary and "r2" not in binary


def test_bad_input_is_one_line_exit_2(demo_ws):
    ws = demo_ws
    for args in (
        ["runs", "list", "--where", "auc > 0; drop table runs"],
        ["runs", "list", "--where", "note = 'x' or 1=1"],
        ["runs", "show", "999"],
        ["runs", "show", "abc"],
        ["train", "churn", "-p", "no-equals-sign"],
        ["train", "nosuch@v1"],
        ["train", "churn", "--task", "ranking"],
        ["train", "churn", "--target", "nope"],
        ["train", "churn", "--exclude", "nope"],
        ["train", "churn", "--split", "time", "--time-column", "nope"],
        # LightGBM prints its own "[LightGBM] [Fatal] ..." line to the process's stderr
        ["train", "churn", "-p", "num_leaves=1", "--no-mlflow"],
        ["runs", "compare", "1"],
    ):
        result = cli(ws, *args, ok=False)
        assert result.returncode == 2, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, result.stderr)
        assert "Traceback" not in result.stderr
    # only the refused num_leaves=1 got as far as a (failed) run
    (run_id,) = ws.runs(include_deleted=True)["id"].to_list()
    assert ws.run(run_id).reason.endswith("num_leaves must be > 1")


def test_ctrl_c_records_cancelled_and_exits_130(demo_ws):
    ws = demo_ws
    args = ["-w", str(ws.root), "train", "churn", "--no-mlflow", "-p", "num_iterations=100000",
            "-p", "early_stopping_round=0", "-p", "learning_rate=0.001", "-p", "num_threads=1"]  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-c", "from workbench.cli.main import entry; entry()", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while ws.runs("status = running").height == 0:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "training never started"
            time.sleep(0.2)
        time.sleep(1.0)  # inside LightGBM's iterations
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    rec = ws.run(ws.runs(include_deleted=True)["id"][0])
    assert rec.status == "cancelled" and rec.reason == "interrupted (Ctrl-C)"
    assert rec.model_hash is None


def test_progress_bars_show_an_unknown_size_after_a_known_one():
    """After the rounds, 'scoring the holdout' has no size: no stale '0/400' and ETA."""
    import io

    from rich.console import Console

    from workbench.cli.output import RichProgress
    from workbench.cli.runs import TrainBar

    def shown(bar) -> str:
        console = Console(file=io.StringIO(), width=120, color_system=None)
        console.print(bar._bar.make_tasks_table(bar._bar.tasks))
        return console.file.getvalue()

    for bar in (TrainBar(), RichProgress()):
        bar.start("train", total=400)
        bar.advance(120)
        if not isinstance(bar, TrainBar):
            assert "30%" in shown(bar)
        bar.start("scoring the holdout", total=None)
        (task,) = bar._bar.tasks
        assert task.description == "scoring the holdout"
        assert task.total is None and task.completed == 0
        assert "scoring the holdout" in shown(bar)
        assert "0%" not in shown(bar) and "0/400" not in shown(bar)  # no made-up progress


@pytest.mark.slow
def test_first_training_in_a_new_workspace_prints_no_mlflow_set_up_lines(tmp_path):
    """Creating the MLflow store logs its table set-up at INFO; the user sees none of it."""
    from tests.experiments.conftest import churn_frame

    churn_frame().write_csv(tmp_path / "churn.csv")
    ws = str(tmp_path / "ws")
    for args in (
        ["init", ws],
        ["-w", ws, "data", "add", str(tmp_path / "churn.csv"), "-n", "churn"],
    ):
        assert run_cli(*args).returncode == 0
    trained = run_cli("-w", ws, "train", "churn", "--target", "churn", *FAST, env=ENV)
    assert trained.returncode == 0, trained.stderr
    from tests.experiments.test_mirror import wait_mirrored
    from workbench.api import Workspace

    wait_mirrored(Workspace(tmp_path / "ws"), 1)  # the store is made by the background mirror
    assert (tmp_path / "ws" / ".workbench" / "mlflow" / "mlflow.db").is_file()
    assert trained.stderr == ""
    assert not list((tmp_path / "ws" / ".workbench" / "logs").glob("mirror-*.log"))  # nor there
    assert "finished on churn@v1" in trained.stdout


def test_narrow_terminals_get_whole_columns_by_priority():
    """At 80 columns rich cut every column of a runs listing to 'crea…', '0…' and dropped id."""
    from workbench.cli.runs import _fit_columns

    columns = ["id", "created", "status", "snapshot", "auc", "logloss", "num_leaves", "note"]
    texts = {c: [c.upper()] for c in columns}  # each column needs len(name) + 2
    texts["note"] = ["a long note about this run"]
    priority = ["id", "status", "snapshot", "num_leaves", "auc", "logloss", "created", "note"]
    shown, hidden = _fit_columns(columns, texts, priority, width=46)
    # id 4 + status 8 + snapshot 10 + num_leaves 12 + auc 5 = 39; logloss (9) would pass 46
    assert shown == ["id", "status", "snapshot", "auc", "num_leaves"]  # in display order
    assert hidden == ["created", "logloss", "note"]
    assert _fit_columns(columns, texts, priority, width=500) == (columns, [])


def test_listings_on_an_80_column_terminal_show_whole_values(demo_ws):
    """Seen in tmux: rich cut 'runs list' to 'crea…'/'0…' without an id, and refs to
    'prod-2025-12…' in 'data list'. At a real (pseudo-)terminal 80 columns wide:"""
    from tests.helpers import run_cli_tty

    ws = demo_ws
    cli(ws, "train", "churn@v1", *FAST, "--no-mlflow", "--grid", "num_leaves=7,15")
    listed = run_cli_tty("-w", str(ws.root), "runs", "list", "--sort", "-auc")
    lines = listed.strip().splitlines()
    assert lines[0].split()[:3] == ["id", "status", "snapshot"] and "auc" in lines[0], listed
    assert all(len(line) <= 80 for line in lines) and "…" not in listed
    assert re.search(r"^ \d+ +finished +churn@v1 +0\.\d{4}", lines[1], re.M), listed
    assert "not shown (too narrow):" in listed and "--json" in listed

    batch = ws.root / "batch.csv"
    ws.load("churn@v1").head(50).write_csv(batch)
    ws.add_snapshot(batch, "production-batch-2025-12", message="December: all drift at its peak")
    snapshots = run_cli_tty("-w", str(ws.root), "data", "list")
    assert "production-batch-2025-12@v1" in snapshots and "…" not in snapshots, snapshots
    assert "December:" in snapshots and "drift at its peak" in snapshots
    assert snapshots.splitlines()[0].split() == ["snapshot", "rows", "cols", "created", "message"]
    wide = run_cli_tty("-w", str(ws.root), "data", "list", columns=140)
    assert wide.splitlines()[0].split() == [
        "snapshot",
        "rows",
        "cols",
        "created",
        "author",
        "hash",
        "message",
    ]
