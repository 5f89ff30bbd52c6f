"""Workspace settings: one typed model, loaded from ``workbench.toml`` and the environment.

Environment variables (``WORKBENCH_LOCK_TIMEOUT=5``) win over the file, which wins over the
defaults. Nested fields use ``__`` (``WORKBENCH_DRIFT__DRIFT_SHARE=0.3``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import InputError
from .settings_file import (
    SETTINGS_FILE,
    env_overrides,
    merge,
    read_settings,
    read_settings_file,
)
from .validation import check_keys, input_error

__all__ = [
    "Settings",
    "DriftSettings",
    "GateSettings",
    "RegistrySettings",
    "MonitoringSettings",
    "WebhookChannel",
    "CanarySettings",
    "AuditSettings",
    "RemoteSettings",
    "Role",
    "SETTINGS_FILE",
    "load_settings",
    "validate_settings",
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
    segment_columns: list[str] = []
    """Sensitive or business columns checked segment by segment; none until named (a column
    the holdout lacks is reported as not checked)."""
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


Window = Literal["hour", "day", "week", "month", "batch"]
Severity = Literal["info", "warning", "critical"]


class WebhookChannel(BaseModel):
    """A webhook that receives alert transitions as JSON (``[monitoring.webhook]``).

    The body has a Slack-compatible ``text`` field; requests are signed as Standard Webhooks
    do (``webhook-id``, ``webhook-timestamp``, ``webhook-signature: v1,<base64>``).
    """

    url: str
    """Where to POST (http or https)."""
    secret: str | None = None
    """Signing secret: ``whsec_`` followed by base64, or any text (its UTF-8 bytes are the
    key). Unset: requests go unsigned. Prefer ``WORKBENCH_MONITORING__WEBHOOK__SECRET``."""
    timeout: float = Field(5.0, gt=0)
    """Seconds to wait for the receiver's answer."""


class CanarySettings(BaseModel):
    """The canary ramp and its guards (``[monitoring.canary]``)."""

    steps: list[float] = [5.0, 25.0, 50.0, 100.0]
    """Traffic shares (percent) the canary goes through, in order."""
    min_rows: int = Field(200, ge=1)
    """Canary rows a step must have served before the ramp may move on."""
    max_metric_drop: float = Field(0.03, ge=0)
    """Guard: largest allowed drop of the canary's primary metric (realized where labels
    exist, else estimated) below the champion's on the same windows."""
    max_error_rate: float = Field(0.02, ge=0, le=1)
    """Guard: largest allowed share of canary requests that got no prediction."""
    max_latency_p99_ms: float | None = None
    """Guard: largest allowed p99 latency of the canary (None: not guarded)."""


class MonitoringSettings(BaseModel):
    """Monitoring policies, alerting and notification channels (``[monitoring]``).

    A policy is off while its threshold is None. Each window (``window``) of the prediction
    log is judged against every policy that is on; a policy fires when it breaches in
    ``fire_after`` of the last ``of_last`` judged windows (hysteresis) and resolves when that
    no longer holds.
    """

    window: Window = "month"
    """Window size ``monitor check`` judges (``batch``: rows separated by a gap of more than
    ``batch_gap_minutes`` start a new window)."""
    batch_gap_minutes: float = Field(30.0, gt=0)
    """A pause this long between logged rows starts a new ``batch`` window."""
    min_rows: int = Field(100, ge=1)
    """Windows with fewer rows are reported but not judged by the statistical policies
    (drift, performance, data quality); volume is judged on every window."""
    drift_share: float | None = Field(0.5, ge=0, le=1)
    """Fire when at least this share of the features drifted against the training data."""
    feature_score: float | None = Field(None, ge=0)
    """Fire when one feature's drift score (a distance: Wasserstein for numbers,
    Jensen-Shannon for categories) is at least this."""
    performance_drop: float | None = Field(0.05, ge=0)
    """Fire when the primary metric (realized where labels exist, else estimated) is at least
    this much worse than the champion's holdout value."""
    performance_metric: str | None = None
    """The metric watched: roc_auc, accuracy, f1, precision or recall for binary models, mae
    or rmse for regression; None: roc_auc or rmse."""
    null_share_increase: float | None = Field(0.2, ge=0, le=1)
    """Fire when a feature's share of nulls is at least this much above the training data's."""
    new_category_share: float | None = Field(0.05, ge=0, le=1)
    """Fire when at least this share of a window's rows hold a category unseen in training."""
    min_volume: int | None = Field(None, ge=0)
    """Fire when a window holds fewer rows than this."""
    latency_p99_ms: float | None = Field(None, gt=0)
    """Fire when the window's p99 latency is at least this many milliseconds."""
    error_rate: float | None = Field(0.05, ge=0, le=1)
    """Fire when at least this share of requests got no prediction."""
    fire_after: int = Field(1, ge=1)
    """Hysteresis: breaches needed among the last ``of_last`` judged windows to fire."""
    of_last: int = Field(1, ge=1)
    """Hysteresis: how many recent judged windows are counted."""
    severity: dict[str, Severity] = {
        "performance": "critical",
        "error_rate": "critical",
        "null_share": "critical",
    }
    """Severity per policy; policies not listed are warnings."""
    retrain_on: list[str] = ["performance", "drift_share"]
    """Policies whose firing files a retraining proposal (at most one open per model)."""
    retrain_cooldown_hours: float = Field(168.0, ge=0)
    """After a retraining proposal was filed, none is filed for the model for this long."""
    cooldown_minutes: float = Field(60.0, ge=0)
    """Notifications about one alert (same model, policy and subject) are at least this far
    apart; transitions inside the cooldown are recorded but not sent."""
    schedule: str = "10m"
    """Default period of ``monitor watch`` (``30s``, ``10m``, ``1h``, ``1d``)."""
    webhook: WebhookChannel | None = None
    """A webhook channel; None: no webhook."""
    file: str | None = None
    """A file channel: each notification appended as one JSON line (relative to the project
    folder); None: no file channel."""
    max_attempts: int = Field(12, ge=1)
    """Delivery attempts per notification before it is marked dead."""
    retry_base_seconds: float = Field(10.0, gt=0)
    """First retry delay; doubled per attempt (with jitter), capped by ``retry_max_seconds``."""
    retry_max_seconds: float = Field(3600.0, gt=0)
    """Longest delay between two attempts (also the cap on a receiver's Retry-After)."""
    canary: CanarySettings = CanarySettings()
    """The canary ramp and its guards."""


