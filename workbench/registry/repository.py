"""Registry SQL: model versions, alias moves and decisions, each function taking a connection.

The service owns the transaction and the audit entries. Schema:
``workbench/migrations/0005_registry.sql``. An alias's current holder is its newest
``alias_moves`` row, so history is never lost.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import InputError, NotFoundError
from .aliases import AliasMove
from .decisions import KINDS, STATUSES, Decision, Evidence
from .models import ModelRef, ModelVersion, parse_model_ref

if TYPE_CHECKING:
    import duckdb

    from ..experiments.records import RunRecord

__all__ = [
    "insert_version",
    "get_version",
    "list_versions",
    "resolve",
    "registered_as",
    "versions_of_run",
    "set_intended_use",
    "holder",
    "current_aliases",
    "insert_move",
    "alias_history",
    "holder_at",
    "insert_decision",
    "get_decision",
    "list_decisions",
    "close_decision",
]

_VERSION_COLUMNS = (
    "id, name, version, run_id, snapshot_ref, snapshot_hash, model_hash, task, target, "
    "mlflow_version, intended_use, author, created_at"
)
_MOVE_COLUMNS = (
    "id, name, alias, from_version, to_version, kind, actor, reason, decision_id, moved_at"
)
_DECISION_COLUMNS = (
    "id, kind, model_name, version, alias, status, reason, gates_passed, evidence_json, "
    "proposed_by, proposed_at, decided_by, decided_at, comment, override, result_json"
)

# -- model versions ----------------------------------------------------------------------------


def insert_version(
    con: duckdb.DuckDBPyConnection,
    name: str,
    run: RunRecord,
    mlflow_version: str | None,
    actor: str,
) -> ModelVersion:
    """Record the next version of ``name`` for a finished run."""
    version = con.execute(
        "select coalesce(max(version), 0) + 1 from model_versions where name = ?", [name]
    ).fetchall()[0][0]
    values = [
        name, version, run.id, run.snapshot_ref, run.snapshot_hash, run.model_hash, run.task,
        run.target, mlflow_version, None, actor, datetime.now(),
    ]  # fmt: skip
    con.execute(
        "insert into model_versions (name, version, run_id, snapshot_ref, snapshot_hash, "
        "model_hash, task, target, mlflow_version, intended_use, author, created_at) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        values,
    )
    return get_version(con, name, version)


def get_version(con: duckdb.DuckDBPyConnection, name: str, version: int) -> ModelVersion:
    """One version, or ``NotFoundError``."""
    rows = con.execute(
        f"select {_VERSION_COLUMNS} from model_versions where name = ? and version = ?",
        [name, version],
    ).fetchall()
    if not rows:
        raise NotFoundError(f"no model version {name}@v{version}")
    return ModelVersion(*rows[0])


def list_versions(con: duckdb.DuckDBPyConnection, name: str | None = None) -> list[ModelVersion]:
    """Every version (of one model), by name then newest first."""
    sql = f"select {_VERSION_COLUMNS} from model_versions"
    params: list[Any] = []
    if name is not None:
        sql += " where name = ?"
        params.append(name)
    rows = con.execute(sql + " order by name, version desc", params).fetchall()
    return [ModelVersion(*r) for r in rows]


def resolve(con: duckdb.DuckDBPyConnection, ref: str | ModelRef) -> ModelVersion:
    """The version a reference names now."""
    parsed = ref if isinstance(ref, ModelRef) else parse_model_ref(ref)
    if parsed.version is not None:
        return get_version(con, parsed.name, parsed.version)
    if parsed.alias is not None:
        version = holder(con, parsed.name, parsed.alias)
        if version is None:
            raise NotFoundError(f"no version of {parsed.name} holds alias {parsed.alias!r}")
        return get_version(con, parsed.name, version)
    latest = con.execute(
        "select max(version) from model_versions where name = ?", [parsed.name]
    ).fetchall()[0][0]
    if latest is None:
        raise NotFoundError(f"no model named {parsed.name!r}", hint="see `workbench models list`")
    return get_version(con, parsed.name, latest)


def registered_as(con: duckdb.DuckDBPyConnection, name: str, run_id: int) -> int | None:
    """The version of ``name`` that a run is already registered as, if any."""
    rows = con.execute(
        "select version from model_versions where name = ? and run_id = ?", [name, run_id]
    ).fetchall()
    return rows[0][0] if rows else None


def versions_of_run(con: duckdb.DuckDBPyConnection, run_id: int) -> list[ModelVersion]:
    """Every registered version whose model comes from ``run_id``."""
    rows = con.execute(
        f"select {_VERSION_COLUMNS} from model_versions where run_id = ? order by name, version",
        [run_id],
    ).fetchall()
    return [ModelVersion(*r) for r in rows]


def set_intended_use(con: duckdb.DuckDBPyConnection, mv: ModelVersion, text: str) -> None:
    """Replace a version's intended-use text."""
    con.execute("update model_versions set intended_use = ? where id = ?", [text, mv.id])


# -- aliases -----------------------------------------------------------------------------------


def holder(con: duckdb.DuckDBPyConnection, name: str, alias: str) -> int | None:
    """The version holding ``alias`` now (None if unset)."""
    rows = con.execute(
        "select to_version from alias_moves where name = ? and alias = ? order by id desc limit 1",
        [name, alias],
    ).fetchall()
    return rows[0][0] if rows else None


