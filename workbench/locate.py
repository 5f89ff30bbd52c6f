"""Finding a workspace on disk, with nothing heavier than ``pathlib`` (the TUI's first paint
happens before the store and Polars are imported)."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import WorkspaceNotFound

__all__ = ["find_workspace", "WORKBENCH_DIR", "ENV_VAR"]

WORKBENCH_DIR = ".workbench"
ENV_VAR = "WORKBENCH_WORKSPACE"
_MARKER = "meta.duckdb"


def find_workspace(start: Path | str | None = None) -> Path:
    """The project folder holding ``.workbench``: given, from the environment, or walking up."""
    explicit = start is not None or bool(os.environ.get(ENV_VAR))
    if start is None:
        start = os.environ.get(ENV_VAR) or Path.cwd()
    here = Path(start).expanduser().resolve()
    if here.name == WORKBENCH_DIR and (here / _MARKER).exists():
        return here.parent
    if explicit:
        if (here / WORKBENCH_DIR / _MARKER).exists():
            return here
        raise WorkspaceNotFound(f"no workspace at {here}", hint="run `workbench init` there")
    for folder in (here, *here.parents):
        if (folder / WORKBENCH_DIR / _MARKER).exists():
            return folder
    raise WorkspaceNotFound(
        "no workspace found here or in any parent folder",
        hint="run `workbench init`, or pass --workspace PATH",
    )
