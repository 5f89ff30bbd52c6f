"""``workbench ci ...``: CI/CD workflows for your project and the helpers their steps call.

Exit codes: ``init``, ``report`` and ``comment-body`` exit 0 once written (a report of failed
gates too: the retraining step already failed the job), 2 for bad options or an unknown
decision. ``run-local`` exits with the first failing step's code (1 failed contract or gates,
2 input, 3 unreachable, 4 conflict), 0 when every step passed. ``gitlab-note`` and
``gitlab-issue`` exit 2 outside a GitLab job or when GitLab refuses, 3 when it cannot be
reached.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import click

from ..errors import WorkspaceNotFound
from .main import Context, pass_ctx
from .output import plain

_FILE = click.Path(dir_okay=False, path_type=Path)


@click.group()
def ci() -> None:
    """CI/CD: workflows for GitHub and GitLab, their reports, and a local run."""


def _repo_root(given: Path | None) -> Path:
    if given is not None:
        return given
    try:
        top = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return Path.cwd()
    return Path(top.stdout.strip()) if top.returncode == 0 else Path.cwd()


@ci.command("init")
@click.option("--github", is_flag=True, help="Write GitHub Actions workflows.")
@click.option("--gitlab", is_flag=True, help="Write a GitLab CI pipeline.")
@click.option(
    "--repo",
    type=click.Path(file_okay=False, path_type=Path),
    help="The repository (default: the git repository around here).",
)
@click.option("--model", help="Registered model (default: the workspace's only model).")
@click.option(
    "--data",
    required=True,
    help="Labelled data file the pull requests change, relative to the repository.",
)
@click.option("--batch", help="Snapshot name the data is recorded under (default: prod-STEM).")
@click.option(
    "--training-data",
    help="Snapshot whose contract new data must meet (default: the champion's training data).",
)
@click.option("--contract", help="A contract file in the repository to use instead.")
@click.option("--install", help="What pip installs (default: this workbench, pinned).")
@click.option("--python", "python_version", default="3.11", show_default=True)
@click.option(
    "--cron",
    default="17 6 * * *",
    show_default=True,
    help="When the monitoring workflow runs (UTC).",
)
@click.option("--force", is_flag=True, help="Replace workflow files that exist.")
@pass_ctx
def init(
    ctx: Context,
    github: bool,
    gitlab: bool,
    repo: Path | None,
    model: str | None,
    data: str,
    batch: str | None,
    training_data: str | None,
    contract: str | None,
    install: str | None,
    python_version: str,
    cron: str,
    force: bool,
) -> None:
    """Write pull-request, main-branch and monitoring workflows into your repository."""  # fmt: skip
    from ..api import Workspace, ci_config, init_ci

    root = _repo_root(repo).resolve()
    if model is None or (training_data is None and contract is None):
        try:  # the repository's own workspace, or the one named with --workspace
            found = Workspace.open(ctx.workspace_path or root).ci_defaults()
        except WorkspaceNotFound:
            found = None
        model = model or (found.model if found else None)
        training_data = training_data or (found.training_data if found else None)
    if not model or not (training_data or contract):
        missing = "--model" if not model else "--training-data or --contract"
        raise click.UsageError(f"say {missing} (no workspace here to take it from)")
    stem = re.sub(r"[^a-z0-9-]+", "-", Path(data).stem.lower()).strip("-") or "data"
    options = {"python": python_version, "cron": cron, **({"install": install} if install else {})}
    config = ci_config(model, data, batch or f"prod-{stem}", training_data, contract, **options)
    written = init_ci(root, [p for p, on in (("github", github), ("gitlab", gitlab)) if on],
                      config, force)  # fmt: skip
    for path in written.written:
        plain(f"wrote {path.relative_to(root)}")
    for note in written.notes:
        plain(f"note: {note}")


@ci.command("report")
@click.argument("decision", required=False)
@click.option("--out", "dest", type=_FILE, help="Write the Markdown here (default: stdout).")
@click.option("--max-bytes", type=int, help="Cut to this size with <details> blocks.")
@click.option("--marker", help="A first line to find the comment by (an HTML comment).")
@pass_ctx
def report(
    ctx: Context, decision: str | None, dest: Path | None, max_bytes: int | None, marker: str | None
) -> None:
    """Render a proposal's gate results as Markdown (default: the newest promotion proposal
    filed since the newest pull)."""  # fmt: skip
    _write(ctx.ws.ci_report(decision, max_bytes=max_bytes, marker=marker), dest)


@ci.command("comment-body")
@click.argument("decision", required=False)
@click.option("--out", "dest", type=_FILE, help="Write the Markdown here (default: stdout).")
@pass_ctx
def comment_body(ctx: Context, decision: str | None, dest: Path | None) -> None:
    """The report as the pull-request comment: marked, and under GitHub's 64 KB."""
    _write(ctx.ws.ci_comment_body(decision), dest)


