-- Monitoring: late labels, references fitted per model version, judged windows, alerts with
-- their events and silences, the notification outbox and its attempts, and deployment
-- settings the scoring server reads (the canary share). See workbench/monitoring/service.py.
create sequence if not exists label_import_id_seq start 1;
create sequence if not exists monitor_check_id_seq start 1;
create sequence if not exists alert_id_seq start 1;
create sequence if not exists alert_event_id_seq start 1;
create sequence if not exists alert_silence_id_seq start 1;
create sequence if not exists outbox_id_seq start 1;
create sequence if not exists outbox_attempt_id_seq start 1;
create sequence if not exists deployment_setting_id_seq start 1;

-- One row per `monitor labels` run that changed something (governed: the file's hash and
-- what it changed).
create table label_imports (
    id            integer primary key default nextval('label_import_id_seq'),
    model         text not null,
    source_path   text,
    source_hash   text not null,
    key_column    text not null,
    label_column  text not null,
    time_column   text,
    rows          integer not null,
    added         integer not null,
    corrected     integer not null,
    unchanged     integer not null,
    actor         text not null,
    created_at    timestamp not null
);

-- Ground truth per entity; a correction is a new version, the newest version counts and is
-- the one marked current (reading millions of labels must not rank versions each time).
create table labels (
    model         text not null,
    entity_key    text not null,
    version       integer not null,
    label         text,
    label_time    timestamptz,
    import_id     integer not null,
    current       boolean not null default true
);

-- What monitoring fitted once per model version (CBPE/DLE, prediction statistics): a cache,
-- rebuilt from the version's run when missing.
create table monitor_references (
    model         text not null,
    version       integer not null,
    kind          text not null,
    object_hash   text not null,
    created_at    timestamp not null,
    primary key (model, version, kind)
);

-- One row per `monitor check` tick; `tick` makes a repeated scheduled tick harmless.
create table monitor_checks (
    id            integer primary key default nextval('monitor_check_id_seq'),
    model         text not null,
    tick          text,
    started_at    timestamp not null,
    windows       integer not null,
    judged        integer not null,
    fired         integer not null,
    resolved      integer not null,
    proposal_id   integer,
    actor         text not null,
    unique (model, tick)
);

-- The newest judgement of each window: its figures, breaches and a digest of its inputs
-- (rows, labelled rows, newest time) so an unchanged window is not judged again.
create table monitor_windows (
    model         text not null,
    window_size   text not null,
    window_key    text not null,
    window_start  timestamptz,
    window_end    timestamptz,
    inputs_digest text not null,
    report_json   text not null,
    breaches_json text not null,
    check_id      integer,
    judged_at     timestamp not null,
    primary key (model, window_size, window_key)
);

-- Alerts: one row per episode of a fingerprint (model, policy, subject), firing until
-- resolved. Transitions are guarded updates; each is an alert_events row and an audit entry.
create table alerts (
    id              integer primary key default nextval('alert_id_seq'),
    fingerprint     text not null,
    model           text not null,
    policy          text not null,
    subject         text not null,
    severity        text not null check (severity in ('info', 'warning', 'critical')),
    status          text not null check (status in ('firing', 'resolved')),
    message         text not null,
    value           double,
    threshold       double,
    window_key      text,
    evidence_json   text not null,
    opened_at       timestamp not null,
    resolved_at     timestamp,
    acknowledged_by text,
    acknowledged_at timestamp,
    ack_comment     text
);

create table alert_events (
    id          integer primary key default nextval('alert_event_id_seq'),
    alert_id    integer not null,
    kind        text not null,
    actor       text not null,
    event_at    timestamp not null,
    details_json text
);

-- Silences match alerts by model and (optionally) policy and subject until `ends_at`.
create table alert_silences (
    id          integer primary key default nextval('alert_silence_id_seq'),
    model       text not null,
    policy      text,
    subject     text,
    ends_at     timestamp not null,
    comment     text,
    created_by  text not null,
    created_at  timestamp not null
);

-- The transactional outbox: written in the transaction of the transition it announces.
-- `event_id` is the webhook-id, fixed across retries (the receiver's idempotency key).
create table outbox (
    id              integer primary key default nextval('outbox_id_seq'),
    event_id        text not null unique,
    channel         text not null,
    alert_id        integer,
    kind            text not null,
    payload_json    text not null,
    status          text not null default 'pending'
                    check (status in ('pending', 'delivered', 'dead')),
    attempts        integer not null default 0,
    next_attempt_at timestamp not null,
    last_error      text,
    created_at      timestamp not null,
    delivered_at    timestamp
);

create table outbox_attempts (
    id          integer primary key default nextval('outbox_attempt_id_seq'),
    outbox_id   integer not null,
    attempted_at timestamp not null,
    status_code integer,
    error       text,
    retry_after double,
    duration_ms double
);

-- Deployment settings the scoring server reads (newest row per model and key wins): the
-- canary's share of traffic and its ramp step. Append-only, so history is kept.
create table deployment_settings (
    id          integer primary key default nextval('deployment_setting_id_seq'),
    model       text not null,
    key         text not null,
    value_json  text not null,
    actor       text not null,
    reason      text,
    decision_id integer,
    set_at      timestamp not null
);
