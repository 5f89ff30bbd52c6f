"""Alerts and their notifications: the alert episodes that ``check`` fires and resolves,
acknowledgements, silences, and the transactional outbox that delivers notifications.

``AlertService(ctx, registry, clock=...)`` is built with the workspace ``Context`` and the
registry (roles: who may acknowledge or silence; the model a command means); ``clock``
returns an aware UTC datetime and is injected so tests never sleep. ``MonitoringService``
fires and resolves alerts inside its check's transaction and queues their notifications
through ``notify``; everything else a person does with alerts, and delivery, happens here.

What is stored (``0009_monitoring.sql``), and why:

* ``alerts`` (+ ``alert_events``, ``alert_silences``): one row per episode of a
  (model, policy, subject) fingerprint; transitions are guarded updates, audited.
* ``outbox`` (+ ``outbox_attempts``): the transactional outbox. A transition and its
  notifications commit together; delivery happens afterwards, retried with backoff, so a
  channel that is down loses nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from . import repository as repo
from .reading import model_name, utcnow
from .records import Alert, Notification, Silence

if TYPE_CHECKING:
    import random

    import duckdb

    from ..context import Context
    from ..registry.service import RegistryService

__all__ = ["AlertService", "alert_payload", "fingerprint", "new_event_id"]


class AlertService:
    """Alerts, acknowledgements, silences and the notification outbox."""

    def __init__(
        self,
        ctx: Context,
        registry: RegistryService,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.ctx = ctx
        self.registry = registry
        self.clock = clock

    def _settings(self) -> Any:
        return self.ctx.settings.monitoring

    # -- alerts --------------------------------------------------------------------------------

    def alerts(self, status: str | None = None, model: str | None = None) -> list[Alert]:
        """Alerts, newest first, each marked when a silence covers it now."""
        if status is not None and status not in ("firing", "resolved"):
            raise InputError(f"unknown alert status {status!r}", hint="firing or resolved")
        now = self.clock()
        with self.ctx.store.read() as con:
            found = repo.list_alerts(con, status, model)
            silences = repo.active_silences(con, now)
        for a in found:
            a.silenced = any(s.matches(a, now) for s in silences)
        return found

    def alert(self, alert_id: int | str) -> Alert:
        """One alert."""
        with self.ctx.store.read() as con:
            return repo.get_alert(con, _alert_id(alert_id))

    def alert_events(self, alert_id: int | str) -> list[dict[str, Any]]:
        """An alert's transitions, oldest first."""
        with self.ctx.store.read() as con:
            return repo.alert_events(con, _alert_id(alert_id))

    def acknowledge(self, alert_id: int | str, comment: str | None = None) -> Alert:
        """Acknowledge a firing alert (someone is on it); notifications continue to resolve."""
        self.registry.require("propose")
        now, actor = self.clock(), self.ctx.actor
        with self.ctx.store.write() as con:
            alert = repo.acknowledge_alert(con, _alert_id(alert_id), actor, comment, now)
            repo.insert_event(con, alert.id, "acknowledged", actor, now, {"comment": comment})
            self.ctx.audit(con, "alert.acknowledged", f"alert {alert.id}", {"comment": comment},
                           rows=[("alerts", alert.id)], actor=actor)  # fmt: skip
        return alert

    def silence(
        self,
        alert_id: int | str | None = None,
        *,
        model: str | None = None,
        policy: str | None = None,
        subject: str | None = None,
        duration: str = "1d",
        comment: str | None = None,
    ) -> Silence:
        """Silence notifications of an alert's fingerprint (or of a model, policy, subject)
        for ``duration`` (``2h``, ``1d``)."""
        from .schedule import parse_period

        self.registry.require("propose")
        if alert_id is not None:
            alert = self.alert(alert_id)
            model, policy, subject = alert.model, alert.policy, alert.subject
        model = model_name(self.registry, model)
        now, actor = self.clock(), self.ctx.actor
        ends = now + parse_period(duration)
        with self.ctx.store.write() as con:
            silence = repo.insert_silence(con, model, policy, subject, ends, comment, actor, now)
            self.ctx.audit(con, "alert.silenced", model,
                           {"policy": policy, "subject": subject, "until": ends.isoformat(),
                            "comment": comment},
                           rows=[("alert_silences", silence.id)], actor=actor)  # fmt: skip
        return silence

    def silences(self) -> list[Silence]:
        """Silences in force now."""
        with self.ctx.store.read() as con:
            return repo.active_silences(con, self.clock())

    # -- notifications -------------------------------------------------------------------------

    def channels(self) -> list[str]:
        """The configured notification channels (``webhook``, ``file``)."""
        settings = self._settings()
        return [c for c, on in (("webhook", settings.webhook), ("file", settings.file)) if on]

    def notify(
        self,
        con: duckdb.DuckDBPyConnection,
        alert: Alert,
        kind: str,
        silences: Sequence[Silence],
        now: datetime,
    ) -> None:
        """Queue the notifications of one transition (caller's transaction), unless a silence
        covers the alert or a firing falls inside the cooldown."""
        channels = self.channels()
        if not channels:
            return
        if any(s.matches(alert, now) for s in silences):
            repo.insert_event(con, alert.id, "notification.silenced", self.ctx.actor, now)
            return
        if kind == "alert.firing":
            last = repo.last_notified(con, alert.fingerprint)
            cooldown = timedelta(minutes=self._settings().cooldown_minutes)
            if last is not None and now - last < cooldown:
                repo.insert_event(con, alert.id, "notification.cooldown", self.ctx.actor, now,
                                  {"last": last.isoformat()})  # fmt: skip
                return
        elif kind == "alert.resolved" and not _was_notified(con, alert.id):
            return  # nobody heard it fire
        payload = alert_payload(alert, kind, now)
        for channel in channels:
            repo.insert_notification(con, new_event_id(), channel, alert.id, kind, payload, now)

    def test_notification(self) -> list[Notification]:
        """Queue a test message on every channel, deliver it now, and return its rows."""
        channels = self.channels()
        if not channels:
            raise InputError(
                "no notification channel is configured",
                hint='set [monitoring] file = "alerts.jsonl" or a [monitoring.webhook] url',
            )
        now = self.clock()
        payload = {"type": "test", "timestamp": now.isoformat(),
                   "text": f"workbench test notification from {self.ctx.actor}",
                   "data": {"workspace": str(self.ctx.root)}}  # fmt: skip
        ids = []
        with self.ctx.store.write() as con:
            for channel in channels:
                ids.append(repo.insert_notification(con, new_event_id(), channel, None, "test",
                                                    payload, now))  # fmt: skip
        self.deliver()
        with self.ctx.store.read() as con:
            return [n for n in repo.notifications(con, None, 1000) if n.id in ids]

    def notifications(self, status: str | None = None, limit: int = 100) -> list[Notification]:
        """Outbox rows, newest first."""
        with self.ctx.store.read() as con:
            return repo.notifications(con, status, limit)

    def notification_attempts(self, outbox_id: int) -> list[dict[str, Any]]:
        """The delivery attempts of one message."""
        with self.ctx.store.read() as con:
            return repo.attempts(con, outbox_id)

    def deliver(self, rng: random.Random | None = None) -> int:
        """Send every due message once; a failure is retried later with backoff (the
        receiver's Retry-After wins), a message out of attempts is marked dead. Returns how
        many were delivered now."""
        from .notify import RetryPolicy, deliver_file, deliver_webhook

        settings = self._settings()
        policy = RetryPolicy(settings.max_attempts, settings.retry_base_seconds,
                             settings.retry_max_seconds)  # fmt: skip
        now = self.clock()
        with self.ctx.store.read() as con:
            due = repo.due_notifications(con, now)
        delivered = 0
        for note in due:
            lease = now + timedelta(seconds=60)
            with self.ctx.store.write() as con:
                if not repo.claim_notification(con, note, lease):
                    continue  # another process took it
            if note.channel == "webhook" and settings.webhook is not None:
                hook = settings.webhook
                outcome = deliver_webhook(hook.url, note.event_id, note.payload,
                                          secret=hook.secret, now=self.clock(),
                                          timeout=hook.timeout)  # fmt: skip
            elif note.channel == "file" and settings.file:
                outcome = deliver_file(self.ctx.root / settings.file, note.event_id, note.payload)
            else:
                from .notify import DeliveryResult

                outcome = DeliveryResult(False, None, f"channel {note.channel} is not configured")
            done = self.clock()
            with self.ctx.store.write() as con:
                repo.record_attempt(con, note.id, done, outcome.status_code, outcome.error,
                                    outcome.retry_after, outcome.duration_ms)  # fmt: skip
                if outcome.ok:
                    repo.deliver_notification(con, note.id, done)
                    delivered += 1
                    continue
                later = policy.decide(note.attempts + 1, done, outcome.retry_after, rng)
                if later is None:
                    repo.kill_notification(con, note.id, outcome.error or "failed")
                else:
                    repo.retry_notification(con, note.id, later, outcome.error or "failed")
        return delivered


