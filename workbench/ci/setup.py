"""``workbench ci init``: write the workflow files into the user's repository."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from .steps import CiConfig, render, template_names

__all__ = ["CiFiles", "write_ci_files", "PLATFORMS", "WORKFLOW_FILES"]

PLATFORMS = ("github", "gitlab")
#: where each platform's templates go in the repository
WORKFLOW_FILES = {"github": ".github/workflows", "gitlab": ".gitlab"}
#: the pull-request pipeline run-local follows, per platform
PR_WORKFLOW = {"github": ".github/workflows/workbench-pr.yml", "gitlab": ".gitlab/workbench-ci.yml"}
_GITLAB_INCLUDE = "include:\n  - local: .gitlab/workbench-ci.yml\n"
_GITIGNORE = (
    "\n# workbench: only the settings are versioned; data and models travel through the remote\n"
    ".workbench/*\n!.workbench/workbench.toml\n"
)


@dataclass
class CiFiles:
    """What ``write_ci_files`` wrote, and what the user still has to do."""

    written: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def write_ci_files(
    repo: Path, platforms: list[str], config: CiConfig, force: bool = False
) -> CiFiles:
    """Write each platform's workflows (refusing to overwrite files unless ``force``), a
    ``.gitlab-ci.yml`` including the GitLab pipeline when there is none, and ``.gitignore``
    lines keeping the workspace's data out of git."""
    repo = repo.resolve()
    if not repo.is_dir():
        raise InputError(f"{repo} is not a folder")
    if not platforms:
        raise InputError("say which CI: --github and/or --gitlab")
    planned: dict[Path, str] = {}
    for platform in platforms:
        if platform not in PLATFORMS:
            raise InputError(f"unknown CI platform {platform!r}", hint="github or gitlab")
        folder = repo / WORKFLOW_FILES[platform]
        for name in template_names(platform):
            planned[folder / name] = render(platform, name, config)
    existing = [p for p in planned if p.exists() and p.read_text("utf-8") != planned[p]]
    if existing and not force:
        names = ", ".join(str(p.relative_to(repo)) for p in existing)
        raise InputError(f"{names} exist(s); not overwritten", hint="--force replaces them")
    result = CiFiles()
    for path, text in planned.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        result.written.append(path)
    if "gitlab" in platforms:
        main = repo / ".gitlab-ci.yml"
        if not main.exists():
            main.write_text(_GITLAB_INCLUDE, encoding="utf-8")
            result.written.append(main)
        elif "workbench-ci.yml" not in main.read_text("utf-8"):
            result.notes.append(
                "add to .gitlab-ci.yml: include: [{local: .gitlab/workbench-ci.yml}]"
            )
    ignore = repo / ".gitignore"
    text = ignore.read_text("utf-8") if ignore.exists() else ""
    if not re.search(r"^!?/?\.workbench", text, re.MULTILINE):
        new = f"{text.rstrip()}\n{_GITIGNORE}" if text.strip() else _GITIGNORE.lstrip("\n")
        ignore.write_text(new, encoding="utf-8")
        result.written.append(ignore)
    if config.contract and not (repo / config.contract).is_file():
        result.notes.append(f"{config.contract} does not exist yet: `workbench data contract "
                            f"REF --out {config.contract}` writes one")  # fmt: skip
    if not (repo / config.data).exists():
        result.notes.append(f"{config.data} does not exist yet; the workflows read it")
    return result
