"""``workbench ci run-local``: the pull-request pipeline on this machine, without Docker.

It reads the pipeline's variables from the workflow ``ci init`` wrote (``env`` of
``.github/workflows/workbench-pr.yml``, or ``variables`` of ``.gitlab/workbench-ci.yml``), then
runs the same workbench commands (``steps.PR_PIPELINE``), each in its own process as CI does, in
a fresh workspace under a temporary folder: the repository's ``.workbench/workbench.toml`` is
copied there, the remote comes from ``--remote`` or the repository's own workspace settings, and
nothing is pushed. Like CI, it stops at the first failing step but still renders the reports,
and exits with that step's code.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..settings_file import SETTINGS_FILE, read_settings
from .setup import PR_WORKFLOW
from .steps import PR_PIPELINE, CiConfig, Step, shell_line, steps

__all__ = ["LocalStep", "LocalRun", "run_locally", "pipeline_env"]

_VAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
#: where run-local keeps what GitHub would put in the job summary
SUMMARY_FILE = "step-summary.md"


@dataclass(frozen=True)
class LocalStep:
    """One step as it ran."""

    name: str
    title: str
    command: str
    exit_code: int | None  # None: skipped after an earlier failure
    seconds: float = 0.0
    #: the last lines the command printed (stderr, else stdout)
    tail: str = ""


@dataclass
class LocalRun:
    """A whole local run."""

    workspace: Path
    out: Path
    steps: list[LocalStep] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """The first failing step's code (0 when every step passed)."""
        for step in self.steps:
            if step.exit_code not in (None, 0):
                return step.exit_code
        return 0


def pipeline_env(repo: Path, platform: str | None = None) -> tuple[str, dict[str, str]]:
    """(platform, the WB_* variables) from the pull-request workflow in ``repo``."""
    import yaml

    candidates = [platform] if platform else ["github", "gitlab"]
    for name in candidates:
        path = repo / PR_WORKFLOW[name]
        if path.is_file():
            try:
                doc = yaml.safe_load(path.read_text("utf-8")) or {}
            except yaml.YAMLError as exc:
                raise InputError(f"{path} is not valid YAML: {exc}") from None
            block = doc.get("env" if name == "github" else "variables") or {}
            values = {k: str(v) for k, v in block.items() if str(k).startswith("WB_")}
            if "WB_MODEL" not in values:
                raise InputError(f"{path} defines no WB_MODEL", hint="workbench ci init --force")
            return name, values
    raise InputError(
        f"no pull-request workflow in {repo}", hint="write one with `workbench ci init --github`"
    )


def _remote_of(repo: Path) -> tuple[str, str | None]:
    """The repository's own workspace's remote ``origin`` (or its only one)."""
    remotes = read_settings(repo / ".workbench").get("remotes") or {}
    chosen = remotes.get("origin") or (next(iter(remotes.values())) if len(remotes) == 1 else None)
    if not isinstance(chosen, dict) or not chosen.get("url"):
        raise InputError(
            "say which remote to pull: --remote URL",
            hint="or add one to this repository's workspace: workbench remote add origin URL",
        )
    return str(chosen["url"]), chosen.get("endpoint_url")


def _expand(word: str, env: Mapping[str, str]) -> str:
    return _VAR.sub(lambda m: env.get(m.group(1), ""), word)


def run_locally(
    repo: Path,
    *,
    platform: str | None = None,
    remote_url: str | None = None,
    endpoint_url: str | None = None,
    out: Path | None = None,
    keep: bool = False,
    on_step: Callable[[LocalStep], None] | None = None,
) -> LocalRun:
    """Run the pull-request pipeline's steps in a fresh workspace (see the module doc)."""
    repo = repo.resolve()
    platform, values = pipeline_env(repo, platform)
    contract = values.get("WB_CONTRACT") or None
    config = CiConfig(values["WB_MODEL"], values.get("WB_DATA", ""), values.get("WB_BATCH", ""),
                      values.get("WB_TRAINING_DATA") or None, contract)  # fmt: skip
    if remote_url is None:
        remote_url, endpoint_url = _remote_of(repo)
    base = Path(tempfile.mkdtemp(prefix="workbench-ci-"))
    workspace = base / "workspace"
    out = (out or base / "out").resolve()
    out.mkdir(parents=True, exist_ok=True)
    settings = repo / ".workbench" / SETTINGS_FILE
    (workspace / ".workbench").mkdir(parents=True)
    if settings.is_file():
        shutil.copyfile(settings, workspace / ".workbench" / SETTINGS_FILE)
    env = {
        **os.environ,
        **values,
        "WB_DATA": str(repo / config.data),
        "WB_CONTRACT": str(repo / contract) if contract else "",
        "WORKBENCH_WORKSPACE": str(workspace),
        "WORKBENCH_REMOTES__ORIGIN__URL": remote_url,
        "WORKBENCH_REMOTES__ORIGIN__ENDPOINT_URL": endpoint_url or "",
        "WORKBENCH_REGISTRY__MLFLOW": "false",
        "WORKBENCH_ACTOR": "ci",
    }
    table = steps(config)
    run = LocalRun(workspace, out)
    failed = False
    try:
        for name in PR_PIPELINE:
            step = table[name]
            if failed and not step.always:
                result = LocalStep(step.name, step.title, _shown(step), None)
            else:
                result = _run_step(step, env, out)
                failed = failed or result.exit_code not in (0, *step.tolerated)
            run.steps.append(result)
            if on_step:
                on_step(result)
    finally:
        if not keep:
            shutil.rmtree(workspace, ignore_errors=True)
    return run


def _shown(step: Step) -> str:
    return shell_line(step.argv)


def _run_step(step: Step, env: dict[str, str], out: Path) -> LocalStep:
    argv = [sys.executable, "-m", "workbench", *(_expand(w, env) for w in step.argv[1:])]
    started = time.monotonic()
    done = subprocess.run(argv, cwd=out, env=env, capture_output=True, text=True)
    if step.name == "summary":
        (out / SUMMARY_FILE).write_text(done.stdout, encoding="utf-8")
    text = (done.stderr.strip() or done.stdout.strip()).splitlines()
    return LocalStep(step.name, step.title, _shown(step), done.returncode,
                     time.monotonic() - started, "\n".join(text[-5:]))  # fmt: skip
