"""Proposals and decisions: promote a version to an alias, retrain, or roll back.

A proposal is filed ``pending`` with its evidence (gate results, champion and challenger
metrics side by side, the holdout they were scored on, a drift summary when available, and the
reason). A person with the approver role approves (the action is carried out in the same
transaction) or rejects it, with a comment. A proposal whose gates failed is approved only
with ``override`` and a comment; the override is recorded as its own audit entry.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from .gates import GateResult, all_passed

__all__ = [
    "Evidence",
    "Decision",
    "KINDS",
    "STATUSES",
]

KINDS = ("promote", "rollback", "retrain")
STATUSES = ("pending", "approved", "rejected")


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
    #: what monitoring saw (windows, policies, scores, the command that reproduces them) when
    #: it filed a retraining or rollback proposal
    monitoring: dict[str, Any] | None = None

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
        if self.kind == "rollback" and self.version is None:
            return f"roll back {self.alias}: remove it from {self.model_name}"
        if self.kind == "rollback":
            return f"roll back {self.alias} to {target}"
        return f"promote {target} to {self.alias}"

    def __repr__(self) -> str:
        gates = "gates passed" if self.gates_passed else "GATES FAILED"
        return f"Decision({self.id}: {self.title}, {self.status}, {gates})"
