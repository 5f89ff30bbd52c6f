"""``workbench notebook``: JupyterLab on this workspace, with the project's notebooks.

The notebooks are the repository's ``notebooks/`` folder. They are copied into the workspace's
project (``<project>/notebooks``, or ``--dir``) so that a learner's edits and outputs never touch
the committed, output-free originals; a copy that already exists is kept, never overwritten.
JupyterLab then starts there with ``WORKBENCH_WORKSPACE`` naming the workspace, which every
notebook's first cell opens.
"""

from __future__ import annotations

import os
import shutil
import sys
from importlib.util import find_spec
from pathlib import Path

import click

from ..errors import InputError
from .main import Context, pass_ctx
from .output import plain

#: the repository's notebooks, beside the package in a checkout (an editable install)
SOURCE = Path(__file__).resolve().parents[2] / "notebooks"


def _source() -> list[Path]:
    notebooks = sorted(SOURCE.glob("*.ipynb")) if SOURCE.is_dir() else []
    if not notebooks:
        raise InputError(
            f"no notebooks found in {SOURCE}",
            hint="they ship with the repository: install it from a checkout (pip install -e .)",
        )
    return notebooks


def _chosen(notebooks: list[Path], name: str | None) -> Path | None:
    if name is None:
        return None
    matches = [p for p in notebooks if name in (p.name, p.stem) or p.stem.startswith(f"{name}_")]
    if len(matches) != 1:
        names = ", ".join(p.stem for p in notebooks)
        raise InputError(f"no notebook {name!r}", hint=f"one of: {names}")
    return matches[0]


@click.command()
@click.argument("name", required=False)
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the notebooks are copied and JupyterLab starts (default: <project>/notebooks).",
)
@click.option("--port", type=click.IntRange(1, 65535), help="JupyterLab's port.")
@click.option("--no-browser", is_flag=True, help="Do not open a browser.")
@click.option(
    "--print-command",
    is_flag=True,
    help="Copy the notebooks and print the command instead of starting JupyterLab.",
)
@pass_ctx
def notebook(
    ctx: Context,
    name: str | None,
    folder: Path | None,
    port: int | None,
    no_browser: bool,
    print_command: bool,
) -> None:
    """Open JupyterLab on this workspace with the notebooks (NAME: e.g. 03 or 03_drift)."""
    ws = ctx.ws
    notebooks = _source()
    chosen = _chosen(notebooks, name)
    if find_spec("jupyterlab") is None:
        raise InputError("JupyterLab is not installed", hint='pip install "workbench[notebooks]"')
    dest = (folder or ws.root / "notebooks").resolve()
    if dest.exists() and not dest.is_dir():
        raise InputError(f"{dest} is not a folder")
    dest.mkdir(parents=True, exist_ok=True)
    copied = []
    for path in notebooks:
        target = dest / path.name
        if not target.exists():
            shutil.copyfile(path, target)
            copied.append(path.name)
    kept = len(notebooks) - len(copied)
    plain(
        f"notebooks in {dest}: {len(copied)} copied"
        + (f", {kept} kept as they were" if kept else "")
    )
    command = [sys.executable, "-m", "jupyterlab", f"--notebook-dir={dest}"]
    if port is not None:
        command.append(f"--port={port}")
    if no_browser:
        command.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers, CI: JupyterLab refuses root
        command.append("--allow-root")
    if chosen is not None:
        command.append(str(dest / chosen.name))
    env = {**os.environ, "WORKBENCH_WORKSPACE": str(ws.root)}
    if print_command:
        plain(f"WORKBENCH_WORKSPACE={ws.root} " + " ".join(command))
        return
    plain(f"JupyterLab on workspace {ws.root} (Ctrl-C stops it)")
    sys.stdout.flush()
    os.execve(sys.executable, command, env)