def current_aliases(con: duckdb.DuckDBPyConnection, name: str | None = None) -> dict:
    """``{(name, alias): version}`` for every alias that is set now."""
    # the newest move per alias decides, including a removal (to_version null)
    sql = (
        "select name, alias, to_version from (select name, alias, to_version, row_number() "
        "over (partition by name, alias order by id desc) as newest from alias_moves"
        + (" where name = ?" if name is not None else "")
        + ") where newest = 1"
    )
    rows = con.execute(sql, [name] if name is not None else []).fetchall()
    return {(n, a): v for n, a, v in rows if v is not None}


def insert_move(
    con: duckdb.DuckDBPyConnection,
    name: str,
    alias: str,
    to_version: int | None,
    actor: str,
    reason: str | None,
    decision_id: int | None = None,
    rollback: bool = False,
) -> AliasMove:
    """Point ``alias`` at ``to_version`` (None removes it); returns the recorded move."""
    from_version = holder(con, name, alias)
    kind = "rollback" if rollback else "move"
    con.execute(
        "insert into alias_moves (name, alias, from_version, to_version, kind, actor, reason, "
        "decision_id, moved_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [name, alias, from_version, to_version, kind, actor, reason, decision_id, datetime.now()],
    )
    return alias_history(con, name, alias)[-1]


def alias_history(
    con: duckdb.DuckDBPyConnection, name: str, alias: str | None = None
) -> list[AliasMove]:
    """Every move of a model's aliases (or one alias), oldest first."""
    sql = f"select {_MOVE_COLUMNS} from alias_moves where name = ?"
    params: list[Any] = [name]
    if alias is not None:
        sql += " and alias = ?"
        params.append(alias)
    return [AliasMove(*r) for r in con.execute(sql + " order by id", params).fetchall()]


def holder_at(con: duckdb.DuckDBPyConnection, name: str, alias: str, when: datetime) -> int | None:
    """The version that held ``alias`` at ``when`` (None if it was unset)."""
    rows = con.execute(
        "select to_version from alias_moves where name = ? and alias = ? and moved_at <= ? "
        "order by id desc limit 1",
        [name, alias, when],
    ).fetchall()
    return rows[0][0] if rows else None


# -- decisions ---------------------------------------------------------------------------------


def _decision(r: tuple) -> Decision:
    (id_, kind, name, version, alias, status, reason, gates_passed, evidence_json, proposed_by,
     proposed_at, decided_by, decided_at, comment, override, result_json) = r  # fmt: skip
    return Decision(
        id=id_, kind=kind, model_name=name, version=version, alias=alias, status=status,
        reason=reason, gates_passed=gates_passed,
        evidence=Evidence.from_dict(json.loads(evidence_json)), proposed_by=proposed_by,
        proposed_at=proposed_at, decided_by=decided_by, decided_at=decided_at, comment=comment,
        override=override, result=json.loads(result_json) if result_json else None,
    )  # fmt: skip


def insert_decision(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    name: str,
    version: int | None,
    alias: str | None,
    evidence: Evidence,
    actor: str,
) -> Decision:
    """Record a pending proposal."""
    if kind not in KINDS:
        raise InputError(f"unknown proposal kind {kind!r}")
    rows = con.execute(
        "insert into decisions (kind, model_name, version, alias, status, reason, gates_passed, "
        "evidence_json, proposed_by, proposed_at) values (?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?) "
        "returning id",
        [kind, name, version, alias, evidence.reason, evidence.passed,
         json.dumps(evidence.to_dict(), default=str), actor, datetime.now()],
    ).fetchall()  # fmt: skip
    return get_decision(con, rows[0][0])


def get_decision(con: duckdb.DuckDBPyConnection, decision_id: int) -> Decision:
    """One decision, or ``NotFoundError``."""
    rows = con.execute(
        f"select {_DECISION_COLUMNS} from decisions where id = ?", [int(decision_id)]
    ).fetchall()
    if not rows:
        raise NotFoundError(f"no decision {decision_id}", hint="see `workbench decisions list`")
    return _decision(rows[0])


def list_decisions(
    con: duckdb.DuckDBPyConnection, status: str | None = None, name: str | None = None
) -> list[Decision]:
    """Decisions, newest first, optionally of one status and one model."""
    if status is not None and status not in STATUSES:
        raise InputError(f"unknown status {status!r}", hint=f"one of {', '.join(STATUSES)}")
    sql = f"select {_DECISION_COLUMNS} from decisions where true"
    params: list[Any] = []
    if status is not None:
        sql += " and status = ?"
        params.append(status)
    if name is not None:
        sql += " and model_name = ?"
        params.append(name)
    return [_decision(r) for r in con.execute(sql + " order by id desc", params).fetchall()]


def close_decision(
    con: duckdb.DuckDBPyConnection,
    decision: Decision,
    status: str,
    actor: str,
    comment: str | None,
    override: bool = False,
    result: dict[str, Any] | None = None,
) -> Decision:
    """Mark a pending decision approved or rejected (refused when it is no longer pending)."""
    current = get_decision(con, decision.id)
    if current.status != "pending":
        raise InputError(f"decision {decision.id} is already {current.status}")
    con.execute(
        "update decisions set status = ?, decided_by = ?, decided_at = ?, comment = ?, "
        "override = ?, result_json = ? where id = ?",
        [status, actor, datetime.now(), comment, override,
         json.dumps(result, default=str) if result else None, decision.id],
    )  # fmt: skip
    return get_decision(con, decision.id)