def _was_notified(con: duckdb.DuckDBPyConnection, alert_id: int) -> bool:
    return bool(
        con.execute(
            "select 1 from outbox where alert_id = ? and kind = 'alert.firing'", [alert_id]
        ).fetchall()
    )


def fingerprint(model: str, policy: str, subject: str) -> str:
    """What makes two breaches the same alert: model, policy and subject."""
    return f"{model}|{policy}|{subject}"


def new_event_id() -> str:
    """A Standard Webhooks message id (``msg_`` + 32 hex digits)."""
    import uuid

    return f"msg_{uuid.uuid4().hex}"


def alert_payload(alert: Alert, kind: str, now: datetime) -> dict[str, Any]:
    """The JSON sent for a transition: Standard Webhooks' type/timestamp/data and a
    Slack-compatible ``text``."""
    verb = "FIRING" if kind == "alert.firing" else "RESOLVED"
    text = f"{verb} {alert.title}"
    if alert.window_key:
        text += f" (window {alert.window_key})"
    data = {
        "alert_id": alert.id, "fingerprint": alert.fingerprint, "model": alert.model,
        "policy": alert.policy, "subject": alert.subject, "severity": alert.severity,
        "status": str(alert.status), "message": alert.message, "value": alert.value,
        "threshold": alert.threshold, "window": alert.window_key,
        "opened_at": alert.opened_at.isoformat(),
        "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
    }  # fmt: skip
    return {"type": kind, "timestamp": now.isoformat(), "text": text, "data": data}


def _alert_id(value: int | str) -> int:
    text = str(value).strip().lower().removeprefix("alert").strip().lstrip("#")
    if not text.isdigit():
        raise InputError(f"not an alert id: {value!r}")
    return int(text)
