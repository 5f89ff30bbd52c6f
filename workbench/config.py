"""Workspace settings: one typed model, loaded from ``workbench.toml`` and the environment.

Environment variables (``WORKBENCH_LOCK_TIMEOUT=5``) win over the file, which wins over the
defaults. Nested fields use ``__`` (``WORKBENCH_DRIFT__DRIFT_SHARE=0.3``).
"""

from __future__ import annotations

import getpass
import os
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import InputError

__all__ = ["Settings", "DriftSettings", "SETTINGS_FILE", "load_settings", "default_settings_text"]

SETTINGS_FILE = "workbench.toml"


class DriftSettings(BaseModel):
    """Defaults for drift checks (Evidently's defaults unless changed)."""

    drift_share: float = Field(0.5, ge=0.0, le=1.0)
    """Share of drifted columns at which the whole dataset counts as drifted."""
    threshold: float | None = None
    """Global threshold for every method; None keeps each method's own default."""


class Settings(BaseModel):
    """Everything a workspace can configure."""

    model_config = ConfigDict(extra="ignore")

    actor: str | None = None
    """Who is acting; defaults to the OS user. Recorded as author of snapshots and runs."""
    lock_timeout: float = Field(15.0, gt=0)
    """Seconds to keep retrying when another process holds the store's write lock."""
    poll_interval: float = Field(1.0, gt=0)
    """Seconds between the TUI's checks for changes made by other processes."""
    drift: DriftSettings = DriftSettings()
    """Drift defaults."""

    @property
    def actor_name(self) -> str:
        """The acting user's name: settings first, then the OS user."""
        if self.actor:
            return self.actor
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


def load_settings(workbench_dir: Path) -> Settings:
    """Load settings from ``<workbench_dir>/workbench.toml`` and ``WORKBENCH_*`` variables."""
    path = workbench_dir / SETTINGS_FILE
    try:
        from_file = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not valid TOML: {exc}") from None
    try:
        return Settings.model_validate(_merge(from_file, _env_overrides()))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InputError(f"invalid setting {where}: {first['msg']}", hint=str(path)) from None


def default_settings_text() -> str:
    """The commented settings file ``workbench init`` writes."""
    return """\
# Workbench settings. Environment variables WORKBENCH_<NAME> override these.

# Who is acting (defaults to the OS user).
# actor = "alice"

# Seconds to retry when another process holds the store's write lock.
lock_timeout = 15.0

# Seconds between the TUI's checks for changes made by other processes.
poll_interval = 1.0

[drift]
# Share of drifted columns at which the dataset counts as drifted.
drift_share = 0.5
"""
