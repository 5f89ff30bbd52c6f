"""`workbench ci run-local` in a temporary git repository (real git) whose workspace was pushed
to a folder remote: the pull-request pipeline's steps, end to end, without Docker."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # shared 2-core machine: do not spin

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import run_cli
from tests.remote.story import build_story

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def _ok(result):
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result.stdout


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> tuple[Path, Path]:
    """(repository, remote): a git repository holding a workspace pushed to a folder, new
    labelled data, and the workflows `ci init` wrote, committed."""
    from workbench.demo_data import generate

    base = tmp_path_factory.mktemp("ci")
    repo, remote = base / "repo", base / "remote"
    build_story(repo)
    _ok(run_cli("-w", str(repo), "remote", "add", "origin", str(remote)))
    _ok(run_cli("-w", str(repo), "push"))
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "ci@example.com")
    _git(repo, "config", "user.name", "CI")
    batch = generate(seed=7, n_train=1500, n_per_batch=300).batches["2025-08"]
    batch.write_csv(repo / "data" / "batch.csv")
    out = _ok(run_cli("ci", "init", "--github", "--data", "data/batch.csv", cwd=repo))
    assert "wrote .github/workflows/workbench-pr.yml" in out
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "workbench CI")
    tracked = subprocess.run(["git", "-C", str(repo), "ls-files"], capture_output=True, text=True)
    assert ".workbench/workbench.toml" in tracked.stdout  # the settings travel in git...
    assert "meta.duckdb" not in tracked.stdout  # ...the workspace's data does not
    return repo, remote


def _remote_versions(remote: Path) -> list[str]:
    return sorted(p.name for p in (remote / "versions").iterdir())


def test_run_local_passes_like_ci(project, tmp_path):
    repo, remote = project
    before = _remote_versions(remote)
    head = _ok(run_cli("-w", str(repo), "audit", "anchor"))
    result = run_cli("ci", "run-local", "--out", str(tmp_path / "out"), cwd=repo, timeout=600)
    out = _ok(result)
    for title in ("pull the workspace", "validate the new data", "record the new data",
                  "retrain and run the gates", "render the pull-request comment"):  # fmt: skip
        assert re.search(rf"ok +{title}", out), out
    report = (tmp_path / "out" / "workbench-report.md").read_text()
    assert "✅ gates passed" in report and "promote churn-model@v3 to champion" in report
    comment = (tmp_path / "out" / "workbench-comment.md").read_text()
    assert comment.startswith("<!-- workbench-ci-report -->")
    assert "gates passed" in (tmp_path / "out" / "step-summary.md").read_text()
    # nothing was pushed and the repository's own workspace is untouched
    assert _remote_versions(remote) == before
    assert _ok(run_cli("-w", str(repo), "audit", "anchor")) == head


def test_run_local_stops_at_bad_data_and_still_reports(project, tmp_path):
    import polars as pl

    repo, _ = project
    bad = pl.read_csv(repo / "data" / "batch.csv").drop("tenure_months")
    broken = tmp_path / "repo"
    shutil.copytree(repo, broken)
    bad.write_csv(broken / "data" / "batch.csv")
    _git(broken, "commit", "-q", "-am", "broken data")
    result = run_cli("ci", "run-local", "--out", str(tmp_path / "out"), cwd=broken, timeout=600)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert re.search(r"exit 1 +validate the new data", result.stdout), result.stdout
    assert re.search(r"skip +retrain and run the gates", result.stdout)
    assert re.search(r"ok +render the full report", result.stdout)
    assert result.stderr.strip().splitlines() == [
        "error: step 'validate the new data against the contract' failed with exit code 1"
    ]
    report = (tmp_path / "out" / "workbench-report.md").read_text()
    assert "no promotion proposal" in report and "did not validate" in report


def test_run_local_without_a_workflow(tmp_path):
    _git(tmp_path, "init", "-q")
    result = run_cli("ci", "run-local", cwd=tmp_path)
    assert result.returncode == 2 and "no pull-request workflow" in result.stderr
