"""The remote commands through the real entry point: a clone-like pull that verifies, one-line
errors with their exit codes, boto3 kept out of `--help`, and kill -9 during a push."""

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

from tests.helpers import run_cli
from tests.remote.conftest import free_port
from tests.remote.helpers import RemoteView

REPO = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("push_child.py")


def _ok(result, *expected: str) -> str:
    assert result.returncode == 0, result.stderr
    for text in expected:
        assert text in result.stdout, result.stdout
    return result.stdout


def _one_line_error(result, code: int, text: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == code, (result.returncode, result.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert text in lines[0], lines[0]
    assert "Traceback" not in result.stderr


def test_clone_through_the_cli(story, tmp_path):
    remote = tmp_path / "remote"
    clone = tmp_path / "clone"
    _ok(run_cli("-w", str(story), "remote", "add", "origin", str(remote)), "added remote origin")
    _ok(run_cli("-w", str(story), "push"), "pushed version 1 to origin")
    _ok(run_cli("-w", str(story), "push"), "origin is up to date (version 1)")
    _ok(run_cli("init", str(clone)))
    _ok(run_cli("-w", str(clone), "remote", "add", "origin", str(remote)))
    _ok(run_cli("-w", str(clone), "pull"), "pulled version 1 from origin: metadata replaced")
    _ok(run_cli("-w", str(clone), "verify"), "audit log intact")
    _ok(run_cli("-w", str(clone), "audit", "verify"), "ok: audit chain and state intact")
    _ok(run_cli("-w", str(clone), "remote", "log"), "v1 ", "alice")
    _ok(run_cli("-w", str(clone), "remote", "head", "--cache-key"), "key=workbench-objects-v1-")
    _ok(run_cli("-w", str(clone), "pull", "origin"), "up to date with origin (version 1)")
    _ok(run_cli("-w", str(clone), "models", "list"), "champion")


def test_remote_from_the_environment(story, tmp_path):
    """CI names the remote with WORKBENCH_REMOTES__ORIGIN__URL; nothing is written."""
    env = {"WORKBENCH_REMOTES__ORIGIN__URL": str(tmp_path / "remote")}
    _ok(run_cli("-w", str(story), "remote", "list", env=env), "origin")
    _ok(run_cli("-w", str(story), "push", env=env), "pushed version 1")
    _one_line_error(
        run_cli("-w", str(story), "remote", "remove", "origin", env=env), 2, "environment"
    )


def test_errors_are_one_line(story, tmp_path, s3_server, bucket):
    ws = ["-w", str(story)]
    add = [*ws, "remote", "add"]
    _one_line_error(run_cli(*add, "x", "http://example.com/a"), 2, "unsupported remote URL")
    _one_line_error(run_cli(*add, "x", "s3://Bad_Bucket/p"), 2, "invalid S3 bucket name")
    _one_line_error(run_cli(*add, "x", "s3://key:secret@bucket/p"), 2, "credentials")
    _one_line_error(run_cli(*add, "Bad-Name", str(tmp_path)), 2, "invalid remote name")
    _one_line_error(run_cli(*add, "x", "s3://b-1/p", "--endpoint-url", "ftp://h"), 2, "endpoint")
    _one_line_error(run_cli(*add, "x", str(story / ".workbench" / "r")), 2, "inside the workspace")
    _one_line_error(run_cli(*ws, "push", "nope"), 2, "no remote 'nope'")
    _one_line_error(run_cli(*ws, "push"), 2, "no remote")

    _ok(run_cli(*add, "gone", str(tmp_path / "no" / "such" / "folder")))
    _one_line_error(run_cli(*ws, "pull", "gone"), 2, "does not exist")
    _one_line_error(run_cli(*ws, "push", "gone"), 2, "does not exist")

    closed = f"http://127.0.0.1:{free_port()}"
    _ok(run_cli(*add, "down", "s3://wb-down/p", "--endpoint-url", closed))
    _one_line_error(run_cli(*ws, "push", "down"), 3, "cannot reach")
    _one_line_error(run_cli(*ws, "pull", "down"), 3, "cannot reach")

    _ok(run_cli(*add, "nobucket", "s3://wb-no-such-bucket/p", "--endpoint-url", s3_server))
    _one_line_error(
        run_cli(*ws, "push", "nobucket"), 2, "bucket 'wb-no-such-bucket' does not exist"
    )

    _ok(run_cli(*add, "s3", f"s3://{bucket}/p", "--endpoint-url", s3_server))
    _one_line_error(run_cli(*ws, "pull", "s3"), 2, "empty: nothing to pull")
    no_keys = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
    result = subprocess.run(
        [sys.executable, "-c", "from workbench.cli.main import entry; entry()", *ws, "push", "s3"],
        env={k: v for k, v in os.environ.items() if k not in no_keys},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    _one_line_error(result, 2, "no AWS credentials")


def test_stale_push_exit_code(story, tmp_path):
    remote = str(tmp_path / "remote")
    clone = tmp_path / "clone"
    _ok(run_cli("-w", str(story), "remote", "add", "origin", remote))
    _ok(run_cli("-w", str(story), "push"))
    _ok(run_cli("init", str(clone)))
    _ok(run_cli("-w", str(clone), "remote", "add", "origin", remote))
    _ok(run_cli("-w", str(clone), "pull"))
    _ok(run_cli("-w", str(clone), "data", "add", str(story / "data" / "july.csv"), "-n", "b"))
    _ok(run_cli("-w", str(clone), "push"), "pushed version 2")
    _ok(run_cli("-w", str(story), "data", "add", str(story / "data" / "july.csv"), "-n", "c"))
    _one_line_error(run_cli("-w", str(story), "push"), 4, "has moved on: version 2")
    _one_line_error(run_cli("-w", str(story), "pull"), 4, "would lose them")


def test_help_does_not_load_boto3():
    code = (
        "import sys\n"
        "from workbench.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "from workbench.cli.main import main\n"
        "try:\n    main(['remote', '--help'])\nexcept SystemExit:\n    pass\n"
        "print('boto3' in sys.modules, 'botocore' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.stdout.strip().splitlines()[-1] == "False False", out.stderr


def _big_snapshot(root: Path) -> None:
    """~10 MB of incompressible numbers, so an upload takes long enough to be cut."""
    rng = np.random.default_rng(0)
    path = root / "big.parquet"
    pl.DataFrame({f"x{i}": rng.random(300_000) for i in range(4)}).write_parquet(path)
    _ok(run_cli("-w", str(root), "data", "add", str(path), "-n", "big"))


def _push_child(root: Path, at: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(CHILD), str(root), str(at)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip


@pytest.mark.parametrize("kind", ["folder", "s3"])
def test_kill_9_during_push_leaves_the_remote_consistent(story, tmp_path, kind, request):
    if kind == "folder":
        url, endpoint = str(tmp_path / "remote"), None
    else:
        endpoint = request.getfixturevalue("s3_server")
        url = f"s3://{request.getfixturevalue('bucket')}/ws"
    view = RemoteView(kind, url, endpoint)
    extra = ["--endpoint-url", endpoint] if endpoint else []
    _ok(run_cli("-w", str(story), "remote", "add", "origin", url, *extra))
    _ok(run_cli("-w", str(story), "push"))
    _big_snapshot(story)

    # killed at the start of each phase: checking, listing, uploading objects, metadata, commit
    at = 1
    while True:
        child = _push_child(story, at)
        out, err = child.communicate(timeout=300)
        if child.returncode == 0:
            assert "pushed" in out
            break
        assert child.returncode == -signal.SIGKILL, err
        assert view.versions() == [1], f"killed at phase {at}"
        view.check_consistent()
        at += 1
    assert at >= 5 and view.versions() == [1, 2]
    view.check_consistent()

    # killed in the middle of the uploads, a little later each time
    rng = np.random.default_rng(1)
    second = story / "big2.parquet"
    pl.DataFrame({f"y{i}": rng.random(300_000) for i in range(4)}).write_parquet(second)
    _ok(run_cli("-w", str(story), "data", "add", str(second), "-n", "big2"))
    cut_short = 0
    for delay in (0.0, 0.02, 0.05, 0.1, 0.2):
        child = _push_child(story, 0)
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith("uploading") and "objects" in line:
                break
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=60)
        assert view.versions() in ([1, 2], [1, 2, 3])
        cut_short += view.versions() == [1, 2]
        view.check_consistent()
    assert cut_short, "no kill landed before the commit"
    if view.versions() == [1, 2]:
        _ok(run_cli("-w", str(story), "push"), "pushed version 3")
    view.check_consistent()

    clone = tmp_path / "clone"
    _ok(run_cli("init", str(clone)))
    _ok(run_cli("-w", str(clone), "remote", "add", "origin", url, *extra))
    _ok(run_cli("-w", str(clone), "pull"), "pulled version 3")
    _ok(run_cli("-w", str(clone), "verify"), "audit log intact")
    _ok(run_cli("-w", str(clone), "data", "show", "big2"))
