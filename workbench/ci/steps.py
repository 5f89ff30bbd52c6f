"""The workbench commands the CI pipelines run, in one place.

The workflow templates name steps by placeholder (``%%RUN:pull%%``) and ``render`` writes each
step's command there, so the files ``workbench ci init`` writes and ``workbench ci run-local``
run the same commands. Commands use the pipeline's environment (``"$WB_DATA"``), which the
workflows define from ``CiConfig`` and run-local reads back from the written workflow.
Each step's exit codes are documented in the README's table.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from importlib import resources

from .. import __version__
from ..errors import InputError

__all__ = [
    "CiConfig",
    "Step",
    "steps",
    "PR_PIPELINE",
    "render",
    "template_names",
    "shell_line",
    "REPORT_FILE",
    "COMMENT_FILE",
]

REPORT_FILE = "workbench-report.md"
COMMENT_FILE = "workbench-comment.md"
#: a job's step summary holds 1 MiB at most
SUMMARY_LIMIT = 1_000_000
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class CiConfig:
    """What the pipelines need to know about the user's project."""

    #: the registered model whose champion challengers meet
    model: str
    #: the labelled data file the pull requests change, relative to the repository
    data: str
    #: the snapshot name that file is recorded under (a production batch, ``prod-...``)
    batch: str
    #: the snapshot whose inferred contract new data must meet
    training_data: str | None
    #: a contract file (TOML, in the repository) to use instead
    contract: str | None = None
    #: what ``pip install`` installs: the workbench, pinned
    install: str = f"workbench[remote]=={__version__}"
    python: str = "3.11"
    #: when the monitoring workflow runs (UTC)
    cron: str = "17 6 * * *"

    def __post_init__(self) -> None:
        for what, value in (("model", self.model), ("snapshot", self.batch),
                            ("snapshot", self.training_data or "x")):  # fmt: skip
            if not _NAME.match(value or ""):
                raise InputError(f"invalid {what} name {value!r}")
        if not self.training_data and not self.contract:
            raise InputError("say what new data must meet: a snapshot or a contract file")
        for path in (self.data, self.contract):
            if path is not None and (not path or path.startswith(("/", "..")) or "\n" in path):
                raise InputError(f"files must be paths inside the repository, not {path!r}")
        if len(self.cron.split()) != 5:
            raise InputError(f"invalid cron schedule {self.cron!r} (five fields)")

    def env(self) -> dict[str, str]:
        """The pipeline variables the steps use."""
        return {
            "WB_MODEL": self.model,
            "WB_DATA": self.data,
            "WB_BATCH": self.batch,
            "WB_TRAINING_DATA": self.training_data or "",
            "WB_CONTRACT": self.contract or "",
            "WB_INSTALL": self.install,
        }


@dataclass(frozen=True)
class Step:
    """One workbench command of a pipeline."""

    name: str
    title: str
    argv: tuple[str, ...]
    #: run even when an earlier step failed (reports)
    always: bool = False
    #: exit codes that do not stop the pipeline (besides 0)
    tolerated: tuple[int, ...] = field(default=())


def steps(config: CiConfig) -> dict[str, Step]:
    """Every step by placeholder name."""
    validate = (
        ("--contract", "$WB_CONTRACT") if config.contract else ("--against", "$WB_TRAINING_DATA")
    )
    wb = ("workbench",)
    found = [
        Step("init", "create the workspace", (*wb, "init", "$WORKBENCH_WORKSPACE")),
        Step("head", "name the remote's newest version",
             (*wb, "remote", "head", "origin", "--cache-key")),
        Step("pull", "pull the workspace", (*wb, "pull", "origin")),
        Step("validate", "validate the new data against the contract",
             (*wb, "data", "validate", "$WB_DATA", *validate)),
        Step("add", "record the new data",
             (*wb, "data", "add", "$WB_DATA", "--name", "$WB_BATCH", "-m", "new data from CI")),
        Step("retrain", "retrain and run the gates against the champion",
             (*wb, "retrain", "--from", "$WB_MODEL@champion", "-m",
              "retrained in CI on $WB_BATCH")),
        Step("push", "push the workspace", (*wb, "push", "origin")),
        Step("report", "render the full report",
             (*wb, "ci", "report", "--out", REPORT_FILE), always=True),
        Step("comment", "render the pull-request comment",
             (*wb, "ci", "comment-body", "--out", COMMENT_FILE), always=True),
        Step("summary", "render the step summary",
             (*wb, "ci", "report", "--max-bytes", str(SUMMARY_LIMIT)), always=True),
        Step("check", "check the monitoring policies", (*wb, "monitor", "check"),
             tolerated=(1,)),
        Step("alerts", "list the alerts", (*wb, "alerts", "list", "--json"), always=True),
        Step("gitlab-note", "update the merge request note",
             (*wb, "ci", "gitlab-note", COMMENT_FILE), always=True),
        Step("gitlab-issue", "open or update the alert issue",
             (*wb, "ci", "gitlab-issue", "workbench-alert.md", "--title",
              "workbench alert for $WB_MODEL")),
    ]  # fmt: skip
    return {s.name: s for s in found}


#: what the pull-request workflow runs, in order (run-local runs the same)
PR_PIPELINE = ("init", "head", "pull", "validate", "add", "retrain", "report", "comment", "summary")


def shell_line(argv: tuple[str, ...]) -> str:
    """A command for a POSIX shell: words quoted, ``$VARIABLES`` left for the shell to expand
    (a word holding one goes in double quotes; the steps' words hold no other specials)."""
    return " ".join(f'"{w}"' if "$" in w else shlex.quote(w) for w in argv)


def template_names(platform: str) -> list[str]:
    """The template files of a platform (``github`` or ``gitlab``)."""
    folder = resources.files("workbench.ci.templates").joinpath(platform)
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".yml"))


def render(platform: str, name: str, config: CiConfig) -> str:
    """A template with the configuration and the steps' commands written in."""
    text = resources.files("workbench.ci.templates").joinpath(platform, name).read_text("utf-8")
    table = steps(config)

    def command(match: re.Match[str]) -> str:
        return shell_line(table[match.group(1)].argv)

    text = re.sub(r"%%RUN:([a-z-]+)%%", command, text)
    values = {
        **{k: json.dumps(v) for k, v in config.env().items()},
        "PYTHON": json.dumps(config.python),
        "CRON": json.dumps(config.cron),
        "VERSION": __version__,
    }
    text = re.sub(r"%%([A-Z_]+)%%", lambda m: values[m.group(1)], text)
    if "%%" in text:
        raise AssertionError(f"placeholder left in {platform}/{name}")
    return text
