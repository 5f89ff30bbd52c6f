-- Drift: stored reports (one row per comparison, one row per column) and reference statistics.
-- Statements use "if not exists": workspaces created while 0005 already existed skipped
-- version 4, and the store applies every missing migration (gaps included) when it opens them.
create sequence if not exists drift_report_id_seq start 1;

create table if not exists drift_reports (
    id               integer primary key default nextval('drift_report_id_seq'),
    created_at       timestamp not null,
    author           text not null,
    reference_ref    text not null,
    reference_hash   text not null,
    current_ref      text not null,
    current_hash     text not null,
    options_json     text not null,
    n_tested         integer not null,
    n_drifted        integer not null,
    share            double not null,
    dataset_drifted  boolean not null,
    rows_ref         bigint not null,
    rows_cur         bigint not null,
    target_column    text,
    target_drifted   boolean
);

-- position keeps the report's order: features first, then target, then prediction.
create table if not exists drift_columns (
    report_id            integer not null,
    position             integer not null,
    column_name          text not null,
    role                 text not null,
    column_type          text not null,
    method               text,
    stattest_name        text,
    score                double,
    threshold            double,
    drifted              boolean not null,
    n_ref                bigint not null,
    n_cur                bigint not null,
    null_share_ref       double not null,
    null_share_cur       double not null,
    new_categories_json  text not null,
    status               text not null,
    message              text not null,
    dtype_ref            text,
    dtype_cur            text,
    primary key (report_id, position)
);

-- Statistics of a reference snapshot's columns (an object), computed once and reused by every
-- comparison against that snapshot. columns_signature hashes the sorted column list.
create table if not exists drift_reference_stats (
    object_hash        text not null,
    snapshot_id        integer not null,
    columns_signature  text not null,
    columns_json       text not null,
    stats_hash         text not null,
    rows               bigint not null,
    created_at         timestamp not null,
    primary key (object_hash, columns_signature)
);