def _write(rendered, dest: Path | None) -> None:
    if dest is None:
        click.echo(rendered.markdown, nl=False)
        return
    dest.write_text(rendered.markdown, encoding="utf-8")
    if rendered.decision_id is None:
        what = "no promotion proposal"
    else:
        verdict = "gates passed" if rendered.passed else "gates failed"
        what = f"decision {rendered.decision_id}, {verdict}"
    plain(f"wrote {dest} ({what}{', cut' if rendered.cut else ''})")


@ci.command("run-local")
@click.option(
    "--repo",
    type=click.Path(file_okay=False, path_type=Path),
    help="The repository (default: the git repository around here).",
)
@click.option("--github", "platform", flag_value="github", help="Follow the GitHub workflow.")
@click.option("--gitlab", "platform", flag_value="gitlab", help="Follow the GitLab pipeline.")
@click.option(
    "--remote",
    "remote_url",
    metavar="URL",
    help="Remote to pull (default: this repository's workspace's origin).",
)
@click.option("--endpoint-url", metavar="URL", help="S3 endpoint for --remote.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the reports go (default: a new temporary folder).",
)
@click.option("--keep", is_flag=True, help="Keep the temporary workspace.")
def run_local(
    repo: Path | None,
    platform: str | None,
    remote_url: str | None,
    endpoint_url: str | None,
    out: Path | None,
    keep: bool,
) -> None:
    """Run the pull-request pipeline's steps here, in a fresh workspace (no Docker)."""  # fmt: skip
    from ..api import run_ci_locally
    from ..errors import CheckFailed, WorkbenchError

    def show(step) -> None:
        if step.exit_code is None:
            plain(f"  skip  {step.title}")
            return
        mark = "ok  " if step.exit_code == 0 else f"exit {step.exit_code}"
        plain(f"  {mark}  {step.title}  ({step.seconds:.1f} s)  $ {step.command}")
        if step.exit_code and step.tail:
            for line in step.tail.splitlines():
                plain(f"          {line}")

    run = run_ci_locally(_repo_root(repo), platform=platform, remote_url=remote_url,
                         endpoint_url=endpoint_url, out=out, keep=keep, on_step=show)  # fmt: skip
    plain(f"reports in {run.out}" + (f"; workspace kept in {run.workspace}" if keep else ""))
    code = run.exit_code
    if code:
        failed = next(s for s in run.steps if s.exit_code == code)
        error = CheckFailed if code == 1 else WorkbenchError
        raise _with_code(error(f"step '{failed.title}' failed with exit code {code}"), code)


def _with_code(error, code: int):
    error.exit_code = code
    return error


@ci.command("gitlab-note")
@click.argument("body", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def gitlab_note(body: Path) -> None:
    """Create or update the merge request's report note (in a GitLab job)."""
    from ..api import gitlab_note as upsert

    plain(f"{upsert(body.read_text(encoding='utf-8'))} the merge request note")


@ci.command("gitlab-issue")
@click.argument("body", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--title", required=True, help="Title of a new issue.")
def gitlab_issue(body: Path, title: str) -> None:
    """Create or update the open alert issue (in a GitLab job)."""
    from ..api import gitlab_issue as upsert

    plain(f"{upsert(body.read_text(encoding='utf-8'), title)} the alert issue")
