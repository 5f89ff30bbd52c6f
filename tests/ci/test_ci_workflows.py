"""The workflows `workbench ci init` writes: valid against the GitHub Actions and GitLab CI
schemas (check-jsonschema's own copies, offline), every workbench command one of the
pipeline's steps, and the properties the issue asks for."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import run_cli
from workbench.api import ci_config, init_ci
from workbench.ci.steps import steps
from workbench.errors import InputError

CONFIG = ci_config("churn-model", "data/batch.csv", "prod-batch", "churn")
WITH_CONTRACT = ci_config("churn-model", "data/batch.csv", "prod-batch", "churn",
                          contract="contracts/churn.toml")  # fmt: skip
CHECKER = Path(sys.executable).with_name("check-jsonschema")
SCHEMA = {"github": "vendor.github-workflows", "gitlab": "vendor.gitlab-ci"}


def _offline(argv: list[str]) -> list[str]:
    """Run without a network when the kernel lets us (a new user and network namespace)."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-rn", "true"], capture_output=True).returncode == 0:
        return [unshare, "-rn", *argv]
    return argv


def _validate(paths: list[Path], schema: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    return subprocess.run(
        _offline([str(CHECKER), "--builtin-schema", schema, *map(str, paths)]),
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip


@pytest.fixture(params=[CONFIG, WITH_CONTRACT], ids=["against", "contract"])
def repo(request, tmp_path) -> Path:
    written = init_ci(tmp_path, ["github", "gitlab"], request.param)
    assert {p.name for p in written.written} >= {
        "workbench-pr.yml", "workbench-main.yml", "workbench-monitor.yml",
        "workbench-ci.yml", ".gitlab-ci.yml", ".gitignore",
    }  # fmt: skip
    return tmp_path


def test_schemas_accept_the_workflows_offline(repo):
    if not CHECKER.exists():
        pytest.skip("check-jsonschema is not installed")
    github = sorted((repo / ".github" / "workflows").glob("*.yml"))
    assert len(github) == 3
    result = _validate(github, SCHEMA["github"])
    assert result.returncode == 0, (result.stdout, result.stderr)
    result = _validate([repo / ".gitlab" / "workbench-ci.yml", repo / ".gitlab-ci.yml"],
                       SCHEMA["gitlab"])  # fmt: skip
    assert result.returncode == 0, (result.stdout, result.stderr)


def test_the_schema_check_is_real(tmp_path):
    """The same check fails a workflow with a typo, so passing means something."""
    if not CHECKER.exists():
        pytest.skip("check-jsonschema is not installed")
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: x\n    stepz: []\n", encoding="utf-8")
    assert _validate([bad], SCHEMA["github"]).returncode == 1
    bad.write_text("job:\n  scrpt: [echo]\n", encoding="utf-8")
    assert _validate([bad], SCHEMA["gitlab"]).returncode == 1


def _commands(text: str) -> list[tuple[str, ...]]:
    """Every workbench command in a file's shell lines, as words (redirections dropped)."""
    found = []
    for line in text.splitlines():
        line = line.strip().removeprefix("- ").removeprefix("run: ").strip()
        if line.startswith("workbench "):
            words = shlex.split(line.split(" >")[0])
            found.append(tuple(words))
    return found


def test_every_command_is_a_pipeline_step(repo):
    contract = "contracts" in (repo / ".github/workflows/workbench-pr.yml").read_text()
    known = {step.argv for step in steps(WITH_CONTRACT if contract else CONFIG).values()}
    for path in [*repo.glob(".github/workflows/*.yml"), repo / ".gitlab/workbench-ci.yml"]:
        commands = _commands(path.read_text())
        assert commands, path
        for command in commands:
            assert command in known, (path.name, command)
            assert command[1:3] not in (("decisions", "approve"), ("models", "promote"))


def _github(repo: Path, name: str) -> dict:
    doc = yaml.safe_load((repo / ".github" / "workflows" / name).read_text())
    doc["on"] = doc.pop(True)  # YAML 1.1 reads the key `on` as true
    return doc


def test_github_workflows_have_the_asked_properties(repo):
    pr, main, monitor = (_github(repo, f"workbench-{n}.yml") for n in ("pr", "main", "monitor"))
    assert pr["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert main["permissions"] == {"contents": "read"}
    assert monitor["permissions"] == {"contents": "read", "issues": "write"}
    assert set(pr["on"]) == {"pull_request"} and "schedule" not in main["on"]
    assert set(monitor["on"]) == {"schedule", "workflow_dispatch"}  # the schedule alone
    assert pr["concurrency"]["cancel-in-progress"] is True
    assert main["concurrency"] == {"group": "workbench-main", "cancel-in-progress": False}
    for doc in (pr, main, monitor):
        assert doc["env"]["WB_INSTALL"] == "workbench[remote]==0.1.0"  # pinned
        assert doc["env"]["WORKBENCH_REGISTRY__MLFLOW"] == "false"
        for job in doc["jobs"].values():
            assert 0 < job["timeout-minutes"] <= 45
            steps_ = job["steps"]
            cache = next(s for s in steps_ if s.get("uses", "").startswith("actions/cache"))
            assert cache["with"]["key"] == "${{ steps.head.outputs.key }}"  # content
            python = next(s for s in steps_ if s.get("uses", "").startswith("actions/setup"))
            assert python["with"]["cache-dependency-path"].endswith(".yml")
    pr_steps = pr["jobs"]["gates"]["steps"]
    scripts = "\n".join(s.get("with", {}).get("script", "") for s in pr_steps)
    assert "<!-- workbench-ci-report -->" in scripts and "updateComment" in scripts
    assert any(s.get("uses", "").startswith("actions/upload-artifact") for s in pr_steps)
    assert any("GITHUB_STEP_SUMMARY" in s.get("run", "") for s in pr_steps)
    main_runs = " ".join(s.get("run", "") for s in main["jobs"]["propose"]["steps"])
    assert "workbench push origin" in main_runs and "approve" not in main_runs
    monitor_runs = " ".join(s.get("run", "") for s in monitor["jobs"]["monitor"]["steps"])
    assert "workbench monitor check" in monitor_runs
    assert "workbench alerts list --json" in monitor_runs


def test_gitlab_pipeline_has_the_asked_properties(repo):
    doc = yaml.safe_load((repo / ".gitlab" / "workbench-ci.yml").read_text())
    assert doc["variables"]["WB_INSTALL"] == "workbench[remote]==0.1.0"
    jobs = {k: v for k, v in doc.items() if k.startswith("workbench-")}
    assert set(jobs) == {"workbench-merge-request", "workbench-main", "workbench-monitor"}
    assert doc[".workbench"]["timeout"] and all("rules" in j for j in jobs.values())
    assert jobs["workbench-main"]["resource_group"] == "workbench-main"
    assert jobs["workbench-merge-request"]["interruptible"] is True
    assert "approve" not in str(jobs["workbench-main"]["script"])
    assert yaml.safe_load((repo / ".gitlab-ci.yml").read_text()) == {
        "include": [{"local": ".gitlab/workbench-ci.yml"}]
    }


def test_init_refuses_to_overwrite(tmp_path):
    init_ci(tmp_path, ["github"], CONFIG)
    assert init_ci(tmp_path, ["github"], CONFIG).written  # the same content: fine
    other = ci_config("other-model", "data/batch.csv", "prod-batch", "churn")
    with pytest.raises(InputError, match="not overwritten"):
        init_ci(tmp_path, ["github"], other)
    init_ci(tmp_path, ["github"], other, force=True)
    assert "other-model" in (tmp_path / ".github/workflows/workbench-pr.yml").read_text()
    assert (tmp_path / ".gitignore").read_text().count(".workbench/*") == 1


def test_init_through_the_cli(tmp_path):
    result = run_cli("ci", "init", "--github", "--repo", str(tmp_path), "--data", "d.csv")
    assert result.returncode == 2 and "--model" in result.stderr  # no workspace to ask
    result = run_cli("ci", "init", "--github", "--repo", str(tmp_path), "--data", "../d.csv",
                     "--model", "m", "--training-data", "t")  # fmt: skip
    assert result.returncode == 2 and "inside the repository" in result.stderr
    result = run_cli("ci", "init", "--gitlab", "--repo", str(tmp_path), "--data", "data/b.csv",
                     "--model", "m", "--training-data", "t")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "wrote .gitlab/workbench-ci.yml" in result.stdout
    assert "data/b.csv does not exist yet" in result.stdout
    text = (tmp_path / ".gitlab" / "workbench-ci.yml").read_text()
    assert 'WB_BATCH: "prod-b"' in text
