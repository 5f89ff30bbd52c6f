-- Experiments: training runs, their parameters, metrics and tags.
-- run_params, run_metrics and run_tags are the record. The runs row also carries the same
-- values as maps (metrics, params, params_num, tags), written in the same transaction, so
-- filtering and sorting 100k runs reads one table instead of pivoting millions of rows.
-- Per-iteration curves and importances are one JSON object each (runs.curves_hash).
create sequence if not exists runs_id_seq start 1;

create table runs (
    id               integer primary key default nextval('runs_id_seq'),
    created_at       timestamp not null,
    finished_at      timestamp,
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
    metrics          map(text, double),
    params           map(text, text),
    params_num       map(text, double),
    tags             map(text, text),
    deleted          boolean not null default false
);

create table run_params (
    run_id     integer not null,
    key        text not null,
    value      text,
    value_num  double,
    primary key (run_id, key)
);

create table run_metrics (
    run_id  integer not null,
    key     text not null,
    value   double,
    primary key (run_id, key)
);

create table run_tags (
    run_id  integer not null,
    key     text not null,
    value   text,
    primary key (run_id, key)
);

-- Every metric, param and tag name in use, so the filter language resolves names fast.
create table run_keys (
    kind  text not null check (kind in ('metric', 'param', 'tag')),
    key   text not null,
    primary key (kind, key)
);
