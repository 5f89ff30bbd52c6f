"""The registry service: model versions, aliases, gates, decisions and roles.

Built with the workspace ``Context`` and the services it reads: snapshots (training data,
holdouts), experiments (runs, models, retraining) and drift (the evidence's drift summary).

Every state change happens in one store transaction together with its audit entry (SQL in
``repository``). Roles are checked here, in the core, before any work (see ``roles``). MLflow's
registry is a mirror: the store is written first, then MLflow is brought in line
(``sync_mlflow`` repairs a failed mirror).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import InputError, PermissionDenied, WorkbenchError
from ..progress import NULL_PROGRESS, Progress
from . import repository as repo
from . import roles
from .aliases import CHAMPION, AliasMove, previous_holder, validate_alias
from .decisions import Decision, Evidence
from .models import ModelVersion, parse_model_ref, validate_model_name

if TYPE_CHECKING:
    import duckdb

    from ..context import Context
    from ..drift.service import DriftService
    from ..experiments.records import RunRecord
    from ..experiments.service import ExperimentService
    from ..snapshots.service import SnapshotService
    from .evidence import EvidenceBuilder
    from .lineage import LineageNode

__all__ = ["RegistryService", "RollbackPlan"]


def _mlflow_error(what: str, exc: Exception) -> WorkbenchError:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return WorkbenchError(
        f"{what}: {first}", hint="set [registry] mlflow = false to skip the MLflow mirror"
    )


class RollbackPlan:
    """Where a rollback of a model's champion would go: ``current`` -> ``target``."""

    def __init__(self, name: str, current: int, target: int) -> None:
        self.name = name
        self.current = current
        self.target = target

    def __repr__(self) -> str:
        return f"RollbackPlan({self.name}: v{self.current} -> v{self.target})"


