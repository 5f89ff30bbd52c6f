"""The settings file and ``WORKBENCH_*`` variables as plain data, before any validation.

Kept apart from ``config`` (the pydantic models, ~0.1 s of import) so that finding out who is
acting, which every recorded change needs, does not load pydantic: ``Workspace.actor`` reads
``actor`` from here and validates through ``config`` only when the value is not a string.
"""

from __future__ import annotations

import getpass
import os
import tomllib
from pathlib import Path

from .errors import InputError

__all__ = ["SETTINGS_FILE", "read_settings", "read_settings_file", "env_overrides", "os_user"]

SETTINGS_FILE = "workbench.toml"


def read_settings(workbench_dir: Path) -> dict:
    """``<workbench_dir>/workbench.toml`` merged with ``WORKBENCH_*`` variables (which win)."""
    return merge(read_settings_file(workbench_dir), env_overrides())


def read_settings_file(workbench_dir: Path) -> dict:
    """``<workbench_dir>/workbench.toml`` as plain data (empty when there is no file)."""
    path = workbench_dir / SETTINGS_FILE
    try:
        return tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not valid TOML: {exc}") from None


def os_user() -> str:
    """The operating-system user's name."""
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return os.environ.get("USER", "unknown")


def env_overrides(prefix: str = "WORKBENCH_") -> dict:
    """Settings from ``WORKBENCH_*`` variables, nested at ``__`` (values are text)."""
    # pydantic-settings does this too, but costs 0.4 s of import on every CLI call.
    data: dict = {}
    for key, value in os.environ.items():
        if not key.startswith(prefix) or key == "WORKBENCH_WORKSPACE":
            continue
        path = key[len(prefix) :].lower().split("__")
        node = data
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return data


def merge(base: dict, over: dict) -> dict:
    """``base`` with ``over``'s values put in, tables merged key by key."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict):
            below = out.get(key)
            out[key] = merge(below if isinstance(below, dict) else {}, value)
        else:
            out[key] = value
    return out
