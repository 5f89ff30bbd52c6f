"""Workspace settings: one typed model, loaded from ``workbench.toml`` and the environment.

Environment variables (``WORKBENCH_LOCK_TIMEOUT=5``) win over the file, which wins over the
defaults. Nested fields use ``__`` (``WORKBENCH_DRIFT__DRIFT_SHARE=0.3``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import InputError
from .settings_file import SETTINGS_FILE, os_user, read_settings

__all__ = [
    "Settings",
    "DriftSettings",
    "GateSettings",
    "RegistrySettings",
    "RemoteSettings",
    "Role",
    "SETTINGS_FILE",
    "load_settings",
    "default_settings_text",
]


class DriftSettings(BaseModel):
    """Defaults for drift checks (Evidently's defaults unless changed)."""

    drift_share: float = Field(0.5, ge=0.0, le=1.0)
    """Share of drifted columns at which the whole dataset counts as drifted."""
    threshold: float | None = None
    """Global threshold for every method; None keeps each method's own default."""


Role = Literal["viewer", "developer", "approver", "admin"]


class GateSettings(BaseModel):
    """Gates a promotion proposal runs (``[gates]``); each reports pass/fail and its numbers."""

    contract: bool = True
    """Check the training snapshot against its parent's inferred contract (or contract_file)."""
    contract_file: str | None = None
    """A saved contract (TOML, relative to the project folder) to check instead of the parent."""
    contract_ranges: bool = False
    """Whether min/max ranges inferred from the parent fail the gate; off because new rows
    routinely exceed a sample's observed range (they are listed as notes). A saved
    contract_file is always enforced in full."""
    performance: bool = True
    """Compare challenger and champion on the same labelled holdout."""
    holdout: str | None = None
    """Snapshot ref of that holdout; default: the newest labelled snapshot neither model trained
    on, else the challenger run's own holdout rows."""
    tolerance: float = Field(0.01, ge=0)
    """How much worse than the champion the challenger may be on the primary metric
    (auc for binary, rmse for regression, logloss for multiclass)."""
    min_improvement: float = Field(0.0, ge=0)
    """How much better than the champion the challenger must be (0: not required)."""
    segment_columns: list[str] = ["gender"]
    """Sensitive or business columns checked segment by segment (skipped when absent)."""
    max_segment_gap: float = Field(0.10, ge=0)
    """Largest allowed gap between the best and worst segment's primary metric."""
    max_parity_difference: float = Field(0.10, ge=0)
    """Largest allowed demographic-parity difference (gap in positive-prediction rates)."""
    min_segment_rows: int = Field(30, ge=1)
    """Segments with fewer holdout rows (or one class only) are left out of the gap."""
    sanity: bool = True
    """Predictions must be finite and not constant, and scoring fast enough."""
    max_latency_ms_per_10k: float = Field(2000.0, gt=0)
    """Largest allowed time to score 10,000 rows, in milliseconds."""


class RegistrySettings(BaseModel):
    """Model registry behaviour (``[registry]``)."""

    mlflow: bool = True
    """Mirror model versions and aliases to the MLflow Model Registry of the tracking store."""
    four_eyes: bool = False
    """A proposal must be approved by someone other than who proposed it (its proposer may
    still reject it, to withdraw it). Off by default: on a one-person workbench the proposer
    is the only approver. A direct rollback by an approver stays possible either way."""


class RemoteSettings(BaseModel):
    """A remote the workspace pushes to and pulls from (``[remotes.NAME]``; ``workbench
    remote add`` writes it). Credentials never go here: boto3 reads them from
    ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE`` or ``~/.aws``."""

    url: str
    """A folder (``/srv/workbench/churn``) or ``s3://bucket/prefix``."""
    endpoint_url: str | None = None
    """The S3 endpoint of an S3-compatible server (MinIO, Ceph, R2); None: boto3's default
    (AWS, or ``AWS_ENDPOINT_URL``)."""


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
    roles: dict[str, Role] = {}
    """Role per user name (``[roles]`` table: ``alice = "approver"``). Roles, each including
    the ones before: viewer (read), developer (register, propose, retrain), approver
    (approve, reject, roll back, move aliases), admin (everything)."""
    default_role: Role = "developer"
    """Role of users not listed in ``roles``: they can propose but not approve."""
    gates: GateSettings = GateSettings()
    """Promotion gates and their limits."""
    registry: RegistrySettings = RegistrySettings()
    """Model registry options."""
    remotes: dict[str, RemoteSettings] = {}
    """Remotes by name (``[remotes.origin]``, or ``WORKBENCH_REMOTES__ORIGIN__URL`` in CI)."""

    @property
    def actor_name(self) -> str:
        """The acting user's name: settings first, then the OS user."""
        return self.actor or os_user()


def load_settings(workbench_dir: Path) -> Settings:
    """Load settings from ``<workbench_dir>/workbench.toml`` and ``WORKBENCH_*`` variables."""
    raw = read_settings(workbench_dir)
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        path = workbench_dir / SETTINGS_FILE
        raise InputError(f"invalid setting {where}: {first['msg']}", hint=str(path)) from None


def default_settings_text() -> str:
    """The commented settings file ``workbench init`` writes."""
    return """\
# Workbench settings. Environment variables WORKBENCH_<NAME> override these
# (nested: WORKBENCH_DRIFT__DRIFT_SHARE=0.3). Every field is documented in workbench/config.py.

# Who is acting (defaults to the OS user).
# actor = "alice"

# Seconds to retry when another process holds the store's write lock.
lock_timeout = 15.0

# Seconds between the TUI's checks for changes made by other processes.
poll_interval = 1.0

# Role of users not listed under [roles]: viewer, developer, approver or admin.
# Approving, rejecting and rolling back need approver (admin implies everything).
default_role = "developer"

[roles]
# alice = "approver"
# bob = "admin"

[drift]
# Share of drifted columns at which the dataset counts as drifted.
drift_share = 0.5

[gates]
# Limits of the promotion gates (see workbench/config.py GateSettings for all of them).
tolerance = 0.01              # challenger may be this much worse than the champion (AUC)
segment_columns = ["gender"]  # fairness / business segments checked one by one
max_segment_gap = 0.10
max_parity_difference = 0.10

[registry]
# Mirror model versions and aliases to MLflow's Model Registry.
mlflow = true
# Four eyes: a proposal must be approved by someone other than its proposer.
four_eyes = false
"""