class RegistryService:
    """Model versions, aliases, gates, decisions and roles."""

    def __init__(
        self,
        ctx: Context,
        snapshots: SnapshotService,
        experiments: ExperimentService,
        drift: DriftService,
    ) -> None:
        self.ctx = ctx
        self.snapshots = snapshots
        self.experiments = experiments
        self.drift = drift

    # -- roles -------------------------------------------------------------------------------

    @property
    def role(self) -> str:
        """The acting user's role (viewer, developer, approver or admin)."""
        return roles.role_of(self.ctx.settings, self.ctx.actor)

    def can(self, action: str) -> bool:
        """Whether the acting user may perform ``action`` (faces use it to grey out buttons)."""
        return roles.allows(self.role, action)

    def require(self, action: str) -> None:
        """Raise ``PermissionDenied`` (one clear line) unless the acting user may ``action``."""
        roles.require(self.ctx.settings, self.ctx.actor, action)

    # -- versions ----------------------------------------------------------------------------

    def register(self, run_id: int | str, name: str) -> ModelVersion:
        """Register a finished run's model as the next version of ``name`` (``name@vN``)."""
        self.require("register")
        validate_model_name(name)
        run = self.experiments.get(run_id)
        if run.status != "finished" or not run.model_hash:
            raise InputError(f"run {run.id} is {run.status}; only finished runs can be registered")
        if run.deleted:
            raise InputError(
                f"run {run.id} is deleted", hint="restore it first: runs delete --restore"
            )
        with self.ctx.store.read() as con:
            existing = repo.registered_as(con, name, run.id)
        if existing is not None:
            raise InputError(f"run {run.id} is already registered as {name}@v{existing}")
        mirrored = self._mlflow_register(run, name) if self.ctx.settings.registry.mlflow else None
        actor = self.ctx.actor
        with self.ctx.store.write() as con:
            mv = repo.insert_version(con, name, run, mirrored, actor)
            self.ctx.audit(con, "model.registered", mv.ref,
                           {"run": run.id, "snapshot": run.snapshot_ref,
                            "mlflow_version": mirrored},
                           rows=[("model_versions", mv.id)], actor=actor)  # fmt: skip
        return mv

    def _mlflow_register(self, run: RunRecord, name: str) -> str:
        from .mlflow_registry import register_version

        if run.mirror_pending:  # the run's own mirror first (waits for a background one)
            mlflow_run_id = self.experiments.mirror(run.id)
        else:
            mlflow_run_id = run.mlflow_run_id or self._log_model_late(run)
        tags = {"workbench.run_id": str(run.id), "workbench.snapshot": run.snapshot_ref or ""}
        try:
            return register_version(self.experiments.tracking_uri, name, mlflow_run_id, tags)
        except WorkbenchError:
            raise
        except Exception as exc:
            raise _mlflow_error("MLflow registry mirror failed", exc) from exc

    def _log_model_late(self, run: RunRecord) -> str:
        """Log the model of a run trained without MLflow, and remember the MLflow run."""
        from .mlflow_registry import log_model_for_run

        assert run.model_hash is not None
        example = self.experiments.holdout(run.id).head(5)
        experiment = (run.snapshot_ref or "workbench").partition("@")[0]
        tags = {"workbench.run_id": str(run.id), "workbench.logged_at_registration": "true"}
        try:
            mlflow_run_id = log_model_for_run(
                self.experiments.tracking_uri, experiment,
                self.ctx.objects.read_bytes(run.model_hash).decode(), run.model_meta, example,
                tags, self.experiments.artifact_root(),
            )  # fmt: skip
        except Exception as exc:
            raise _mlflow_error(f"could not log run {run.id}'s model to MLflow", exc) from exc
        self.experiments.set_mlflow_run_id(run.id, mlflow_run_id)
        return mlflow_run_id

    def versions(self, name: str | None = None) -> list[ModelVersion]:
        """Every registered version (of one model), with the aliases each holds now."""
        with self.ctx.store.read() as con:
            versions = repo.list_versions(con, name)
            held = repo.current_aliases(con, name)
        return [_with_aliases(mv, held) for mv in versions]

    def get(self, ref: str) -> ModelVersion:
        """The version ``NAME@vN``, ``NAME@ALIAS`` or ``NAME`` (latest) names now."""
        with self.ctx.store.read() as con:
            return self._resolve(con, ref)

    def _resolve(self, con: duckdb.DuckDBPyConnection, ref: str) -> ModelVersion:
        mv = repo.resolve(con, ref)
        return _with_aliases(mv, repo.current_aliases(con, mv.name))

    def names(self) -> list[str]:
        """Names of registered models."""
        return sorted({mv.name for mv in self.versions()})

    def set_intended_use(self, ref: str, text: str) -> ModelVersion:
        """Set the intended-use text shown on a version's model card."""
        self.require("edit_card")
        actor = self.ctx.actor
        with self.ctx.store.write() as con:
            mv = repo.resolve(con, ref)
            repo.set_intended_use(con, mv, text)
            self.ctx.audit(con, "model.intended_use", mv.ref, {"text": text},
                           rows=[("model_versions", mv.id)], actor=actor)  # fmt: skip
        return self.get(mv.ref)

    def default_name(self, ref: str) -> str:
        """``@alias`` alone means that alias of the only registered model."""
        if not ref.startswith("@"):
            return ref
        names = self.names()
        if len(names) != 1:
            raise InputError(
                f"say which model: NAME{ref}", hint=f"models: {', '.join(names) or 'none'}"
            )
        return names[0] + ref

    def delete_run(self, run_id: int | str, *, restore: bool = False) -> None:
        """Delete (hide) a run or restore it (developer); a run that backs a registered model
        version cannot be deleted: its model would be collected by ``gc``."""
        self.require("delete_run")
        run = self.experiments.get(run_id)
        if not restore:
            with self.ctx.store.read() as con:
                backing = repo.versions_of_run(con, run.id)
            if backing:
                refs = ", ".join(mv.ref for mv in backing)
                raise InputError(
                    f"run {run.id} backs {refs}; a registered model's run cannot be deleted"
                )
        self.experiments.delete(run.id, restore=restore)

    # -- aliases -----------------------------------------------------------------------------

    def aliases(self, name: str) -> dict[str, int]:
        """A model's aliases now: alias -> version."""
        with self.ctx.store.read() as con:
            return {a: v for (_, a), v in repo.current_aliases(con, name).items()}

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasMove]:
        """Every move of a model's aliases (or one alias), oldest first."""
        with self.ctx.store.read() as con:
            return repo.alias_history(con, name, alias)

    def alias_at(self, name: str, alias: str, when: datetime | str) -> ModelVersion | None:
        """The version that held ``alias`` at ``when`` (None if the alias was unset then)."""
        moment = datetime.fromisoformat(when) if isinstance(when, str) else when
        with self.ctx.store.read() as con:
            version = repo.holder_at(con, name, alias, moment)
            return None if version is None else repo.get_version(con, name, version)

    def _move(
        self,
        con: duckdb.DuckDBPyConnection,
        name: str,
        alias: str,
        to_version: int | None,
        reason: str | None,
        decision_id: int | None = None,
        rollback: bool = False,
    ) -> AliasMove:
        """Move an alias and record the move and its audit entry (in the caller's transaction)."""
        actor = self.ctx.actor
        move = repo.insert_move(con, name, alias, to_version, actor, reason, decision_id, rollback)
        details: dict[str, Any] = {"alias": alias, "from": move.from_version, "to": to_version,
                                   "reason": reason}  # fmt: skip
        if decision_id is not None:
            details["decision"] = decision_id
        action = "model.rolled_back" if rollback else "alias.moved"
        self.ctx.audit(con, action, name, details, rows=[("alias_moves", move.id)], actor=actor)
        return move

    def set_alias(self, ref: str, alias: str, reason: str | None = None) -> AliasMove:
        """Point ``alias`` at the version ``ref`` names, directly (approver; no proposal)."""
        self.require("move_alias")
        validate_alias(alias)
        with self.ctx.store.write() as con:
            mv = repo.resolve(con, ref)
            move = self._move(con, mv.name, alias, mv.version, reason)
        self.sync_mlflow(mv.name)
        return move

    def remove_alias(self, name: str, alias: str, reason: str | None = None) -> AliasMove:
        """Unset an alias (approver); the removal is kept in its history."""
        self.require("move_alias")
        with self.ctx.store.write() as con:
            if repo.holder(con, name, alias) is None:
                raise InputError(f"{name} has no alias {alias!r}")
            move = self._move(con, name, alias, None, reason)
        self.sync_mlflow(name)
        return move

    def sync_mlflow(self, name: str) -> None:
        """Make the MLflow registry's aliases of ``name`` match the workbench's."""
        if not self.ctx.settings.registry.mlflow:
            return
        from .mlflow_registry import sync_aliases

        versions = {mv.version: mv.mlflow_version for mv in self.versions(name)}
        if not any(versions.values()):
            return
        wanted = {a: str(versions[v]) for a, v in self.aliases(name).items() if versions.get(v)}
        try:
            sync_aliases(self.experiments.tracking_uri, name, wanted)
        except Exception as exc:
            raise _mlflow_error(
                f"aliases of {name} changed in the workbench, but MLflow was not updated "
                f"(repair: workbench models sync {name})",
                exc,
            ) from exc

    def mlflow_uri(self, ref: str) -> str:
        """The MLflow URI that loads a version: ``models:/NAME@ALIAS`` or ``models:/NAME/N``."""
        parsed = parse_model_ref(ref)
        mv = self.get(ref)
        if not mv.mlflow_version:
            raise InputError(f"{mv.ref} is not mirrored to the MLflow registry")
        if parsed.alias:
            return f"models:/{mv.name}@{parsed.alias}"
        return f"models:/{mv.name}/{mv.mlflow_version}"

    # -- lineage and cards -------------------------------------------------------------------

    def lineage(self, ref: str) -> LineageNode:
        """Version <- run <- snapshot <- parent snapshots <- source files, with hashes."""
        from .lineage import build_lineage, retrain_recipes

        mv = self.get(ref)
        run = self.experiments.get(mv.run_id)
        recipes = retrain_recipes(self.decisions(name=mv.name))
        return build_lineage(self.snapshots, mv, run, recipes)

    def card(self, ref: str) -> str:
        """The Markdown model card of a version."""
        from .cards import model_card

        mv = self.get(ref)
        run = self.experiments.get(mv.run_id)
        decisions = [d for d in self.decisions(name=mv.name) if d.version == mv.version]
        moves = [
            m for m in self.alias_history(mv.name) if mv.version in (m.from_version, m.to_version)
        ]
        columns = list(self.ctx.settings.gates.segment_columns)
        return model_card(
            self.experiments, columns, mv, run, decisions, moves, self.lineage(mv.ref)
        )

    # -- proposals and decisions -------------------------------------------------------------

    def evidence_builder(self) -> EvidenceBuilder:
        """The gate runner over this workspace's settings and services."""
        from .evidence import EvidenceBuilder

        return EvidenceBuilder(
            self.ctx.settings.gates, self.ctx.root, self.snapshots, self.experiments, self.drift
        )

    def _champion_of(self, candidate: ModelVersion) -> ModelVersion | None:
        version = self.aliases(candidate.name).get(CHAMPION)
        if version is None or version == candidate.version:
            return None
        return self.get(f"{candidate.name}@v{version}")

    def gate_results(self, ref: str) -> Evidence:
        """Run the promotion gates for a version now, without filing anything."""
        mv = self.get(ref)
        return self.evidence_builder().promotion(mv, self._champion_of(mv), None)

    def _file(
        self,
        con: duckdb.DuckDBPyConnection,
        kind: str,
        name: str,
        version: int | None,
        alias: str | None,
        evidence: Evidence,
    ) -> Decision:
        """File a pending proposal and its audit entry (in the caller's transaction)."""
        actor = self.ctx.actor
        decision = repo.insert_decision(con, kind, name, version, alias, evidence, actor)
        details = {"kind": kind, "version": version, "alias": alias,
                   "gates_passed": evidence.passed, "reason": evidence.reason}  # fmt: skip
        self.ctx.audit(con, "proposal.filed", f"decision {decision.id}", details,
                       rows=[("decisions", decision.id)], actor=actor)  # fmt: skip
        return decision

    def _close(
        self,
        con: duckdb.DuckDBPyConnection,
        decision: Decision,
        status: str,
        comment: str | None,
        override: bool = False,
        result: dict[str, Any] | None = None,
    ) -> Decision:
        """Approve or reject a pending decision, with its audit entries (caller's transaction)."""
        actor = self.ctx.actor
        closed = repo.close_decision(con, decision, status, actor, comment, override, result)
        subject = f"decision {decision.id}"
        if override:
            failed = [g.name for g in decision.evidence.gates if not g.passed]
            self.ctx.audit(con, "decision.override", subject, actor=actor, details=
                         {"failed_gates": failed, "comment": comment})  # fmt: skip
        details = {"kind": decision.kind, "comment": comment, **(result or {})}
        self.ctx.audit(con, f"decision.{status}", subject, details,
                       rows=[("decisions", decision.id)], actor=actor)  # fmt: skip
        return closed

    def propose_promotion(
        self,
        ref: str,
        to_alias: str = CHAMPION,
        reason: str | None = None,
        *,
        training_data: dict[str, Any] | None = None,
        progress: Progress = NULL_PROGRESS,
    ) -> Decision:
        """Run the gates for a version and file a proposal to point ``to_alias`` at it.

        The proposal is filed whether or not the gates pass (failed gates need an override to
        approve); its evidence carries the gate results and both models' metrics. Each gate
        step is a ``progress`` phase; cancelling files nothing.
        """
        self.require("propose")
        validate_alias(to_alias)
        mv = self.get(ref)
        if self.aliases(mv.name).get(to_alias) == mv.version:
            raise InputError(f"{mv.ref} already holds {to_alias}")
        evidence = self.evidence_builder().promotion(
            mv, self._champion_of(mv), reason, training_data, progress
        )
        with self.ctx.store.write() as con:
            return self._file(con, "promote", mv.name, mv.version, to_alias, evidence)

    def propose_retrain(
        self,
        from_ref: str = f"@{CHAMPION}",
        reason: str | None = None,
        data: list[str] | None = None,
        *,
        monitoring: dict[str, Any] | None = None,
    ) -> Decision:
        """File a proposal to retrain from a version (approving it runs ``retrain``);
        ``monitoring`` is the evidence a monitoring check saw."""
        self.require("propose")
        mv = self.get(self.default_name(from_ref))
        evidence = Evidence(reason=reason, challenger=mv.ref,
                            training_data={"from": mv.ref, "data": list(data or [])},
                            monitoring=monitoring)  # fmt: skip
        with self.ctx.store.write() as con:
            return self._file(con, "retrain", mv.name, mv.version, None, evidence)

    def propose_rollback(
        self,
        name: str,
        reason: str,
        *,
        alias: str = CHAMPION,
        monitoring: dict[str, Any] | None = None,
    ) -> Decision:
        """File a rollback proposal, whoever acts (a guard's finding for a person to approve):
        ``champion`` back to its previous holder, any other alias (``canary``) removed."""
        self.require("propose")
        if alias == CHAMPION:
            plan = self.rollback_plan(name)
            target: int | None = plan.target
            evidence = Evidence(
                reason=reason, challenger=f"{name}@v{plan.target}",
                champion=f"{name}@v{plan.current}",
                metrics=self._run_metrics(name, plan.current, plan.target), monitoring=monitoring,
            )  # fmt: skip
        else:
            current = self.aliases(name).get(alias)
            if current is None:
                raise InputError(f"{name} has no alias {alias!r}")
            target = None
            evidence = Evidence(reason=reason, challenger=f"{name}@v{current}",
                                monitoring=monitoring)  # fmt: skip
        with self.ctx.store.write() as con:
            return self._file(con, "rollback", name, target, alias, evidence)

    def decisions(self, status: str | None = None, name: str | None = None) -> list[Decision]:
        """Proposals and decisions, newest first (``status``: pending, approved, rejected)."""
        with self.ctx.store.read() as con:
            return repo.list_decisions(con, status, name)

    def decision(self, decision_id: int | str) -> Decision:
        """One proposal or decision with its evidence."""
        with self.ctx.store.read() as con:
            return repo.get_decision(con, _decision_id(decision_id))

    def approve(
        self,
        decision_id: int | str,
        comment: str | None = None,
        override: bool = False,
        progress: Progress = NULL_PROGRESS,
    ) -> Decision:
        """Approve a pending proposal and carry out its action (approver).

        A proposal whose gates failed needs ``override=True`` and a comment.
        """
        self.require("approve")  # before the decision is looked up, as for every action
        decision = self._pending(decision_id)
        self._check_four_eyes(decision)
        if not decision.gates_passed and not override:
            failed = ", ".join(g.name for g in decision.evidence.gates if not g.passed)
            raise InputError(
                f"decision {decision.id} failed its gates ({failed})",
                hint="approve with override and a comment to go ahead anyway",
            )
        if override and not (comment and comment.strip()):
            raise InputError("an override needs a comment saying why")
        override = override and not decision.gates_passed
        if decision.kind == "retrain":
            return self._approve_retrain(decision, comment, progress)
        return self._approve_move(decision, comment, override)

    def check_approval(self, decision: Decision) -> None:
        """Raise PermissionDenied unless the acting user may approve ``decision``: the approver
        role and, with ``[registry] four_eyes``, not being its proposer. Faces ask before
        they open a confirmation; ``approve`` asks again."""
        self.require("approve")
        self._check_four_eyes(decision)

    def _check_four_eyes(self, decision: Decision) -> None:
        actor = self.ctx.actor
        if self.ctx.settings.registry.four_eyes and decision.proposed_by == actor:
            raise PermissionDenied(
                f"decision {decision.id} was proposed by {actor}; with [registry] "
                "four_eyes on, another approver must approve it",
                hint="rejecting it withdraws it",
            )

    def _approve_move(self, decision: Decision, comment: str | None, override: bool) -> Decision:
        reason = comment or decision.reason
        assert decision.alias is not None
        with self.ctx.store.write() as con:
            move = self._move(
                con, decision.model_name, decision.alias, decision.version, reason, decision.id,
                rollback=decision.kind == "rollback",
            )  # fmt: skip
            result = {"alias": move.alias, "from": move.from_version, "to": move.to_version}
            closed = self._close(con, decision, "approved", comment, override, result)
        self.sync_mlflow(decision.model_name)
        return closed

    def _approve_retrain(
        self, decision: Decision, comment: str | None, progress: Progress
    ) -> Decision:
        training = decision.evidence.training_data or {}
        data = training.get("data") or None
        from_ref = str(training.get("from") or decision.evidence.challenger)
        proposal = self.retrain(from_ref, data=data, reason=decision.reason, progress=progress)
        with self.ctx.store.write() as con:
            return self._close(con, decision, "approved", comment, result={"proposal": proposal.id})

    def reject(self, decision_id: int | str, comment: str) -> Decision:
        """Reject a pending proposal with a comment (approver)."""
        self.require("reject")
        if not (comment and comment.strip()):
            raise InputError("a rejection needs a comment saying why")
        decision = self._pending(decision_id)
        with self.ctx.store.write() as con:
            return self._close(con, decision, "rejected", comment)

    def _pending(self, decision_id: int | str) -> Decision:
        decision = self.decision(decision_id)
        if decision.status != "pending":
            raise InputError(f"decision {decision.id} is already {decision.status}")
        return decision

    # -- rollback ----------------------------------------------------------------------------

    def rollback_plan(self, name: str) -> RollbackPlan:
        """Where a rollback of ``name``'s champion goes (InputError when there is nowhere)."""
        moves = self.alias_history(name, CHAMPION)
        if not moves or moves[-1].to_version is None:
            raise InputError(f"{name} has no champion to roll back")
        current = moves[-1].to_version
        previous = previous_holder(moves)
        if previous is None:
            raise InputError(f"{name}@v{current} was the first champion; nothing to roll back to")
        return RollbackPlan(name, current, previous)

    def rollback(self, name: str, reason: str | None = None) -> Decision:
        """Move ``champion`` back to its previous holder.

        An approver's rollback happens now (recorded as an approved decision); anyone else with
        at least the developer role files a rollback proposal instead.
        """
        self.require("propose")
        plan = self.rollback_plan(name)
        evidence = Evidence(
            reason=reason,
            challenger=f"{name}@v{plan.target}",
            champion=f"{name}@v{plan.current}",
            metrics=self._run_metrics(name, plan.current, plan.target),
        )
        direct = self.can("rollback")
        with self.ctx.store.write() as con:
            decision = self._file(con, "rollback", name, plan.target, CHAMPION, evidence)
        return self._approve_move(decision, reason, False) if direct else decision

    def _run_metrics(self, name: str, *versions: int | None) -> dict[str, dict[str, float]]:
        """The recorded holdout metrics of versions' runs: champion first, then challenger."""
        out = {}
        for role, version in zip(("champion", "challenger"), versions, strict=True):
            if version is not None:
                out[role] = self.experiments.get(self.get(f"{name}@v{version}").run_id).metrics
        return out

    # -- retraining --------------------------------------------------------------------------

    def retrain(
        self,
        from_ref: str = f"@{CHAMPION}",
        data: list[str] | None = None,
        *,
        reason: str | None = None,
        to_alias: str = CHAMPION,
        progress: Progress = NULL_PROGRESS,
    ) -> Decision:
        """Retrain a challenger from a version and file its promotion proposal.

        Training data: the version's training snapshot plus ``data`` (refs) or, by default,
        every labelled batch it has not seen except the newest, kept out for the gates (see
        ``workbench.registry.retrain``); saved as the next version of that snapshot. The
        challenger is trained with the version's parameters, registered under the same name,
        gated and proposed for ``to_alias``.
        """
        from .retrain import build_training_snapshot, default_batches

        self.require("retrain")
        base = self.get(self.default_name(from_ref))
        run = self.experiments.get(base.run_id)
        if not run.snapshot_ref or not run.spec:
            raise InputError(f"run {run.id} has no recorded training data or spec")
        base_snap = self.snapshots.get(run.snapshot_ref)
        batches = (
            [self.snapshots.get(r) for r in data]
            if data
            else default_batches(self.snapshots, base_snap, run.target or "")
        )
        snap = build_training_snapshot(self.snapshots, base_snap, batches)
        request = self.experiments.request_like(
            run, snap.ref, f"retrain of {base.ref}", mlflow=self.ctx.settings.registry.mlflow
        )
        new_run = self.experiments.train(request, progress=progress)
        mv = self.register(new_run.id, base.name)
        training = {"rule": "champion's data + labelled batches", "from": base.ref,
                    "base_snapshot": base_snap.ref, "batches": [b.ref for b in batches],
                    "snapshot": snap.ref, "run": new_run.id}  # fmt: skip
        why = reason or f"retrained {base.ref} on {snap.ref}"
        return self.propose_promotion(
            mv.ref, to_alias, why, training_data=training, progress=progress
        )


def _decision_id(value: int | str) -> int:
    text = str(value).strip().lower().removeprefix("decision").strip().lstrip("#")
    if not text.isdigit():
        raise InputError(f"not a decision id: {value!r}")
    return int(text)


def _with_aliases(mv: ModelVersion, held: dict) -> ModelVersion:
    mv.aliases = sorted(a for (n, a), v in held.items() if n == mv.name and v == mv.version)
    return mv
