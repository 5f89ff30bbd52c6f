"""Gathering a promotion's evidence: the holdout, both models' metrics, and every gate.

``EvidenceBuilder`` is built with the settings' gates and the lower services it reads
(snapshots, experiments, drift); the registry service hands it the candidate and the champion.

Contract gate: the training snapshot is checked against the contract inferred from the snapshot
retraining started from (the champion's data), or from its parent version for other promotions,
or against ``[gates] contract_file``.

Holdout rule (the same rows for champion and challenger): the ``[gates] holdout`` snapshot
when set; else the newest labelled snapshot that neither model trained on (see
``snapshots.batches``: "labelled and unseen"); else the challenger run's own holdout rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..drift.service import DriftRequest
from ..errors import WorkbenchError
from ..progress import NULL_PROGRESS, Progress
from .decisions import Evidence
from .evaluation import (
    PRIMARY_METRIC,
    SEGMENT_METRIC,
    Scored,
    latency_ms_per_10k,
    score,
    segment_table,
)
from .gates import GateResult, contract_gate, performance_gate, sanity_gate, segment_gate

if TYPE_CHECKING:
    import polars as pl

    from ..config import GateSettings
    from ..drift.service import DriftService
    from ..experiments.records import RunRecord
    from ..experiments.service import ExperimentService
    from ..snapshots.service import SnapshotService
    from .models import ModelVersion

__all__ = ["EvidenceBuilder"]


class EvidenceBuilder:
    """Scores candidate and champion on one holdout and runs every enabled gate."""

    def __init__(
        self,
        gates: GateSettings,
        project_root: Path,
        snapshots: SnapshotService,
        experiments: ExperimentService,
        drift: DriftService,
    ) -> None:
        self.gates = gates
        self.project_root = project_root
        self.snapshots = snapshots
        self.experiments = experiments
        self.drift = drift

    def choose_holdout(
        self, challenger_run: RunRecord, champion_run: RunRecord | None
    ) -> tuple[str, pl.DataFrame]:
        """(description, rows) of the labelled holdout both models are scored on."""
        configured = self.gates.holdout
        if configured:
            snap = self.snapshots.get(configured)
            return f"{snap.ref} (configured holdout)", self.snapshots.load(snap)
        runs = [r for r in (challenger_run, champion_run) if r is not None and r.snapshot_ref]
        trained_on = [self.snapshots.get(r.snapshot_ref) for r in runs if r.snapshot_ref]
        unseen = self.snapshots.unseen_labelled(challenger_run.target or "", trained_on)
        if unseen:
            newest = unseen[-1]
            label = f"{newest.ref} (newest labelled data neither model trained on)"
            return label, self.snapshots.load(newest)
        rows = self.experiments.holdout(challenger_run.id)
        return f"run {challenger_run.id}'s own holdout of {challenger_run.snapshot_ref}", rows

    def contract(self, snapshot_ref: str | None, base: str | None) -> GateResult:
        """The contract gate; ``base``: the snapshot retraining started from (else the parent)."""
        from ..snapshots.contract import Contract, check_contract, infer_contract

        if not snapshot_ref:
            return contract_gate(None, None)
        gates = self.gates
        if gates.contract_file:
            rules = Contract.load(self.project_root / gates.contract_file)
            enforce = True
        else:
            chain = self.snapshots.lineage(snapshot_ref)
            reference = self.snapshots.get(base) if base else chain[1] if len(chain) > 1 else None
            if reference is None:
                return contract_gate(None, None)
            rules, enforce = infer_contract(reference), gates.contract_ranges
        violations = check_contract(self.snapshots.load(snapshot_ref), rules)
        return contract_gate(violations, rules.source or gates.contract_file, enforce)

    def segments(self, holdout: pl.DataFrame, scored: Scored) -> list[GateResult]:
        """One segment gate per configured column."""
        g = self.gates
        metric = SEGMENT_METRIC[scored.task]
        out = []
        for column in g.segment_columns:
            table = (
                segment_table(holdout.get_column(column), scored)
                if column in holdout.columns
                else None
            )
            out.append(segment_gate(column, table, metric, g.max_segment_gap,
                                    g.max_parity_difference, g.min_segment_rows,
                                    parity_applies=scored.task == "binary"))  # fmt: skip
        return out

    def promotion(
        self,
        candidate: ModelVersion,
        champion: ModelVersion | None,
        reason: str | None,
        training_data: dict[str, Any] | None = None,
        progress: Progress = NULL_PROGRESS,
    ) -> Evidence:
        """Score ``candidate`` and ``champion`` on the same holdout and run every enabled gate.

        Each step is a progress phase, and cancelling between steps stops it (nothing is written
        here: the caller files the proposal once the evidence is complete).
        """
        g = self.gates
        run = self.experiments.get(candidate.run_id)
        champ_run = self.experiments.get(champion.run_id) if champion else None

        def step(task: str) -> None:
            progress.check_cancelled()
            progress.start(task, total=None)

        step("choosing the holdout")
        label, holdout = self.choose_holdout(run, champ_run)
        step(f"scoring {candidate.ref} on {label}")
        model = self.experiments.model(run.id)
        scored = score(model, holdout)
        champ_scored = None
        if champion and champ_run:
            step(f"scoring {champion.ref} on {label}")
            champ_scored = score(self.experiments.model(champ_run.id), holdout)
        gates: list[GateResult] = []
        if g.contract:
            step("checking the training data's contract")
            base_snap = (training_data or {}).get("base_snapshot")
            gates.append(self.contract(run.snapshot_ref, base_snap))
        if g.performance:
            base = champ_scored.metrics if champ_scored else None
            gates.append(
                performance_gate(scored.task, scored.metrics, base, g.tolerance, g.min_improvement)
            )
        step("segment checks")
        gates.extend(self.segments(holdout, scored))
        if g.sanity:
            step("timing the scoring")
            latency = latency_ms_per_10k(model, holdout)
            gates.append(sanity_gate(scored.p, latency, g.max_latency_ms_per_10k))
        step(f"drift of {label.split(' ', 1)[0]} against the training data")
        drift = self._drift_summary(run.snapshot_ref, label)
        progress.check_cancelled()
        metrics = {"challenger": scored.metrics}
        if champ_scored:
            metrics["champion"] = champ_scored.metrics
        return Evidence(
            reason=reason, holdout=label, primary_metric=PRIMARY_METRIC[scored.task],
            challenger=candidate.ref, champion=champion.ref if champion else None,
            metrics=metrics, gates=gates, drift=drift, training_data=training_data,
        )  # fmt: skip

    def _drift_summary(self, training_ref: str | None, holdout_label: str) -> dict[str, Any] | None:
        """Drift of the holdout snapshot against the challenger's training data (Evidently's
        defaults), or None when the holdout is not a snapshot (a run's own holdout rows)."""
        holdout_ref = holdout_label.split(" ", 1)[0]
        if "@" not in holdout_ref or not training_ref:
            return None
        try:
            report = self.drift.compare(DriftRequest(training_ref, holdout_ref, save=False))
        except WorkbenchError as exc:
            return {"reference": training_ref, "current": holdout_ref, "error": str(exc)}
        return {
            "reference": training_ref,
            "current": holdout_ref,
            "share": round(report.share, 4),
            "dataset_drifted": report.dataset_drifted,
            "drifted_columns": list(report.drifted_columns),
        }
