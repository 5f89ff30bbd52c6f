"""Monitoring SQL: labels, fitted references, judged windows, checks, alerts, silences, the
notification outbox and deployment settings; each function takes a connection.

The service owns the transaction and the audit entries. Schema:
``workbench/migrations/0009_monitoring.sql``. State transitions are guarded updates
(``... where id = ? and status = ?``) that raise when no row matched, as procrastinate does:
two processes acting on one alert cannot both win.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import InputError, NotFoundError
from .records import (
    Alert,
    AlertStatus,
    DeploymentSetting,
    Notification,
    NotificationStatus,
    Silence,
    as_utc,
    to_store,
)

if TYPE_CHECKING:
    import duckdb
    import polars as pl

__all__ = [
    "StaleTransition",
    "current_labels",
    "insert_label_import",
    "insert_labels",
    "labels_frame",
    "get_reference",
    "put_reference",
    "stored_windows",
    "save_window",
    "insert_check",
    "tick_done",
    "insert_alert",
    "open_alerts",
    "get_alert",
    "list_alerts",
    "resolve_alert",
    "acknowledge_alert",
    "last_notified",
    "insert_event",
    "insert_silence",
    "active_silences",
    "insert_notification",
    "due_notifications",
    "claim_notification",
    "notifications",
    "record_attempt",
    "deliver_notification",
    "retry_notification",
    "kill_notification",
    "insert_setting",
    "current_setting",
    "setting_history",
]


class StaleTransition(InputError):
    """A guarded update matched no row: someone else changed the record first."""


def _json(value: Any) -> str:
    return json.dumps(value, default=str, sort_keys=True)


# -- labels ------------------------------------------------------------------------------------


def current_labels(con: duckdb.DuckDBPyConnection, model: str, keys: pl.DataFrame) -> pl.DataFrame:
    """The newest label version of each key in ``keys`` (column ``entity_key``)."""
    con.register("__incoming_keys", keys.select("entity_key"))
    try:
        return con.sql(
            "select l.entity_key, l.label, l.version from labels l "
            "join __incoming_keys k using (entity_key) where l.model = ? and l.current",
            params=[model],
        ).pl()
    finally:
        con.unregister("__incoming_keys")


def labels_frame(con: duckdb.DuckDBPyConnection, model: str, *, times: bool = True) -> pl.DataFrame:
    """Every labelled key of ``model`` with its newest label (and label time, UTC)."""
    import polars as pl

    columns = "entity_key, label" + (", label_time" if times else "")
    frame = con.sql(
        f"select {columns} from labels where model = ? and current", params=[model]
    ).pl()
    if not times:
        return frame
    return frame.with_columns(pl.col("label_time").dt.convert_time_zone("UTC"))


def insert_label_import(
    con: duckdb.DuckDBPyConnection,
    model: str,
    source_path: str,
    source_hash: str,
    columns: tuple[str, str, str | None],
    counts: tuple[int, int, int, int],
    actor: str,
) -> int:
    """Record one labels import (rows, added, corrected, unchanged); its id."""
    key, label, time = columns
    rows, added, corrected, unchanged = counts
    return con.execute(
        "insert into label_imports (model, source_path, source_hash, key_column, label_column, "
        "time_column, rows, added, corrected, unchanged, actor, created_at) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) returning id",
        [model, source_path, source_hash, key, label, time, rows, added, corrected, unchanged,
         actor, datetime.now()],
    ).fetchall()[0][0]  # fmt: skip


def insert_labels(
    con: duckdb.DuckDBPyConnection, model: str, rows: pl.DataFrame, import_id: int
) -> None:
    """Store label rows (``entity_key``, ``version``, ``label``, ``label_time``)."""
    con.register("__new_labels", rows.select("entity_key", "version", "label", "label_time"))
    try:
        con.execute(
            "update labels set current = false where model = ? and current and entity_key in "
            "(select entity_key from __new_labels where version > 1)",
            [model],
        )
        con.execute(
            "insert into labels (model, entity_key, version, label, label_time, import_id) "
            "select ?, entity_key, version, label, label_time, ? from __new_labels",
            [model, import_id],
        )
    finally:
        con.unregister("__new_labels")


# -- fitted references -------------------------------------------------------------------------


def get_reference(
    con: duckdb.DuckDBPyConnection, model: str, version: int, kind: str
) -> str | None:
    """The object hash of what was fitted for a version (``kind``: cbpe, dle, prediction)."""
    rows = con.execute(
        "select object_hash from monitor_references where model = ? and version = ? and kind = ?",
        [model, version, kind],
    ).fetchall()
    return rows[0][0] if rows else None


def put_reference(
    con: duckdb.DuckDBPyConnection, model: str, version: int, kind: str, object_hash: str
) -> None:
    """Remember what was fitted for a version (replacing an older entry)."""
    con.execute(
        "insert or replace into monitor_references (model, version, kind, object_hash, "
        "created_at) values (?, ?, ?, ?, ?)",
        [model, version, kind, object_hash, datetime.now()],
    )


# -- windows and checks ------------------------------------------------------------------------


def stored_windows(
    con: duckdb.DuckDBPyConnection, model: str, window_size: str
) -> dict[str, tuple[str, list[dict[str, Any]], list[dict[str, Any]]]]:
    """window key -> (inputs digest, report rows, breaches) of the judged windows."""
    rows = con.execute(
        "select window_key, inputs_digest, report_json, breaches_json from monitor_windows "
        "where model = ? and window_size = ? order by window_start, window_key",
        [model, window_size],
    ).fetchall()
    return {k: (d, json.loads(r), json.loads(b)) for k, d, r, b in rows}


def save_window(
    con: duckdb.DuckDBPyConnection,
    model: str,
    window_size: str,
    key: str,
    bounds: tuple[datetime | None, datetime | None],
    digest: str,
    report: list[dict[str, Any]],
    breaches: list[dict[str, Any]],
    check_id: int | None,
) -> None:
    """Store (or replace) the judgement of one window."""
    con.execute(
        "insert or replace into monitor_windows (model, window_size, window_key, window_start, "
        "window_end, inputs_digest, report_json, breaches_json, check_id, judged_at) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [model, window_size, key, bounds[0], bounds[1], digest, _json(report), _json(breaches),
         check_id, datetime.now()],
    )  # fmt: skip


def tick_done(con: duckdb.DuckDBPyConnection, model: str, tick: str) -> bool:
    """Whether a scheduled tick already ran for ``model``."""
    return bool(
        con.execute(
            "select 1 from monitor_checks where model = ? and tick = ?", [model, tick]
        ).fetchall()
    )


def insert_check(
    con: duckdb.DuckDBPyConnection,
    model: str,
    tick: str | None,
    started_at: datetime,
    counts: tuple[int, int, int, int],
    proposal_id: int | None,
    actor: str,
) -> int:
    """Record one check (windows, judged, fired, resolved); its id."""
    windows, judged, fired, resolved = counts
    return con.execute(
        "insert into monitor_checks (model, tick, started_at, windows, judged, fired, resolved, "
        "proposal_id, actor) values (?, ?, ?, ?, ?, ?, ?, ?, ?) returning id",
        [model, tick, to_store(started_at), windows, judged, fired, resolved, proposal_id, actor],
    ).fetchall()[0][0]


# -- alerts ------------------------------------------------------------------------------------

_ALERT_COLUMNS = (
    "id, fingerprint, model, policy, subject, severity, status, message, value, threshold, "
    "window_key, evidence_json, opened_at, resolved_at, acknowledged_by, acknowledged_at, "
    "ack_comment"
)


def _alert(row: tuple) -> Alert:
    (id_, fp, model, policy, subject, severity, status, message, value, threshold, window,
     evidence, opened, resolved, ack_by, ack_at, ack_comment) = row  # fmt: skip
    return Alert(
        id_, fp, model, policy, subject, severity, AlertStatus(status), message, value,
        threshold, window, json.loads(evidence), as_utc(opened), as_utc(resolved),  # type: ignore[arg-type]
        ack_by, as_utc(ack_at), ack_comment,
    )  # fmt: skip


def insert_alert(
    con: duckdb.DuckDBPyConnection,
    fingerprint: str,
    fields: dict[str, Any],
    evidence: dict[str, Any],
    now: datetime,
) -> Alert:
    """Open a firing alert for ``fingerprint`` (model, policy, subject, severity, message,
    value, threshold, window_key in ``fields``)."""
    rows = con.execute(
        "insert into alerts (fingerprint, model, policy, subject, severity, status, message, "
        "value, threshold, window_key, evidence_json, opened_at) "
        "values (?, ?, ?, ?, ?, 'firing', ?, ?, ?, ?, ?, ?) returning id",
        [fingerprint, fields["model"], fields["policy"], fields["subject"], fields["severity"],
         fields["message"], fields["value"], fields["threshold"], fields["window_key"],
         _json(evidence), to_store(now)],
    ).fetchall()  # fmt: skip
    return get_alert(con, rows[0][0])


def open_alerts(con: duckdb.DuckDBPyConnection, model: str | None = None) -> list[Alert]:
    """Firing alerts (of one model), oldest first."""
    where, params = "status = 'firing'", []
    if model is not None:
        where += " and model = ?"
        params.append(model)
    rows = con.execute(
        f"select {_ALERT_COLUMNS} from alerts where {where} order by id", params
    ).fetchall()
    return [_alert(r) for r in rows]


def get_alert(con: duckdb.DuckDBPyConnection, alert_id: int) -> Alert:
    """One alert, or ``NotFoundError``."""
    rows = con.execute(f"select {_ALERT_COLUMNS} from alerts where id = ?", [alert_id]).fetchall()
    if not rows:
        raise NotFoundError(f"no alert {alert_id}", hint="see `workbench alerts list`")
    return _alert(rows[0])


def list_alerts(
    con: duckdb.DuckDBPyConnection,
    status: str | None = None,
    model: str | None = None,
    limit: int | None = None,
) -> list[Alert]:
    """Alerts, newest first."""
    clauses, params = [], []
    if status is not None:
        clauses.append("status = ?")
        params.append(status)
    if model is not None:
        clauses.append("model = ?")
        params.append(model)
    where = f"where {' and '.join(clauses)}" if clauses else ""
    tail = f" limit {int(limit)}" if limit else ""
    rows = con.execute(
        f"select {_ALERT_COLUMNS} from alerts {where} order by id desc{tail}", params
    ).fetchall()
    return [_alert(r) for r in rows]


def resolve_alert(con: duckdb.DuckDBPyConnection, alert_id: int, now: datetime) -> Alert:
    """firing -> resolved, or ``StaleTransition``."""
    rows = con.execute(
        "update alerts set status = 'resolved', resolved_at = ? "
        "where id = ? and status = 'firing' returning id",
        [to_store(now), alert_id],
    ).fetchall()
    if not rows:
        raise StaleTransition(f"alert {alert_id} is not firing")
    return get_alert(con, alert_id)


def acknowledge_alert(
    con: duckdb.DuckDBPyConnection, alert_id: int, actor: str, comment: str | None, now: datetime
) -> Alert:
    """Acknowledge a firing, unacknowledged alert, or ``StaleTransition``."""
    rows = con.execute(
        "update alerts set acknowledged_by = ?, acknowledged_at = ?, ack_comment = ? "
        "where id = ? and status = 'firing' and acknowledged_at is null returning id",
        [actor, to_store(now), comment, alert_id],
    ).fetchall()
    if not rows:
        alert = get_alert(con, alert_id)
        state = "acknowledged" if alert.acknowledged_at else str(alert.status)
        raise StaleTransition(f"alert {alert_id} is already {state}")
    return get_alert(con, alert_id)


def last_notified(con: duckdb.DuckDBPyConnection, fingerprint: str) -> datetime | None:
    """When a firing notification about any episode of ``fingerprint`` was last queued."""
    rows = con.execute(
        "select max(o.created_at) from outbox o join alerts a on a.id = o.alert_id "
        "where a.fingerprint = ? and o.kind = 'alert.firing'",
        [fingerprint],
    ).fetchall()
    return as_utc(rows[0][0]) if rows else None


def insert_event(
    con: duckdb.DuckDBPyConnection,
    alert_id: int,
    kind: str,
    actor: str,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> None:
    """Record one transition of an alert (fired, resolved, acknowledged, ...)."""
    con.execute(
        "insert into alert_events (alert_id, kind, actor, event_at, details_json) "
        "values (?, ?, ?, ?, ?)",
        [alert_id, kind, actor, to_store(now), _json(details or {})],
    )


def alert_events(con: duckdb.DuckDBPyConnection, alert_id: int) -> list[dict[str, Any]]:
    """An alert's transitions, oldest first."""
    rows = con.execute(
        "select kind, actor, event_at, details_json from alert_events where alert_id = ? "
        "order by id",
        [alert_id],
    ).fetchall()
    return [
        {"kind": k, "actor": a, "at": as_utc(t), "details": json.loads(d or "{}")}
        for k, a, t, d in rows
    ]


