-- Foundation: data snapshots and the source-file cache.
create sequence if not exists snapshot_id_seq start 1;

create table snapshots (
    id            integer primary key default nextval('snapshot_id_seq'),
    name          text not null,
    version       integer not null,
    parent_id     integer,
    object_hash   text not null,
    object_size   bigint not null,
    n_rows        bigint not null,
    n_columns     integer not null,
    schema_json   text not null,
    profile_json  text not null,
    target        text,
    time_column   text,
    key_column    text,
    source_path   text,
    source_hash   text,
    message       text,
    author        text not null,
    created_at    timestamp not null,
    unique (name, version)
);

-- (path, size, mtime) -> hashes, so an unchanged source file is recognised without reading it.
create table source_cache (
    path          text primary key,
    size          bigint not null,
    mtime_ns      bigint not null,
    source_hash   text not null,
    object_hash   text not null
);

-- Append-only, hash-chained log of every state change.
create table audit_log (
    seq           bigint primary key,
    created_at    timestamp not null,
    actor         text not null,
    action        text not null,
    subject       text,
    details_json  text not null,
    prev_hash     text not null,
    hash          text not null
);
