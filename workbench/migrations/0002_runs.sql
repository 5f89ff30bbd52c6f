-- Experiments: training runs.
-- Metrics, params and tags live on the runs row itself, one typed column per key, so filtering
-- and sorting 100k runs is a plain columnar scan. Column names are numbered slots (m0, m1...
-- for metrics; p0 text and n0 double for params; t0 for tags) that run_keys maps to the user's
-- key names; the code adds a slot's columns with ALTER TABLE when a key first appears. No user
-- text ever becomes an identifier.
-- Per-iteration curves and importances are one JSON object each (runs.curves_hash).
create sequence if not exists runs_id_seq start 1;

create table runs (
    id               integer primary key default nextval('runs_id_seq'),
    created_at       timestamp not null,
    finished_at      timestamp,
    author           text,
    snapshot_ref     text,
    snapshot_hash    text,
    target           text,
    task             text,
    status           text not null default 'running'
                     check (status in ('running', 'finished', 'failed', 'cancelled')),
    reason           text,
    note             text,
    seed             bigint,
    duration_s       double,
    best_iteration   integer,
    model_hash       text,
    curves_hash      text,
    mlflow_run_id    text,
    environment      json,
    split            json,
    spec             json,
    model_meta       json,
    effective_params json,
    deleted          boolean not null default false
);

-- Every metric, param and tag name in use and its slot. For params, whether every value so
-- far was a number (then filters compare numbers and listings show a numeric column) and an
-- integer.
create table run_keys (
    kind      text not null check (kind in ('metric', 'param', 'tag')),
    key       text not null,
    slot      integer not null,
    is_number boolean not null default true,
    is_integer boolean not null default true,
    primary key (kind, key),
    unique (kind, slot)
);