# -- silences ----------------------------------------------------------------------------------


def insert_silence(
    con: duckdb.DuckDBPyConnection,
    model: str,
    policy: str | None,
    subject: str | None,
    ends_at: datetime,
    comment: str | None,
    actor: str,
    now: datetime,
) -> Silence:
    """Record a silence; the new record."""
    rows = con.execute(
        "insert into alert_silences (model, policy, subject, ends_at, comment, created_by, "
        "created_at) values (?, ?, ?, ?, ?, ?, ?) returning id",
        [model, policy, subject, to_store(ends_at), comment, actor, to_store(now)],
    ).fetchall()
    return Silence(rows[0][0], model, policy, subject, ends_at, comment, actor, now)


def active_silences(con: duckdb.DuckDBPyConnection, now: datetime) -> list[Silence]:
    """Silences that have not ended at ``now``."""
    rows = con.execute(
        "select id, model, policy, subject, ends_at, comment, created_by, created_at "
        "from alert_silences where ends_at > ? order by id",
        [to_store(now)],
    ).fetchall()
    return [
        Silence(i, m, p, s, as_utc(e), c, b, as_utc(t))  # type: ignore[arg-type]
        for i, m, p, s, e, c, b, t in rows
    ]


# -- the outbox --------------------------------------------------------------------------------

