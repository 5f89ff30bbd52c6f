"""Run records: ``RunRecord`` (a run as stored), ``RunInput`` (bulk inserts) and the curves
payload a finished run saves as an object."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from ..display import Schema, Tabular, esc, heading, html_table

if TYPE_CHECKING:
    from .training import TrainResult

__all__ = [
    "RunRecord",
    "RunInput",
    "STATUSES",
    "INTERRUPTED",
    "MIRROR_STATES",
    "curves_bytes",
    "parse_curves",
    "param_text",
]

STATUSES = ("running", "finished", "failed", "cancelled")
#: shown (never stored) for a running run whose process is gone
INTERRUPTED = "interrupted"
#: a finished run's MLflow mirror: to be logged, logged, or its last attempt failed
MIRROR_STATES = ("pending", "mirrored", "failed")


@dataclass
class RunRecord(Tabular):
    """One run as stored.

    ``to_polars()`` is one row with the columns ``Workspace.runs()`` has (a column per metric
    and parameter, ``tag.<name>`` per tag); in a notebook it shows its metrics and parameters.
    """

    _SCHEMA: ClassVar[Schema] = {
        "id": "Int64", "created_at": "Datetime", "status": "String", "snapshot": "String",
        "target": "String", "task": "String", "duration_s": "Float64",
        "best_iteration": "Int64", "note": "String",
    }  # fmt: skip
    _NOUN: ClassVar[str] = "runs"

    id: int
    created_at: datetime
    status: str
    snapshot_ref: str | None = None
    snapshot_hash: str | None = None
    target: str | None = None
    task: str | None = None
    reason: str | None = None
    note: str | None = None
    seed: int | None = None
    duration_s: float | None = None
    best_iteration: int | None = None
    model_hash: str | None = None
    curves_hash: str | None = None
    mlflow_run_id: str | None = None
    finished_at: datetime | None = None
    deleted: bool = False
    author: str | None = None
    #: the MLflow mirror: ``pending`` (being logged, or waiting for ``workbench mlflow sync``),
    #: ``mirrored`` (``mlflow_run_id`` is complete), ``failed`` (``mlflow_error`` says why);
    #: None when no mirror was asked for
    mlflow_state: str | None = None
    mlflow_error: str | None = None
    environment: dict[str, Any] = field(default_factory=dict)
    split: dict[str, Any] = field(default_factory=dict)
    spec: dict[str, Any] = field(default_factory=dict)
    model_meta: dict[str, Any] = field(default_factory=dict)
    effective_params: dict[str, Any] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        """How people name it: ``run 42``."""
        return f"run {self.id}"

    @property
    def mirror_pending(self) -> bool:
        """Whether the MLflow mirror is still to be completed (pending or failed)."""
        return self.mlflow_state in ("pending", "failed")

    @property
    def feature_notes(self) -> list[str]:
        """Columns trained on as computed features (dates) or left out, one line each."""
        from .features import feature_notes

        return feature_notes(self.model_meta)

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v:.4g}" for k, v in sorted(self.metrics.items())[:4])
        where = f" on {self.snapshot_ref}" if self.snapshot_ref else ""
        return f"<RunRecord {self.id} {self.status}{where}{' ' + shown if shown else ''}>"

    def _row(self) -> dict[str, Any]:
        from .params import parse_value

        return {
            "id": self.id, "created_at": self.created_at, "status": self.status,
            "snapshot": self.snapshot_ref, "target": self.target, "task": self.task,
            "duration_s": self.duration_s, "best_iteration": self.best_iteration,
            "note": self.note, **self.metrics,
            **{k: parse_value(v) for k, v in sorted(self.params.items())},
            **{f"tag.{k}": v for k, v in sorted(self.tags.items())},
        }  # fmt: skip

    def _repr_html_(self) -> str:
        took = f"{self.duration_s:.1f} s" if self.duration_s is not None else None
        head = heading(
            self.ref, self.status, f"on {self.snapshot_ref}" if self.snapshot_ref else None,
            f"target {self.target}" if self.target else None, self.task, took, self.note,
        )  # fmt: skip
        if self.reason:
            head += f"<p><i>{esc(self.reason)}</i></p>"
        metrics = html_table(["metric", "holdout"], sorted(self.metrics.items()))
        params = html_table(["parameter", "value"], sorted(self.params.items()))
        return (
            f"{head}<div style='display:flex;gap:2em;align-items:flex-start'>"
            f"<div>{metrics}</div><div>{params}</div></div>"
        )


@dataclass
class RunInput:
    """A finished run to insert in bulk (imports, benchmarks)."""

    params: dict[str, Any]
    metrics: dict[str, float]
    tags: dict[str, str] = field(default_factory=dict)
    snapshot_ref: str | None = None
    target: str | None = None
    task: str | None = None
    status: str = "finished"
    note: str | None = None
    seed: int | None = None
    duration_s: float | None = None
    created_at: datetime | None = None


def param_text(value: Any) -> str:
    """A parameter value as text (lists joined by commas, booleans as true/false)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(param_text(v) for v in value)
    return str(value)


def curves_bytes(result: TrainResult) -> bytes:
    """The per-iteration curves and importances of a result as one JSON object."""
    payload = {
        "curves": result.curves,
        "best_iteration": result.best_iteration,
        "importance": {
            "feature": result.importance.feature,
            "gain": result.importance.gain,
            "split": result.importance.split,
        },
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def parse_curves(data: bytes) -> dict[str, Any]:
    """Curves and importances as saved by ``curves_bytes``."""
    return json.loads(data)
