"""Proposals and decisions: promote a version to an alias, retrain, or roll back.

A proposal is filed ``pending`` with its evidence (gate results, champion and challenger
metrics side by side, the holdout they were scored on, a drift summary when available, and the
reason). A person with the approver role approves (the action is carried out in the same
transaction) or rejects it, with a comment. A proposal whose gates failed is approved only
with ``override`` and a comment; the override is recorded as its own audit entry.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .. import audit
from ..errors import InputError, NotFoundError
from .gates import GateResult, all_passed

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "Evidence",
    "Decision",
    "KINDS",
    "STATUSES",
    "file_proposal",
    "get_decision",
    "list_decisions",
    "close_decision",
]

KINDS = ("promote", "rollback", "retrain")
STATUSES = ("pending", "approved", "rejected")
_COLUMNS = (
    "id, kind, model_name, version, alias, status, reason, gates_passed, evidence_json, "
    "proposed_by, proposed_at, decided_by, decided_at, comment, override, result_json"
)


@dataclass
class Evidence:
    """What a person sees before deciding."""

    reason: str | None = None
    #: the labelled rows both models were scored on, in words
    holdout: str | None = None
    primary_metric: str | None = None
    challenger: str | None = None
    champion: str | None = None
    #: ``{"challenger": {...}, "champion": {...}}`` holdout metrics
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    gates: list[GateResult] = field(default_factory=list)
    #: drift summary of the holdout against the training data (None until drift is wired)
    drift: dict[str, Any] | None = None
    #: how the training data was built (retraining) or what to build it from (retrain proposal)
    training_data: dict[str, Any] | None = None

    @property
    def passed(self) -> bool:
        """Whether every gate passed (true when there are no gates)."""
        return all_passed(self.gates)

    def side_by_side(self) -> list[tuple[str, float | None, float | None]]:
        """(metric, champion, challenger) rows for every metric either side has."""
        champ = self.metrics.get("champion") or {}
        chall = self.metrics.get("challenger") or {}
        keys = list(dict.fromkeys([*chall, *champ]))
        return [(k, champ.get(k), chall.get(k)) for k in keys]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evidence:
        """Inverse of ``to_dict``."""
        gates = [GateResult.from_dict(g) for g in data.get("gates", [])]
        return cls(**{**data, "gates": gates})


@dataclass
class Decision:
    """A proposal and, once decided, who decided what and why."""

    id: int
    kind: str
    model_name: str
    version: int | None
    alias: str | None
    status: str
    reason: str | None
    gates_passed: bool
    evidence: Evidence
    proposed_by: str
    proposed_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    comment: str | None = None
    override: bool = False
    result: dict[str, Any] | None = None

    @property
    def title(self) -> str:
        """One line: what the proposal would do."""
        if self.kind == "retrain":
            return f"retrain {self.model_name} from {self.evidence.challenger or 'its champion'}"
        target = f"{self.model_name}@v{self.version}"
        if self.kind == "rollback":
            return f"roll back {self.alias} to {target}"
        return f"promote {target} to {self.alias}"

    def __repr__(self) -> str:
        gates = "gates passed" if self.gates_passed else "GATES FAILED"
        return f"Decision({self.id}: {self.title}, {self.status}, {gates})"


def _row(r: tuple) -> Decision:
    result = json.loads(r[15]) if r[15] else None
    evidence = Evidence.from_dict(json.loads(r[8]))
    return Decision(*r[:8], evidence, *r[9:15], result)


def file_proposal(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    name: str,
    version: int | None,
    alias: str | None,
    evidence: Evidence,
    actor: str,
) -> Decision:
    """Record a pending proposal and its audit entry (inside a write transaction)."""
    if kind not in KINDS:
        raise InputError(f"unknown proposal kind {kind!r}")
    rows = con.execute(
        "insert into decisions (kind, model_name, version, alias, status, reason, gates_passed, "
        "evidence_json, proposed_by, proposed_at) values (?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?) "
        "returning id",
        [kind, name, version, alias, evidence.reason, evidence.passed,
         json.dumps(evidence.to_dict(), default=str), actor, datetime.now()],
    ).fetchall()  # fmt: skip
    decision = get_decision(con, rows[0][0])
    details = {"kind": kind, "version": version, "alias": alias, "gates_passed": evidence.passed,
               "reason": evidence.reason}  # fmt: skip
    audit.append(con, actor, "proposal.filed", f"decision {decision.id}", details)
    return decision


def get_decision(con: duckdb.DuckDBPyConnection, decision_id: int) -> Decision:
    """One decision, or ``NotFoundError``."""
    rows = con.execute(
        f"select {_COLUMNS} from decisions where id = ?", [int(decision_id)]
    ).fetchall()
    if not rows:
        raise NotFoundError(f"no decision {decision_id}", hint="see `workbench decisions list`")
    return _row(rows[0])


def list_decisions(
    con: duckdb.DuckDBPyConnection, status: str | None = None, name: str | None = None
) -> list[Decision]:
    """Decisions, newest first, optionally of one status and one model."""
    if status is not None and status not in STATUSES:
        raise InputError(f"unknown status {status!r}", hint=f"one of {', '.join(STATUSES)}")
    sql = f"select {_COLUMNS} from decisions where true"
    params: list = []
    if status is not None:
        sql += " and status = ?"
        params.append(status)
    if name is not None:
        sql += " and model_name = ?"
        params.append(name)
    return [_row(r) for r in con.execute(sql + " order by id desc", params).fetchall()]


def close_decision(
    con: duckdb.DuckDBPyConnection,
    decision: Decision,
    status: str,
    actor: str,
    comment: str | None,
    override: bool = False,
    result: dict[str, Any] | None = None,
) -> Decision:
    """Mark a pending decision approved or rejected, with audit entries (in a transaction)."""
    current = get_decision(con, decision.id)
    if current.status != "pending":
        raise InputError(f"decision {decision.id} is already {current.status}")
    con.execute(
        "update decisions set status = ?, decided_by = ?, decided_at = ?, comment = ?, "
        "override = ?, result_json = ? where id = ?",
        [status, actor, datetime.now(), comment, override,
         json.dumps(result, default=str) if result else None, decision.id],
    )  # fmt: skip
    subject = f"decision {decision.id}"
    if override:
        failed = [g.name for g in decision.evidence.gates if not g.passed]
        audit.append(con, actor, "decision.override", subject, {"failed_gates": failed,
                     "comment": comment})  # fmt: skip
    details = {"kind": decision.kind, "comment": comment, **(result or {})}
    audit.append(con, actor, f"decision.{status}", subject, details)
    return get_decision(con, decision.id)