_NOTE_COLUMNS = (
    "id, event_id, channel, alert_id, kind, payload_json, status, attempts, next_attempt_at, "
    "last_error, created_at, delivered_at"
)


def _notification(row: tuple) -> Notification:
    id_, event, channel, alert, kind, payload, status, attempts, next_at, error, at, done = row
    return Notification(
        id_, event, channel, alert, kind, json.loads(payload), NotificationStatus(status),
        attempts, as_utc(next_at), error, as_utc(at), as_utc(done),  # type: ignore[arg-type]
    )  # fmt: skip


def insert_notification(
    con: duckdb.DuckDBPyConnection,
    event_id: str,
    channel: str,
    alert_id: int | None,
    kind: str,
    payload: dict[str, Any],
    now: datetime,
) -> int:
    """Queue one message for one channel (in the caller's transaction); its id."""
    return con.execute(
        "insert into outbox (event_id, channel, alert_id, kind, payload_json, next_attempt_at, "
        "created_at) values (?, ?, ?, ?, ?, ?, ?) returning id",
        [event_id, channel, alert_id, kind, _json(payload), to_store(now), to_store(now)],
    ).fetchall()[0][0]


def due_notifications(con: duckdb.DuckDBPyConnection, now: datetime) -> list[Notification]:
    """Pending messages whose next attempt is due, oldest first."""
    rows = con.execute(
        f"select {_NOTE_COLUMNS} from outbox where status = 'pending' and next_attempt_at <= ? "
        "order by id",
        [to_store(now)],
    ).fetchall()
    return [_notification(r) for r in rows]


