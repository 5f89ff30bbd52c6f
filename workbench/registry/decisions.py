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
from typing import TYPE_CHECKING, Any, ClassVar

from ..display import Schema, Tabular, esc, frame, heading, html_table
from .gates import GateResult, all_passed

if TYPE_CHECKING:
    import polars as pl

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

    def metrics_frame(self) -> pl.DataFrame:
        """Champion and challenger holdout metrics side by side, with the change."""
        rows = [
            {"metric": m, "champion": a, "challenger": b,
             "change": None if a is None or b is None else b - a}
            for m, a, b in self.side_by_side()
        ]  # fmt: skip
        return frame(rows, _METRICS_SCHEMA)

    def gates_frame(self) -> pl.DataFrame:
        """One row per gate: passed, name, summary, and its plain numbers."""
        return frame([_gate_row(g) for g in self.gates], _GATES_SCHEMA)

    def to_polars(self) -> pl.DataFrame:
        """The gates (``gates_frame``); ``metrics_frame`` holds the metrics side by side."""
        return self.gates_frame()

    def _repr_html_(self) -> str:
        out = ""
        if self.reason:
            out += f"<p>reason: {esc(self.reason)}</p>"
        if self.holdout:
            out += f"<p>holdout: {esc(self.holdout)}</p>"
        if self.metrics:
            champion = f"champion {self.champion or '(none)'}"
            out += html_table(
                ["metric", champion, f"challenger {self.challenger or '–'}", "change"],
                ([m, a, b, None if a is None or b is None else b - a]
                 for m, a, b in self.side_by_side()),
            )  # fmt: skip
        if self.gates:
            verdict = (
                "all gates passed" if self.passed else "<b style='color:#b91c1c'>gates failed</b>"
            )
            out += (
                html_table(
                    ["", "gate", "result", "numbers"],
                    ([g.mark, g.name, g.summary, _gate_row(g)["numbers"]] for g in self.gates),
                )
                + f"<p>{verdict}</p>"
            )
        return out


_METRICS_SCHEMA: Schema = {
    "metric": "String",
    "champion": "Float64",
    "challenger": "Float64",
    "change": "Float64",
}
_GATES_SCHEMA: Schema = {
    "passed": "Boolean",
    "gate": "String",
    "summary": "String",
    "numbers": "String",
}


def _gate_row(g: GateResult) -> dict[str, Any]:
    """A gate as a row; its numbers as ``key=value`` text (per-segment tables left out: they
    are in ``numbers`` and on the model card)."""
    shown = ", ".join(
        f"{k}={round(v, 4) if isinstance(v, float) else v}"
        for k, v in g.numbers.items()
        if not isinstance(v, dict | list)
    )
    return {"passed": g.passed, "gate": g.name, "summary": g.summary, "numbers": shown}


@dataclass
class Decision(Tabular):
    """A proposal and, once decided, who decided what and why.

    One row of ``to_polars()``; in a notebook it shows its evidence (metrics side by side,
    every gate), as the TUI's Decisions screen does.
    """

    _SCHEMA: ClassVar[Schema] = {
        "id": "Int64", "kind": "String", "title": "String", "model": "String",
        "version": "Int64", "alias": "String", "status": "String", "gates_passed": "Boolean",
        "proposed_by": "String", "proposed_at": "Datetime", "decided_by": "String",
        "decided_at": "Datetime", "comment": "String", "override": "Boolean",
        "reason": "String",
    }  # fmt: skip
    _NOUN: ClassVar[str] = "decisions"

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

    def _row(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "title": self.title, "model": self.model_name,
            "version": self.version, "alias": self.alias, "status": self.status,
            "gates_passed": self.gates_passed, "proposed_by": self.proposed_by,
            "proposed_at": self.proposed_at, "decided_by": self.decided_by,
            "decided_at": self.decided_at, "comment": self.comment, "override": self.override,
            "reason": self.reason,
        }  # fmt: skip

    def _repr_html_(self) -> str:
        gates = "gates passed" if self.gates_passed else "GATES FAILED"
        out = heading(f"#{self.id} {self.title}", self.status, gates,
                      f"proposed by {self.proposed_by} at {self.proposed_at:%Y-%m-%d %H:%M}")  # fmt: skip
        if self.decided_by:
            when = f" at {self.decided_at:%Y-%m-%d %H:%M}" if self.decided_at else ""
            override = " (override of failed gates)" if self.override else ""
            out += (f"<p>{esc(self.status)} by {esc(self.decided_by)}{esc(when)}{override}: "
                    f"{esc(self.comment or '–')}</p>")  # fmt: skip
        return out + self.evidence._repr_html_()