class AuditSettings(BaseModel):
    """The audit log (``[audit]``)."""

    key_file: str | None = None
    """A key file outside the project (``workbench audit keygen FILE``): every audit entry is
    then signed, so a chain recomputed after an edit fails ``audit verify``."""


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
    monitoring: MonitoringSettings = MonitoringSettings()
    """Monitoring policies, alerts and notification channels."""
    accounts: dict[str, list[str]] = {}
    """Which names each operating-system account may act under (``[accounts]`` table:
    ``ana = ["alice"]``, or ``["*"]`` for any name: a teaching machine where one person plays
    every role). Without an entry, an account acts only under its own name, so setting
    ``actor`` (or ``WORKBENCH_ACTOR``) to someone else's name is refused."""
    audit: AuditSettings = AuditSettings()
    """The audit log's options."""
    remotes: dict[str, RemoteSettings] = {}
    """Remotes by name (``[remotes.origin]``, or ``WORKBENCH_REMOTES__ORIGIN__URL`` in CI)."""


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


def validate_settings(workbench_dir: Path) -> Settings:
    """The workspace's settings, checked whole; one InputError naming the file and the key.

    Every key of ``workbench.toml`` must be known (the error's hint names the closest known
    key) and every value must have its field's type as written in TOML: ``lock_timeout =
    "abc"`` and ``four_eyes = "no"`` are refused. ``WORKBENCH_*`` variables are text, so
    they are read as ``load_settings`` reads them, and their unknown names are left alone
    (other tools' ``WORKBENCH_TUI_TIMING``, say).
    """
    path = workbench_dir / SETTINGS_FILE
    from_file = read_settings_file(workbench_dir)
    check_keys(Settings, from_file, path)
    try:
        Settings.model_validate(from_file, strict=True)
    except ValidationError as exc:
        raise input_error(exc, path, Settings) from None
    env = env_overrides()
    try:
        return Settings.model_validate(merge(from_file, env))
    except ValidationError as exc:
        loc = [str(p) for p in exc.errors()[0]["loc"]]
        source = "WORKBENCH_" + "__".join(loc).upper() if _holds(env, loc) else path
        raise input_error(exc, source, Settings) from None


def _holds(data: dict, loc: list[str]) -> bool:
    """Whether ``data`` has a value at the key path ``loc``."""
    for key in loc:
        if not isinstance(data, dict) or key not in data:
            return False
        data = data[key]
    return True


def default_settings_text(segment_columns: list[str] | None = None) -> str:
    """The commented settings file ``workbench init`` writes; ``segment_columns`` fills in
    the gates' segment columns (a fresh workspace has none; the demo names its own)."""
    if segment_columns:
        segments = f"segment_columns = {json.dumps(segment_columns)}"
    else:
        segments = '# segment_columns = ["gender", "region"]'
    return f"""\
# Workbench settings. Environment variables WORKBENCH_<NAME> override these
# (nested: WORKBENCH_DRIFT__DRIFT_SHARE=0.3). Every field is documented in workbench/config.py.

# Who is acting (defaults to the OS account). Acting under another name needs an [accounts]
# entry for your OS account below.
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

[accounts]
# Names an OS account may act under (its own name always): ana = ["alice"].
# On a teaching machine where one person plays every role: student = ["*"].
# Roles, accounts and four eyes are read from this file only, never from WORKBENCH_* variables;
# make the file read-only for others (`workbench settings pin`) for them to mean more than a
# convention.

[drift]
# Share of drifted columns at which the dataset counts as drifted.
drift_share = 0.5

[gates]
# Limits of the promotion gates (see workbench/config.py GateSettings for all of them).
tolerance = 0.01              # challenger may be this much worse than the champion (AUC)
# Fairness / business columns checked segment by segment (none until you name them):
{segments}
max_segment_gap = 0.10
max_parity_difference = 0.10

[registry]
# Mirror model versions and aliases to MLflow's Model Registry.
mlflow = true
# Four eyes: a proposal must be approved by someone other than its proposer.
four_eyes = false

[monitoring]
# Policies judged per window of the prediction log (see MonitoringSettings for all of them;
# a policy whose threshold is unset is off).
window = "month"
min_rows = 100
drift_share = 0.5          # share of drifted features
performance_drop = 0.05    # primary metric below the champion's holdout value
fire_after = 1             # hysteresis: breaches among the last `of_last` windows
of_last = 1
# file = "alerts.jsonl"    # a file channel
# A webhook channel; its secret is best kept in WORKBENCH_MONITORING__WEBHOOK__SECRET:
# webhook = {{ url = "http://127.0.0.1:9000/hooks/workbench" }}

[audit]
# A key kept outside the project signs every audit entry (`workbench audit keygen FILE`).
# key_file = "~/.config/workbench/audit.key"
"""