def claim_notification(
    con: duckdb.DuckDBPyConnection, note: Notification, lease_until: datetime
) -> bool:
    """Take a due message for one delivery attempt (another process that read the same row
    finds it taken): its next attempt moves to ``lease_until`` in a guarded update."""
    return bool(
        con.execute(
            "update outbox set next_attempt_at = ? where id = ? and status = 'pending' "
            "and next_attempt_at = ? returning id",
            [to_store(lease_until), note.id, to_store(note.next_attempt_at)],
        ).fetchall()
    )


def notifications(
    con: duckdb.DuckDBPyConnection, status: str | None = None, limit: int = 100
) -> list[Notification]:
    """Outbox rows, newest first."""
    where, params = ("where status = ?", [status]) if status else ("", [])
    rows = con.execute(
        f"select {_NOTE_COLUMNS} from outbox {where} order by id desc limit {int(limit)}", params
    ).fetchall()
    return [_notification(r) for r in rows]


def record_attempt(
    con: duckdb.DuckDBPyConnection,
    outbox_id: int,
    now: datetime,
    status_code: int | None,
    error: str | None,
    retry_after: float | None,
    duration_ms: float,
) -> None:
    """Record one delivery attempt."""
    con.execute(
        "insert into outbox_attempts (outbox_id, attempted_at, status_code, error, retry_after, "
        "duration_ms) values (?, ?, ?, ?, ?, ?)",
        [outbox_id, to_store(now), status_code, error, retry_after, duration_ms],
    )


