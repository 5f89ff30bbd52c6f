"""Records of the monitoring service that cross layers: alerts, silences, notifications,
checks, reports and deployment settings.

Times are timezone-aware UTC datetimes everywhere above the repository (the store keeps them
as naive UTC ``timestamp`` values).
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "Alert",
    "AlertStatus",
    "Breach",
    "CheckResult",
    "DeploymentSetting",
    "Notification",
    "NotificationStatus",
    "Silence",
    "MonitorReport",
    "as_utc",
    "to_store",
]


def as_utc(value: datetime | None) -> datetime | None:
    """A store value (naive UTC) or any aware datetime as an aware UTC datetime."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def to_store(value: datetime) -> datetime:
    """An aware datetime as the naive UTC value the store keeps; naive values are refused."""
    if value.tzinfo is None:
        raise ValueError(f"a time zone is required: {value!r}")
    return value.astimezone(UTC).replace(tzinfo=None)


class AlertStatus(enum.StrEnum):
    """An alert episode is firing until its condition clears."""

    FIRING = "firing"
    RESOLVED = "resolved"


class NotificationStatus(enum.StrEnum):
    """An outbox row waits (pending) until delivered, or is given up (dead)."""

    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


@dataclass(frozen=True)
class Breach:
    """One policy breached by one window: what, how much, against which limit."""

    policy: str
    subject: str
    value: float | None
    threshold: float
    message: str
    window_key: str
    severity: str = "warning"
    #: for performance: "realized" (labels) or "estimated" (CBPE/DLE)
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Breach:
        """Inverse of ``to_dict``."""
        return cls(**data)


@dataclass
class Alert:
    """One episode of a policy breach for one model and subject (feature, metric, ...)."""

    id: int
    fingerprint: str
    model: str
    policy: str
    subject: str
    severity: str
    status: AlertStatus
    message: str
    value: float | None
    threshold: float | None
    window_key: str | None
    evidence: dict[str, Any]
    opened_at: datetime
    resolved_at: datetime | None = None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    ack_comment: str | None = None
    #: set by the service: a silence covers this alert now
    silenced: bool = False

    @property
    def title(self) -> str:
        """One line for lists and notifications."""
        return f"[{self.severity}] {self.model} {self.policy} {self.subject}: {self.message}"

    def __repr__(self) -> str:
        ack = ", acknowledged" if self.acknowledged_at else ""
        return f"Alert({self.id}: {self.status}{ack} {self.title})"


@dataclass
class Silence:
    """Notifications of matching alerts are not sent until ``ends_at``."""

    id: int
    model: str
    policy: str | None
    subject: str | None
    ends_at: datetime
    comment: str | None
    created_by: str
    created_at: datetime

    def matches(self, alert: Alert, now: datetime) -> bool:
        """Whether this silence covers ``alert`` at ``now``."""
        return (
            now < self.ends_at
            and self.model == alert.model
            and self.policy in (None, alert.policy)
            and self.subject in (None, alert.subject)
        )


@dataclass
class Notification:
    """One outbox row: a message for one channel, with its delivery state."""

    id: int
    event_id: str
    channel: str
    alert_id: int | None
    kind: str
    payload: dict[str, Any]
    status: NotificationStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None = None


@dataclass
class CheckResult:
    """What one ``monitor check`` did."""

    model: str
    check_id: int | None
    windows: int
    judged: int
    fired: list[Alert] = field(default_factory=list)
    resolved: list[Alert] = field(default_factory=list)
    still_firing: int = 0
    proposal_id: int | None = None
    proposal_note: str | None = None
    delivered: int = 0
    pending_notifications: int = 0
    skipped: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (alerts by id and title)."""
        return {
            "model": self.model,
            "check_id": self.check_id,
            "windows": self.windows,
            "judged": self.judged,
            "fired": [{"id": a.id, "title": a.title} for a in self.fired],
            "resolved": [{"id": a.id, "title": a.title} for a in self.resolved],
            "still_firing": self.still_firing,
            "proposal_id": self.proposal_id,
            "proposal_note": self.proposal_note,
            "delivered": self.delivered,
            "pending_notifications": self.pending_notifications,
            "skipped": self.skipped,
        }


@dataclass
class MonitorReport:
    """Windows of one model's prediction log, each served version and role side by side."""

    model: str
    window: str
    champion: int | None
    #: one ``WindowFigures`` per window, role and version, oldest window first
    windows: list[Any]
    #: per window key: the policies it breached (champion rows only)
    breaches: dict[str, list[Breach]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def keys(self) -> list[str]:
        """Window keys, oldest first."""
        return list(dict.fromkeys(w.window_key for w in self.windows))

    def champion_windows(self) -> list[Any]:
        """The champion's figures per window (role champion), oldest first."""
        return [w for w in self.windows if w.role == "champion"]

    def to_polars(self) -> Any:
        """One row per window, role and version with the main figures."""
        import polars as pl

        rows = []
        for w in self.windows:
            row = {
                "window": w.window_key, "start": w.window_start, "role": w.role,
                "version": w.version, "rows": w.rows, "labelled": w.labelled,
                "drift_share": w.drift_share, "prediction_drift": w.prediction_drift,
                "new_category_share": w.new_category_share,
                "latency_p50_ms": w.latency_p50_ms, "latency_p99_ms": w.latency_p99_ms,
                "error_rate": w.error_rate,
            }  # fmt: skip
            for metric, est in w.estimated.items():
                row[f"{metric}:estimated"] = est.get("value")
                row[f"{metric}:realized"] = w.realized.get(metric)
            row["breaches"] = ", ".join(b.policy for b in self.breaches.get(w.window_key, []))
            rows.append(row)
        return pl.DataFrame(rows, infer_schema_length=None)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "model": self.model,
            "window": self.window,
            "champion": self.champion,
            "windows": [w.to_dict() for w in self.windows],
            "breaches": {k: [b.to_dict() for b in v] for k, v in self.breaches.items()},
            "notes": self.notes,
        }

    def _repr_html_(self) -> str:
        return self.to_polars()._repr_html_()


@dataclass
class DeploymentSetting:
    """A deployment setting the scoring server reads (newest value per model and key)."""

    id: int
    model: str
    key: str
    value: Any
    actor: str
    reason: str | None
    decision_id: int | None
    set_at: datetime
