-- Registry: model versions, alias history, decisions (proposals with evidence).
-- An alias's current holder is its newest alias_moves row, so history is never lost.
create sequence if not exists model_version_id_seq start 1;
create sequence if not exists alias_move_id_seq start 1;
create sequence if not exists decision_id_seq start 1;

create table model_versions (
    id             integer primary key default nextval('model_version_id_seq'),
    name           text not null,
    version        integer not null,
    run_id         integer not null,
    snapshot_ref   text,
    snapshot_hash  text,
    model_hash     text,
    task           text,
    target         text,
    mlflow_version text,
    intended_use   text,
    author         text not null,
    created_at     timestamp not null,
    unique (name, version)
);

-- to_version null: the alias was removed. kind 'rollback': moved back by a rollback.
create table alias_moves (
    id            integer primary key default nextval('alias_move_id_seq'),
    name          text not null,
    alias         text not null,
    from_version  integer,
    to_version    integer,
    kind          text not null default 'move' check (kind in ('move', 'rollback')),
    actor         text not null,
    reason        text,
    decision_id   integer,
    moved_at      timestamp not null
);

create table decisions (
    id             integer primary key default nextval('decision_id_seq'),
    kind           text not null check (kind in ('promote', 'rollback', 'retrain')),
    model_name     text not null,
    version        integer,
    alias          text,
    status         text not null default 'pending'
                   check (status in ('pending', 'approved', 'rejected')),
    reason         text,
    gates_passed   boolean,
    evidence_json  text not null,
    proposed_by    text not null,
    proposed_at    timestamp not null,
    decided_by     text,
    decided_at     timestamp,
    comment        text,
    override       boolean not null default false,
    result_json    text
);
