"""The settings file and ``WORKBENCH_*`` variables as plain data, before any validation.

Kept apart from ``config`` (the pydantic models, ~0.1 s of import) so that finding out who is
acting, which every recorded change needs, does not load pydantic: ``Workspace.actor`` reads
``actor`` from here and validates through ``config`` only when the value is not a string.
"""

from __future__ import annotations

import getpass
import os
import re
import tomllib
import uuid
from pathlib import Path

from .errors import InputError

__all__ = ["SETTINGS_FILE", "read_settings", "os_user", "add_table", "remove_table"]

SETTINGS_FILE = "workbench.toml"


def read_settings(workbench_dir: Path) -> dict:
    """``<workbench_dir>/workbench.toml`` merged with ``WORKBENCH_*`` variables (which win)."""
    path = workbench_dir / SETTINGS_FILE
    try:
        from_file = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not valid TOML: {exc}") from None
    return _merge(from_file, _env_overrides())


def os_user() -> str:
    """The operating-system user's name."""
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return os.environ.get("USER", "unknown")


def _env_overrides(prefix: str = "WORKBENCH_") -> dict:
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


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out.get(key, {}), value) if isinstance(value, dict) else value
    return out


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