def attempts(con: duckdb.DuckDBPyConnection, outbox_id: int) -> list[dict[str, Any]]:
    """The delivery attempts of one message, oldest first."""
    rows = con.execute(
        "select attempted_at, status_code, error, retry_after, duration_ms from outbox_attempts "
        "where outbox_id = ? order by id",
        [outbox_id],
    ).fetchall()
    return [
        {"at": as_utc(a), "status_code": s, "error": e, "retry_after": r, "duration_ms": d}
        for a, s, e, r, d in rows
    ]


def _guarded(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any], outbox_id: int) -> None:
    if not con.execute(sql + " and status = 'pending' returning id", params).fetchall():
        raise StaleTransition(f"notification {outbox_id} is no longer pending")


def deliver_notification(con: duckdb.DuckDBPyConnection, outbox_id: int, now: datetime) -> None:
    """pending -> delivered (one more attempt counted)."""
    _guarded(
        con,
        "update outbox set status = 'delivered', attempts = attempts + 1, delivered_at = ?, "
        "last_error = null where id = ?",
        [to_store(now), outbox_id],
        outbox_id,
    )


def retry_notification(
    con: duckdb.DuckDBPyConnection, outbox_id: int, next_at: datetime, error: str
) -> None:
    """Stay pending; try again at ``next_at`` (one more attempt counted)."""
    _guarded(
        con,
        "update outbox set attempts = attempts + 1, next_attempt_at = ?, last_error = ? "
        "where id = ?",
        [to_store(next_at), error, outbox_id],
        outbox_id,
    )


def kill_notification(con: duckdb.DuckDBPyConnection, outbox_id: int, error: str) -> None:
    """pending -> dead: attempts used up (one more attempt counted)."""
    _guarded(
        con,
        "update outbox set status = 'dead', attempts = attempts + 1, last_error = ? where id = ?",
        [error, outbox_id],
        outbox_id,
    )


# -- deployment settings -----------------------------------------------------------------------


def _setting(row: tuple) -> DeploymentSetting:
    id_, model, key, value, actor, reason, decision, at = row
    return DeploymentSetting(id_, model, key, json.loads(value), actor, reason, decision, at)


def insert_setting(
    con: duckdb.DuckDBPyConnection,
    model: str,
    key: str,
    value: Any,
    actor: str,
    reason: str | None,
    decision_id: int | None = None,
) -> DeploymentSetting:
    """Append a deployment setting (the newest row per model and key is in force)."""
    rows = con.execute(
        "insert into deployment_settings (model, key, value_json, actor, reason, decision_id, "
        "set_at) values (?, ?, ?, ?, ?, ?, ?) returning id, model, key, value_json, actor, "
        "reason, decision_id, set_at",
        [model, key, _json(value), actor, reason, decision_id, datetime.now()],
    ).fetchall()
    return _setting(rows[0])


def current_setting(
    con: duckdb.DuckDBPyConnection, model: str, key: str
) -> DeploymentSetting | None:
    """The setting in force, or None."""
    rows = con.execute(
        "select id, model, key, value_json, actor, reason, decision_id, set_at "
        "from deployment_settings where model = ? and key = ? order by id desc limit 1",
        [model, key],
    ).fetchall()
    return _setting(rows[0]) if rows else None


def setting_history(
    con: duckdb.DuckDBPyConnection, model: str, key: str | None = None
) -> list[DeploymentSetting]:
    """Every value a model's settings took, oldest first."""
    where, params = "model = ?", [model]
    if key is not None:
        where += " and key = ?"
        params.append(key)
    rows = con.execute(
        "select id, model, key, value_json, actor, reason, decision_id, set_at "
        f"from deployment_settings where {where} order by id",
        params,
    ).fetchall()
    return [_setting(r) for r in rows]
