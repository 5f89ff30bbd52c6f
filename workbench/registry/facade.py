"""The registry part of the ``Workspace`` facade (mixed into ``workbench.api.Workspace``).

Methods here use ``self.store``, ``self.objects``, ``self.settings``, ``self.actor`` and the
experiments methods (``self.run(id)``, ``self.run_model(id)``) of the facade.

Every state change happens in one store transaction together with its audit entry. Roles are
checked here, in the core, before any work (see ``roles``). MLflow's registry is a mirror: the
store is written first, then MLflow is brought in line (``sync_mlflow`` repairs a failed mirror).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ..errors import InputError, PermissionDenied, WorkbenchError
from ..progress import NULL_PROGRESS, Progress
from . import aliases as alias_store
from . import decisions as decision_store
from . import models as model_store
from . import roles
from .aliases import CHAMPION, AliasMove
from .decisions import Decision, Evidence
from .models import ModelVersion

if TYPE_CHECKING:
    from ..config import Settings
    from ..experiments.runs import RunRecord
    from ..store import Store
    from .lineage import LineageNode

__all__ = ["RegistryMixin"]


def _mlflow_error(what: str, exc: Exception) -> WorkbenchError:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return WorkbenchError(
        f"{what}: {first}", hint="set [registry] mlflow = false to skip the MLflow mirror"
    )


class RegistryMixin:
    """Model versions, aliases, gates, decisions and roles."""

    if TYPE_CHECKING:
        store: Store
        settings: Settings
        actor: str
        mlflow_tracking_uri: str

        def run(self, run_id: int | str) -> RunRecord: ...

        def train(self, ref: str, target: str | None = None, **kwargs) -> RunRecord: ...

    # -- roles -------------------------------------------------------------------------------

    @property
    def role(self) -> str:
        """The acting user's role (viewer, developer, approver or admin)."""
        return roles.role_of(self.settings, self.actor)

    def can(self, action: str) -> bool:
        """Whether the acting user may perform ``action`` (faces use it to grey out buttons)."""
        return roles.allows(self.role, action)

    def _require(self, action: str) -> None:
        roles.require(self.settings, self.actor, action)

    # -- versions ----------------------------------------------------------------------------

    def register_model(self, run_id: int | str, name: str) -> ModelVersion:
        """Register a finished run's model as the next version of ``name`` (``name@vN``)."""
        self._require("register")
        model_store.validate_model_name(name)
        run = self.run(run_id)
        if run.status != "finished" or not run.model_hash:
            raise InputError(f"run {run.id} is {run.status}; only finished runs can be registered")
        self._refuse_duplicate(run.id, name)
        mlflow_version = self._mlflow_register(run, name) if self.settings.registry.mlflow else None
        with self.store.write() as con:
            mv = model_store.insert_version(con, name, run, mlflow_version, self.actor)
        return mv

    def _refuse_duplicate(self, run_id: int, name: str) -> None:
        with self.store.read() as con:
            rows = con.execute(
                "select version from model_versions where name = ? and run_id = ?",
                [name, run_id],
            ).fetchall()
        if rows:
            raise InputError(f"run {run_id} is already registered as {name}@v{rows[0][0]}")

    def _mlflow_register(self, run: RunRecord, name: str) -> str:
        from .mlflow_registry import register_version

        mlflow_run_id = run.mlflow_run_id or self._log_model_late(run)
        tags = {"workbench.run_id": str(run.id), "workbench.snapshot": run.snapshot_ref or ""}
        try:
            return register_version(self.mlflow_tracking_uri, name, mlflow_run_id, tags)
        except WorkbenchError:
            raise
        except Exception as exc:
            raise _mlflow_error("MLflow registry mirror failed", exc) from exc

    def _log_model_late(self, run: RunRecord) -> str:
        """Log the model of a run trained without MLflow, and remember the MLflow run."""
        from ..experiments import runs as run_store
        from .mlflow_registry import log_model_for_run

        example = self.run_holdout(run.id).head(5)
        experiment = (run.snapshot_ref or "workbench").partition("@")[0]
        tags = {"workbench.run_id": str(run.id), "workbench.logged_at_registration": "true"}
        try:
            mlflow_run_id = log_model_for_run(
                self.mlflow_tracking_uri, experiment, self.objects.read_bytes(run.model_hash).decode(),
                run.model_meta, example, tags, self._mlflow_artifact_root(),
            )  # fmt: skip
        except Exception as exc:
            raise _mlflow_error(f"could not log run {run.id}'s model to MLflow", exc) from exc
        run_store.set_mlflow_run_id(self.store, run.id, mlflow_run_id)
        return mlflow_run_id

    def models(self, name: str | None = None) -> list[ModelVersion]:
        """Every registered version (of one model), with the aliases each holds now."""
        with self.store.read() as con:
            versions = model_store.list_versions(con, name)
            held = alias_store.current_aliases(con, name)
        return [_with_aliases(mv, held) for mv in versions]

    def model(self, ref: str) -> ModelVersion:
        """The version ``NAME@vN``, ``NAME@ALIAS`` or ``NAME`` (latest) names now."""
        with self.store.read() as con:
            mv = model_store.resolve(con, ref)
            held = alias_store.current_aliases(con, mv.name)
        return _with_aliases(mv, held)

    def model_names(self) -> list[str]:
        """Names of registered models."""
        return sorted({mv.name for mv in self.models()})

    def set_intended_use(self, ref: str, text: str) -> ModelVersion:
        """Set the intended-use text shown on a version's model card."""
        self._require("edit_card")
        with self.store.write() as con:
            mv = model_store.resolve(con, ref)
            model_store.set_intended_use(con, mv, text, self.actor)
        return self.model(mv.ref)

    # -- aliases -----------------------------------------------------------------------------

    def aliases(self, name: str) -> dict[str, int]:
        """A model's aliases now: alias -> version."""
        with self.store.read() as con:
            return {a: v for (_, a), v in alias_store.current_aliases(con, name).items()}

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasMove]:
        """Every move of a model's aliases (or one alias), oldest first."""
        with self.store.read() as con:
            return alias_store.history(con, name, alias)

    def alias_at(self, name: str, alias: str, when: datetime | str) -> ModelVersion | None:
        """The version that held ``alias`` at ``when`` (None if the alias was unset then)."""
        when = datetime.fromisoformat(when) if isinstance(when, str) else when
        with self.store.read() as con:
            version = alias_store.holder_at(con, name, alias, when)
            return None if version is None else model_store.get_version(con, name, version)

    def set_alias(self, ref: str, alias: str, reason: str | None = None) -> AliasMove:
        """Point ``alias`` at the version ``ref`` names, directly (approver; no proposal)."""
        self._require("move_alias")
        alias_store.validate_alias(alias)
        with self.store.write() as con:
            mv = model_store.resolve(con, ref)
            move = alias_store.move_alias(con, mv.name, alias, mv.version, self.actor, reason)
        self.sync_mlflow(mv.name)
        return move

    def remove_alias(self, name: str, alias: str, reason: str | None = None) -> AliasMove:
        """Unset an alias (approver); the removal is kept in its history."""
        self._require("move_alias")
        with self.store.write() as con:
            if alias_store.holder(con, name, alias) is None:
                raise InputError(f"{name} has no alias {alias!r}")
            move = alias_store.move_alias(con, name, alias, None, self.actor, reason)
        self.sync_mlflow(name)
        return move

    def sync_mlflow(self, name: str) -> None:
        """Make the MLflow registry's aliases of ``name`` match the workbench's."""
        if not self.settings.registry.mlflow:
            return
        from .mlflow_registry import sync_aliases

        versions = {mv.version: mv.mlflow_version for mv in self.models(name)}
        if not any(versions.values()):
            return
        wanted = {a: versions[v] for a, v in self.aliases(name).items() if versions.get(v)}
        try:
            sync_aliases(self.mlflow_tracking_uri, name, wanted)
        except Exception as exc:
            raise _mlflow_error(
                f"aliases of {name} changed in the workbench, but MLflow was not updated "
                f"(repair: workbench models sync {name})",
                exc,
            ) from exc

    def model_uri(self, ref: str) -> str:
        """The MLflow URI that loads a version: ``models:/NAME@ALIAS`` or ``models:/NAME/N``."""
        parsed = model_store.parse_model_ref(ref)
        mv = self.model(ref)
        if not mv.mlflow_version:
            raise InputError(f"{mv.ref} is not mirrored to the MLflow registry")
        if parsed.alias:
            return f"models:/{mv.name}@{parsed.alias}"
        return f"models:/{mv.name}/{mv.mlflow_version}"

    # -- lineage and cards -------------------------------------------------------------------

    def lineage(self, ref: str) -> LineageNode:
        """Version <- run <- snapshot <- parent snapshots <- source files, with hashes."""
        from .lineage import build_lineage

        return build_lineage(self, self.model(ref))

    def model_card(self, ref: str) -> str:
        """The Markdown model card of a version."""
        from .cards import model_card

        return model_card(self, self.model(ref))

    # -- proposals and decisions -------------------------------------------------------------

    def gate_results(self, ref: str) -> Evidence:
        """Run the promotion gates for a version now, without filing anything."""
        from .evidence import promotion_evidence

        return promotion_evidence(self, self.model(ref), None)

    def propose_promotion(
        self,
        ref: str,
        to_alias: str = CHAMPION,
        reason: str | None = None,
        *,
        training_data: dict | None = None,
        progress: Progress = NULL_PROGRESS,
    ) -> Decision:
        """Run the gates for a version and file a proposal to point ``to_alias`` at it.

        The proposal is filed whether or not the gates pass (failed gates need an override to
        approve); its evidence carries the gate results and both models' metrics. Each gate
        step is a ``progress`` phase; cancelling files nothing.
        """
        from .evidence import promotion_evidence

        self._require("propose")
        alias_store.validate_alias(to_alias)
        mv = self.model(ref)
        if self.aliases(mv.name).get(to_alias) == mv.version:
            raise InputError(f"{mv.ref} already holds {to_alias}")
        evidence = promotion_evidence(self, mv, reason, training_data, progress)
        with self.store.write() as con:
            return decision_store.file_proposal(
                con, "promote", mv.name, mv.version, to_alias, evidence, self.actor
            )

    def propose_retrain(
        self,
        from_ref: str = f"@{CHAMPION}",
        reason: str | None = None,
        data: list[str] | None = None,
    ) -> Decision:
        """File a proposal to retrain from a version (approving it runs ``retrain``)."""
        self._require("propose")
        mv = self.model(_default_name(self, from_ref))
        evidence = Evidence(reason=reason, challenger=mv.ref,
                            training_data={"from": mv.ref, "data": list(data or [])})  # fmt: skip
        with self.store.write() as con:
            return decision_store.file_proposal(
                con, "retrain", mv.name, mv.version, None, evidence, self.actor
            )

    def decisions(self, status: str | None = None, name: str | None = None) -> list[Decision]:
        """Proposals and decisions, newest first (``status``: pending, approved, rejected)."""
        with self.store.read() as con:
            return decision_store.list_decisions(con, status, name)

    def decision(self, decision_id: int | str) -> Decision:
        """One proposal or decision with its evidence."""
        with self.store.read() as con:
            return decision_store.get_decision(con, _decision_id(decision_id))

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
        self._require("approve")  # before the decision is looked up, as for every action
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
        self._require("approve")
        self._check_four_eyes(decision)

    def _check_four_eyes(self, decision: Decision) -> None:
        if self.settings.registry.four_eyes and decision.proposed_by == self.actor:
            raise PermissionDenied(
                f"decision {decision.id} was proposed by {self.actor}; with [registry] "
                "four_eyes on, another approver must approve it",
                hint="rejecting it withdraws it",
            )

    def _approve_move(self, decision: Decision, comment: str | None, override: bool) -> Decision:
        reason = comment or decision.reason
        with self.store.write() as con:
            move = alias_store.move_alias(
                con, decision.model_name, decision.alias, decision.version, self.actor, reason,
                decision.id, rollback=decision.kind == "rollback",
            )  # fmt: skip
            result = {"alias": move.alias, "from": move.from_version, "to": move.to_version}
            closed = decision_store.close_decision(
                con, decision, "approved", self.actor, comment, override, result
            )
        self.sync_mlflow(decision.model_name)
        return closed

    def _approve_retrain(self, decision: Decision, comment: str | None, progress) -> Decision:
        data = (decision.evidence.training_data or {}).get("data") or None
        from_ref = (decision.evidence.training_data or {}).get(
            "from"
        ) or decision.evidence.challenger
        proposal = self.retrain(from_ref, data=data, reason=decision.reason, progress=progress)
        with self.store.write() as con:
            return decision_store.close_decision(
                con, decision, "approved", self.actor, comment, result={"proposal": proposal.id}
            )

    def reject(self, decision_id: int | str, comment: str) -> Decision:
        """Reject a pending proposal with a comment (approver)."""
        self._require("reject")
        if not (comment and comment.strip()):
            raise InputError("a rejection needs a comment saying why")
        decision = self._pending(decision_id)
        with self.store.write() as con:
            return decision_store.close_decision(con, decision, "rejected", self.actor, comment)

    def _pending(self, decision_id: int | str) -> Decision:
        decision = self.decision(decision_id)
        if decision.status != "pending":
            raise InputError(f"decision {decision.id} is already {decision.status}")
        return decision

    def rollback(self, name: str, reason: str | None = None) -> Decision:
        """Move ``champion`` back to its previous holder.

        An approver's rollback happens now (recorded as an approved decision); anyone else with
        at least the developer role files a rollback proposal instead.
        """
        self._require("propose")
        target = self._previous_champion(name)
        current = self.aliases(name).get(CHAMPION)
        evidence = Evidence(
            reason=reason,
            challenger=f"{name}@v{target}",
            champion=f"{name}@v{current}",
            metrics=self._run_metrics(name, current, target),
        )
        direct = self.can("rollback")
        with self.store.write() as con:
            decision = decision_store.file_proposal(
                con, "rollback", name, target, CHAMPION, evidence, self.actor
            )
        return self._approve_move(decision, reason, False) if direct else decision

    def _previous_champion(self, name: str) -> int:
        moves = self.alias_history(name, CHAMPION)
        if not moves or moves[-1].to_version is None:
            raise InputError(f"{name} has no champion to roll back")
        previous = alias_store.previous_holder(moves)
        if previous is None:
            current = moves[-1].to_version
            raise InputError(f"{name}@v{current} was the first champion; nothing to roll back to")
        return previous

    def _run_metrics(self, name: str, *versions: int | None) -> dict[str, dict[str, float]]:
        """The recorded holdout metrics of versions' runs: champion first, then challenger."""
        out = {}
        for role, version in zip(("champion", "challenger"), versions, strict=True):
            if version is not None:
                out[role] = self.run(self.model(f"{name}@v{version}").run_id).metrics
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

        self._require("retrain")
        base = self.model(_default_name(self, from_ref))
        run = self.run(base.run_id)
        if not run.snapshot_ref or not run.spec:
            raise InputError(f"run {run.id} has no recorded training data or spec")
        base_snap = self.snapshot(run.snapshot_ref)
        batches = (
            [self.snapshot(r) for r in data]
            if data
            else default_batches(self, base_snap, run.target)
        )
        snap = build_training_snapshot(self, base_snap, batches)
        new_run = self._train_like(run, snap.ref, f"retrain of {base.ref}", progress)
        mv = self.register_model(new_run.id, base.name)
        training = {"rule": "champion's data + labelled batches", "from": base.ref,
                    "base_snapshot": base_snap.ref, "batches": [b.ref for b in batches],
                    "snapshot": snap.ref, "run": new_run.id}  # fmt: skip
        why = reason or f"retrained {base.ref} on {snap.ref}"
        return self.propose_promotion(
            mv.ref, to_alias, why, training_data=training, progress=progress
        )

    def _train_like(self, run: RunRecord, ref: str, note: str, progress: Progress) -> RunRecord:
        spec = run.spec
        return self.train(
            ref, spec["target"], task=spec.get("task", "auto"), params=spec.get("params") or {},
            split=spec.get("split", "random"), test_size=spec.get("test_size", 0.2),
            seed=spec.get("seed", 42), time_column=spec.get("time_column"),
            exclude=spec.get("exclude"), note=note, progress=progress,
            mlflow=self.settings.registry.mlflow,
        )  # fmt: skip


def _decision_id(value: int | str) -> int:
    text = str(value).strip().lower().removeprefix("decision").strip().lstrip("#")
    if not text.isdigit():
        raise InputError(f"not a decision id: {value!r}")
    return int(text)


def _default_name(ws: RegistryMixin, ref: str) -> str:
    """``@alias`` alone means that alias of the only registered model."""
    if not ref.startswith("@"):
        return ref
    names = ws.model_names()
    if len(names) != 1:
        raise InputError(
            f"say which model: NAME{ref}", hint=f"models: {', '.join(names) or 'none'}"
        )
    return names[0] + ref


def _with_aliases(mv: ModelVersion, held: dict) -> ModelVersion:
    mv.aliases = sorted(a for (n, a), v in held.items() if n == mv.name and v == mv.version)
    return mv
