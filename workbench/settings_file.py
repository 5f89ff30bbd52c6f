"""The settings file and ``WORKBENCH_*`` variables as plain data, before any validation.

Kept apart from ``config`` (the pydantic models, ~0.1 s of import) so that finding out who is
acting, which every recorded change needs, does not load pydantic: ``Workspace.actor`` reads
``actor`` from here and validates through ``config`` only when the value is not a string.

Governance settings (roles, the default role, the accounts that may act under other names, and
four eyes) come from the file only: a ``WORKBENCH_*`` variable for one of them is refused, or
anyone could make themselves an approver for one command.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
import uuid
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError
from .processes import os_account

__all__ = [
    "SETTINGS_FILE",
    "GOVERNANCE",
    "read_settings",
    "read_settings_file",
    "env_overrides",
    "os_user",
    "SettingsFileState",
    "file_state",
    "pin",
    "add_table",
    "remove_table",
]

SETTINGS_FILE = "workbench.toml"
#: setting paths that only the settings file may set (see the module doc)
GOVERNANCE = (("roles",), ("default_role",), ("accounts",), ("registry", "four_eyes"))


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
    """The operating-system account running this process (from its uid, not ``USER``)."""
    return os_account()


def env_overrides(prefix: str = "WORKBENCH_") -> dict:
    """Settings from ``WORKBENCH_*`` variables, nested at ``__`` (values are text)."""
    # pydantic-settings does this too, but costs 0.4 s of import on every CLI call.
    data: dict = {}
    for key, value in os.environ.items():
        if not key.startswith(prefix) or key == "WORKBENCH_WORKSPACE":
            continue
        path = key[len(prefix) :].lower().split("__")
        if any(tuple(path[: len(g)]) == g for g in GOVERNANCE):
            raise InputError(
                f"{key}: roles, accounts and four eyes cannot be set from the environment",
                hint=f"unset it; an admin sets them in .workbench/{SETTINGS_FILE}",
            )
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


@dataclass(frozen=True)
class SettingsFileState:
    """Who owns the settings file and who may change it."""

    path: Path
    owner: str
    mode: int

    @property
    def pinned(self) -> bool:
        """Read-only for everyone (its owner can unpin it)."""
        return not self.mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)

    @property
    def writable_by_others(self) -> bool:
        """Group or others may write it: anyone in them can give themselves a role."""
        return bool(self.mode & (stat.S_IWGRP | stat.S_IWOTH))


def file_state(workbench_dir: Path) -> SettingsFileState:
    """The settings file's owner and permissions."""
    import pwd

    path = workbench_dir / SETTINGS_FILE
    st = path.stat()
    try:
        owner = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        owner = f"uid:{st.st_uid}"
    return SettingsFileState(path, owner, stat.S_IMODE(st.st_mode))


def pin(workbench_dir: Path, pinned: bool = True) -> SettingsFileState:
    """Make the settings file read-only for everyone (``pinned``) or writable by its owner
    again; only its owner may do either (roles live there)."""
    from .errors import PermissionDenied

    state = file_state(workbench_dir)
    if state.path.stat().st_uid != os.getuid() and os.getuid() != 0:
        raise PermissionDenied(
            f"{state.path} belongs to {state.owner}; only its owner can pin or unpin it"
        )
    mode = 0o444 if pinned else 0o644
    os.chmod(state.path, mode)
    return file_state(workbench_dir)


def add_table(workbench_dir: Path, dotted: str, values: dict) -> None:
    """Append the table ``[dotted]`` with ``values`` to the settings file, keeping the rest of
    the file (comments included) as it is. One clear error when the result would not be valid
    TOML (the name exists, or the file holds the parent as an inline table)."""
    import tomli_w

    path = workbench_dir / SETTINGS_FILE
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    body = tomli_w.dumps({k: v for k, v in values.items() if v is not None})
    new = f"{text.rstrip()}\n\n[{dotted}]\n{body}" if text.strip() else f"[{dotted}]\n{body}"
    _check_toml(path, new)
    _write(path, new)


def remove_table(workbench_dir: Path, dotted: str) -> bool:
    """Remove the table ``[dotted]`` (its header line up to the next header) from the settings
    file; False when the file has no such header."""
    path = workbench_dir / SETTINGS_FILE
    if not path.exists():
        return False
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = re.compile(r"^\s*\[\s*" + re.escape(dotted).replace(r"\.", r"\s*\.\s*") + r"\s*\]")
    start = next((i for i, line in enumerate(lines) if header.match(line)), None)
    if start is None:
        return False
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines)
    )
    new = "".join(lines[:start] + lines[end:]).rstrip() + "\n"
    _check_toml(path, new)
    _write(path, new)
    return True


def _check_toml(path: Path, text: str) -> None:
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(
            f"cannot change {path} automatically ({exc})", hint="edit the file by hand"
        ) from None


def _write(path: Path, text: str) -> None:
    """Replace the file atomically (a reader never sees half of it)."""
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    try:
        temp.write_text(text, encoding="utf-8")
        if path.exists():
            os.chmod(temp, path.stat().st_mode & 0o7777)
        os.replace(temp, path)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}") from None
    finally:
        temp.unlink(missing_ok=True)
