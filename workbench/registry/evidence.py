"""Gathering a promotion's evidence: the holdout, both models' metrics, and every gate.

``ws`` is the ``Workspace`` facade; only its public methods are used.

Contract gate: the training snapshot is checked against the contract inferred from the snapshot
retraining started from (the champion's data), or from its parent version for other promotions,
or against ``[gates] contract_file``.

Holdout rule (the same rows for champion and challenger): the ``[gates] holdout`` snapshot
when set; else the newest labelled snapshot that neither model trained on (a snapshot of
another name with the target column whose rows - by key column, else whole rows - do not occur
in either training snapshot); else the challenger run's own holdout rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import WorkbenchError
from ..progress import NULL_PROGRESS, Progress
from .aliases import CHAMPION
from .decisions import Evidence
from .evaluation import PRIMARY_METRIC, SEGMENT_METRIC, latency_ms_per_10k, score, segment_table
from .gates import GateResult, contract_gate, performance_gate, sanity_gate, segment_gate

if TYPE_CHECKING:
    import polars as pl

    from ..snapshots.catalog import Snapshot
    from .models import ModelVersion

__all__ = ["promotion_evidence", "choose_holdout", "unseen_labelled", "overlaps", "MAX_CANDIDATES"]

#: how many recent labelled snapshots are checked for overlap with the training data
MAX_CANDIDATES = 12


def overlaps(candidate: pl.DataFrame, training: pl.DataFrame, key: str | None) -> bool:
    """Whether any row of ``candidate`` occurs in ``training`` (by ``key``, else whole rows)."""
    if key and key in candidate.columns and key in training.columns:
        return candidate.get_column(key).is_in(training.get_column(key).implode()).any()
    common = [c for c in training.columns if c in candidate.columns]
    if not common:
        return False
    seen = set(training.select(common).hash_rows(seed=0).to_list())
    return any(h in seen for h in candidate.select(common).hash_rows(seed=0).to_list())


def unseen_labelled(ws: Any, target: str, trained_on: list[Snapshot]) -> list[Snapshot]:
    """Labelled snapshots none of ``trained_on`` contains, oldest first (latest version per name)."""
    names = {s.name for s in trained_on}
    latest: dict[str, Snapshot] = {}
    for snap in ws.snapshots():  # newest first
        if snap.name not in names and target in snap.schema and _same_types(snap, trained_on):
            latest.setdefault(snap.name, snap)
    recent = sorted(latest.values(), key=lambda s: (s.created_at, s.id), reverse=True)
    frames = [ws.load(s) for s in trained_on]
    unseen = [
        s
        for s in recent[:MAX_CANDIDATES]
        if not any(overlaps(ws.load(s), f, s.key_column) for f in frames)
    ]
    return list(reversed(unseen))


def _same_types(snap: Snapshot, trained_on: list[Snapshot]) -> bool:
    """``snap`` has every column of the training data, with the same types (a holdout both
    models can score: raw data whose blanks made a number column text is not one)."""
    return all(
        snap.schema.get(column) == dtype for t in trained_on for column, dtype in t.schema.items()
    )


def choose_holdout(
    ws: Any, challenger_run: Any, champion_run: Any | None
) -> tuple[str, pl.DataFrame]:
    """(description, rows) of the labelled holdout both models are scored on."""
    configured = ws.settings.gates.holdout
    if configured:
        snap = ws.snapshot(configured)
        return f"{snap.ref} (configured holdout)", ws.load(snap)
    runs = [r for r in (challenger_run, champion_run) if r is not None and r.snapshot_ref]
    trained_on = [ws.snapshot(r.snapshot_ref) for r in runs]
    unseen = unseen_labelled(ws, challenger_run.target, trained_on)
    if unseen:
        return f"{unseen[-1].ref} (newest labelled data neither model trained on)", ws.load(
            unseen[-1]
        )
    rows = ws.run_holdout(challenger_run.id)
    return f"run {challenger_run.id}'s own holdout of {challenger_run.snapshot_ref}", rows


def _training_contract_gate(ws: Any, snapshot_ref: str | None, base: str | None) -> GateResult:
    """The contract gate; ``base``: the snapshot retraining started from (else the parent)."""
    from pathlib import Path

    from ..snapshots.contract import Contract, check_contract, infer_contract

    if not snapshot_ref:
        return contract_gate(None, None)
    gates = ws.settings.gates
    if gates.contract_file:
        rules = Contract.load(Path(ws.root) / gates.contract_file)
        enforce = True
    else:
        chain = ws.log(snapshot_ref)
        reference = ws.snapshot(base) if base else chain[1] if len(chain) > 1 else None
        if reference is None:
            return contract_gate(None, None)
        rules, enforce = infer_contract(reference), gates.contract_ranges
    violations = check_contract(ws.load(snapshot_ref), rules)
    return contract_gate(violations, rules.source or gates.contract_file, enforce)


def segment_gates(ws: Any, holdout: pl.DataFrame, scored: Any) -> list[GateResult]:
    """One segment gate per configured column."""
    g = ws.settings.gates
    metric = SEGMENT_METRIC[scored.task]
    out = []
    for column in g.segment_columns:
        table = (
            segment_table(holdout.get_column(column), scored) if column in holdout.columns else None
        )
        out.append(segment_gate(column, table, metric, g.max_segment_gap, g.max_parity_difference,
                                g.min_segment_rows, parity_applies=scored.task == "binary"))  # fmt: skip
    return out


def promotion_evidence(
    ws: Any,
    candidate: ModelVersion,
    reason: str | None,
    training_data: dict[str, Any] | None = None,
    progress: Progress = NULL_PROGRESS,
) -> Evidence:
    """Score candidate and champion on the same holdout and run every enabled gate.

    Each step is a progress phase, and cancelling between steps stops it (nothing is written
    here: the caller files the proposal once the evidence is complete).
    """
    g = ws.settings.gates
    run = ws.run(candidate.run_id)
    champ = _champion(ws, candidate)
    champ_run = ws.run(champ.run_id) if champ else None

    def step(task: str) -> None:
        progress.check_cancelled()
        progress.start(task, total=None)

    step("choosing the holdout")
    label, holdout = choose_holdout(ws, run, champ_run)
    step(f"scoring {candidate.ref} on {label}")
    model = ws.run_model(run.id)
    scored = score(model, holdout)
    champ_scored = None
    if champ_run:
        step(f"scoring {champ.ref} on {label}")
        champ_scored = score(ws.run_model(champ_run.id), holdout)
    gates: list[GateResult] = []
    if g.contract:
        step("checking the training data's contract")
        base_snap = (training_data or {}).get("base_snapshot")
        gates.append(_training_contract_gate(ws, run.snapshot_ref, base_snap))
    if g.performance:
        base = champ_scored.metrics if champ_scored else None
        gates.append(
            performance_gate(scored.task, scored.metrics, base, g.tolerance, g.min_improvement)
        )
    step("segment checks")
    gates.extend(segment_gates(ws, holdout, scored))
    if g.sanity:
        step("timing the scoring")
        latency = latency_ms_per_10k(model, holdout)
        gates.append(sanity_gate(scored.p, latency, g.max_latency_ms_per_10k))
    step(f"drift of {label.split(' ', 1)[0]} against the training data")
    drift = _drift_summary(ws, run.snapshot_ref, label)
    progress.check_cancelled()
    metrics = {"challenger": scored.metrics}
    if champ_scored:
        metrics["champion"] = champ_scored.metrics
    return Evidence(
        reason=reason, holdout=label, primary_metric=PRIMARY_METRIC[scored.task],
        challenger=candidate.ref, champion=champ.ref if champ else None, metrics=metrics,
        gates=gates, drift=drift, training_data=training_data,
    )  # fmt: skip


def _drift_summary(ws: Any, training_ref: str, holdout_label: str) -> dict[str, Any] | None:
    """Drift of the holdout snapshot against the challenger's training data (Evidently's
    defaults), or None when the holdout is not a snapshot (a run's own holdout rows)."""
    holdout_ref = holdout_label.split(" ", 1)[0]
    if "@" not in holdout_ref:
        return None
    try:
        report = ws.drift(training_ref, holdout_ref, save=False)
    except WorkbenchError as exc:
        return {"reference": training_ref, "current": holdout_ref, "error": str(exc)}
    return {
        "reference": training_ref,
        "current": holdout_ref,
        "share": round(report.share, 4),
        "dataset_drifted": report.dataset_drifted,
        "drifted_columns": list(report.drifted_columns),
    }


def _champion(ws: Any, candidate: ModelVersion) -> ModelVersion | None:
    version = ws.aliases(candidate.name).get(CHAMPION)
    if version is None or version == candidate.version:
        return None
    return ws.model(f"{candidate.name}@v{version}")
