"""Shadow and canary rollouts: verdicts (how each shadow or canary version compares with the
champion on the rows they served) and the canary ramp (the canary's share of traffic, the
guards that stop it, the proposals that promote it or roll it back).

``RolloutService(ctx, registry, references, clock=...)`` is built with the workspace
``Context``, the registry (aliases, roles, proposals) and the references
(``reading.ReferenceService``), and reads the prediction log with its labels like the
windows do; ``clock`` returns an aware UTC datetime and is injected so tests never sleep.
``MonitoringService``'s check guards a ramping canary through ``guard_canary``.

What is stored (``0009_monitoring.sql``), and why:

* ``deployment_settings``: the canary's traffic share the scoring server reads; append-only,
  the newest row per model and key in force.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from . import repository as repo
from .reading import log_frame, model_name, utcnow
from .records import DeploymentSetting

if TYPE_CHECKING:
    import polars as pl

    from ..context import Context
    from ..registry.service import RegistryService
    from .reading import ReferenceService
    from .verdict import Verdict
    from .windows import VersionReference

__all__ = ["CANARY_KEY", "RampResult", "RolloutService", "canary_value"]

#: the deployment setting the scoring server reads for the canary's share of traffic
CANARY_KEY = "canary"


@dataclass
class RampResult:
    """What one step of the canary ramp decided."""

    model: str
    version: int | None
    fraction: float
    action: str
    guards: list[dict[str, Any]] = field(default_factory=list)
    decision_id: int | None = None
    message: str = ""


class RolloutService:
    """Shadow and canary verdicts and the canary ramp."""

    def __init__(
        self,
        ctx: Context,
        registry: RegistryService,
        references: ReferenceService,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.ctx = ctx
        self.registry = registry
        self.references = references
        self.clock = clock

    def _settings(self) -> Any:
        return self.ctx.settings.monitoring

    # -- verdicts ------------------------------------------------------------------------------

    def verdicts(self, model: str | None = None, since: datetime | None = None) -> list[Verdict]:
        """Champion against every shadow and canary version that served: agreement, metric
        difference with its interval, McNemar's test, rows still needed."""
        import polars as pl

        from .policies import metric_of, policy_from_settings
        from .verdict import verdict

        name = model_name(self.registry, model)
        frame = log_frame(self.ctx, name, since=since, request_ids=True)
        if frame.height == 0:
            return []
        champ_rows = frame.filter(pl.col("role") == "champion")
        if champ_rows.height == 0:
            return []
        champ_version = int(champ_rows["version"].mode().sort()[-1])
        ref = self.references.reference(name, champ_version)
        metric = metric_of(policy_from_settings(self._settings()), ref)
        out = []
        others = frame.filter(pl.col("role").is_in(["shadow", "canary"]))
        for (role, version), rows in sorted(
            others.partition_by(["role", "version"], as_dict=True).items()
        ):
            other_ref = self.references.reference(name, int(version))
            paired = role == "shadow"
            if paired:
                both = champ_rows.join(rows, on="request_id", suffix="_b")
                a = _sides(both, ref, "")
                b = _sides(both.rename({"label": "__l", "label_b": "label"}), other_ref, "_b")
                b["y"] = a["y"]
            else:
                lo, hi = rows["time"].min(), rows["time"].max()
                same = champ_rows.filter(pl.col("time").is_between(lo, hi))
                a, b = _sides(same, ref, ""), _sides(rows, other_ref, "")
            v = verdict(f"{name}@v{champ_version}", f"{name}@v{version}", str(role), metric,
                        a, b, paired=paired, rows=rows.height)  # fmt: skip
            if not paired:
                v.agreement = None
            out.append(v)
        return out

    # -- canary ramp ---------------------------------------------------------------------------

    def deployment(self, model: str | None = None) -> DeploymentSetting | None:
        """The canary setting in force for a model (what the scoring server reads)."""
        with self.ctx.store.read() as con:
            return repo.current_setting(con, model_name(self.registry, model), CANARY_KEY)

    def deployment_history(self, model: str | None = None) -> list[DeploymentSetting]:
        """Every canary setting a model had, oldest first."""
        with self.ctx.store.read() as con:
            return repo.setting_history(con, model_name(self.registry, model), CANARY_KEY)

    def _canary(self, model: str) -> dict[str, Any] | None:
        setting = self.deployment(model)
        if setting is None or not setting.value or setting.value.get("state") != "ramping":
            return None
        return dict(setting.value)

    def _set_canary(
        self, model: str, value: dict[str, Any], reason: str, decision_id: int | None = None
    ) -> DeploymentSetting:
        actor = self.ctx.actor
        with self.ctx.store.write() as con:
            setting = repo.insert_setting(con, model, CANARY_KEY, value, actor, reason,
                                          decision_id)  # fmt: skip
            self.ctx.audit(con, "deployment.canary", model, {**value, "reason": reason},
                           rows=[("deployment_settings", setting.id)], actor=actor)  # fmt: skip
        return setting

    def start_canary(self, ref: str, reason: str | None = None) -> DeploymentSetting:
        """Point the ``canary`` alias at a version and start the ramp at its first step
        (approver: traffic moves)."""
        self.registry.require("move_alias")
        mv = self.registry.get(ref)
        if self.registry.aliases(mv.name).get("champion") == mv.version:
            raise InputError(f"{mv.ref} is the champion; a canary is another version")
        steps = self._settings().canary.steps
        if self.registry.aliases(mv.name).get("canary") != mv.version:
            self.registry.set_alias(mv.ref, "canary", reason or "canary ramp")
        value = canary_value(mv.name, mv.version, steps[0], 0, "ramping")
        value["started_at"] = self.clock().isoformat()
        return self._set_canary(mv.name, value, reason or f"canary {mv.ref} at {steps[0]:g}%")

    def stop_canary(self, model: str | None = None, reason: str = "stopped") -> DeploymentSetting:
        """Send no more traffic to the canary (anyone who may propose: a safety action)."""
        self.registry.require("propose")
        name = model_name(self.registry, model)
        current = self.deployment(name)
        version = (current.value or {}).get("version") if current else None
        return self._set_canary(name, canary_value(name, version, 0.0, None, "stopped"), reason)

    def guard_canary(self, model: str | None = None, *, advance: bool = False) -> RampResult:
        """Check the canary's guards on the rows served since its step began. A breached
        guard stops it (share 0) and files a rollback proposal with the evidence; with
        ``advance`` and every guard passing on enough rows, the ramp moves to its next step,
        and past the last step a promotion proposal is filed."""
        name = model_name(self.registry, model)
        state = self._canary(name)
        if state is None:
            return RampResult(name, None, 0.0, "none", message=f"{name} has no canary ramping")
        version, step = int(state["version"]), int(state["step"])
        guards, rows = self._guards(name, version, state)
        breached = [g for g in guards if g["passed"] is False]
        result = RampResult(name, version, float(state["fraction"]), "hold", guards)
        if breached:
            why = "; ".join(g["message"] for g in breached)
            self.stop_canary(name, f"guard breached: {why}")
            evidence = {"guards": guards, "state": state,
                        "command": f"workbench monitor canary status --model {name}"}  # fmt: skip
            decision = self.registry.propose_rollback(
                name, f"canary {name}@v{version}: {why}", alias="canary", monitoring=evidence
            )
            result.action, result.fraction, result.decision_id = "aborted", 0.0, decision.id
            result.message = f"canary stopped, rollback proposal {decision.id}: {why}"
            return result
        settings = self._settings().canary
        if not advance:
            result.message = f"{rows} canary rows at {state['fraction']:g}%; guards pass"
            return result
        if rows < settings.min_rows:
            result.message = f"{rows} of {settings.min_rows} canary rows needed at this step"
            return result
        steps = settings.steps
        # A step of 100% is the promotion itself: the champion alias moves (a canary share of
        # 1 is not a canary, and the server refuses it).
        if step + 1 < len(steps) and steps[step + 1] < 100:
            self.registry.require("move_alias")
            value = {**state, **canary_value(name, version, steps[step + 1], step + 1, "ramping"),
                     "step_started_at": self.clock().isoformat()}  # fmt: skip
            self._set_canary(name, value, f"ramp to {steps[step + 1]:g}%: guards pass")
            result.action, result.fraction = "advanced", float(steps[step + 1])
            result.message = f"canary {name}@v{version} now at {steps[step + 1]:g}%"
            return result
        decision = self.registry.propose_promotion(
            f"{name}@v{version}", "champion", f"canary ramp completed: {rows} rows, guards pass"
        )
        value = {**state, **canary_value(name, version, float(state["fraction"]), step,
                                          "completed")}  # fmt: skip
        self._set_canary(name, value, f"ramp completed; promotion proposal {decision.id}",
                         decision.id)  # fmt: skip
        result.action, result.decision_id = "completed", decision.id
        result.message = f"ramp completed; promotion proposal {decision.id} filed"
        return result

    def _guards(
        self, model: str, version: int, state: dict[str, Any]
    ) -> tuple[list[dict[str, Any]], int]:
        import polars as pl

        from .policies import metric_of, policy_from_settings
        from .windows import LOWER_IS_BETTER, error_expression

        since_text = state.get("step_started_at") or state.get("started_at")
        since = datetime.fromisoformat(since_text) if since_text else None
        frame = log_frame(self.ctx, model, since=since)
        settings = self._settings().canary
        canary = frame.filter((pl.col("role") == "canary") & (pl.col("version") == version))
        guards: list[dict[str, Any]] = []
        rows = canary.height
        if rows == 0:
            return guards, 0
        errors = float(canary.select(error_expression().mean()).item() or 0.0)
        guards.append({"guard": "error_rate", "value": errors, "limit": settings.max_error_rate,
                       "passed": errors <= settings.max_error_rate,
                       "message": f"canary error rate {errors:.1%}"})  # fmt: skip
        if settings.max_latency_p99_ms is not None:
            p99 = canary["latency_ms"].quantile(0.99)
            ok = p99 is None or p99 <= settings.max_latency_p99_ms
            guards.append({"guard": "latency", "value": p99, "limit": settings.max_latency_p99_ms,
                           "passed": ok, "message": f"canary p99 latency {p99} ms"})  # fmt: skip
        champ = frame.filter(pl.col("role") == "champion")
        if champ.height and rows >= self._settings().min_rows:
            champ_version = int(champ["version"].mode().sort()[-1])
            refs = self.references
            ref_c, ref_k = refs.reference(model, champ_version), refs.reference(model, version)
            metric = metric_of(policy_from_settings(self._settings()), ref_c)
            value_c = _window_metric(champ.filter(pl.col("version") == champ_version), ref_c,
                                     metric)  # fmt: skip
            value_k = _window_metric(canary, ref_k, metric)
            if value_c is not None and value_k is not None:
                drop = value_k - value_c if metric in LOWER_IS_BETTER else value_c - value_k
                guards.append({"guard": "metric_drop", "metric": metric, "value": drop,
                               "limit": settings.max_metric_drop,
                               "passed": drop <= settings.max_metric_drop,
                               "message": f"canary {metric} {value_k:.3f} vs champion "
                                          f"{value_c:.3f}"})  # fmt: skip
        return guards, rows


def _window_metric(rows: pl.DataFrame, ref: VersionReference, metric: str) -> float | None:
    """The metric on ``rows``: realized where labels exist, else estimated."""
    from .windows import column_types, drift_options, window_figures

    fig = window_figures(rows, ref, options=drift_options(None),
                         types=column_types(ref.stats, ref.features), key="guard", start=None,
                         end=None, role="guard")  # fmt: skip
    return fig.performance(metric)[0]


def _sides(frame: pl.DataFrame, ref: VersionReference, suffix: str) -> dict[str, Any]:
    """Aligned arrays (y, pred, score) of one model's rows for a verdict."""
    import numpy as np
    import polars as pl

    if ref.task == "binary":
        positive = ref.positive
        score = frame[f"score{suffix}"].cast(pl.Float64).to_numpy()
        said = frame[f"predicted_label{suffix}"]
        pred = np.where(said.is_null().to_numpy(), (score >= 0.5).astype(float),
                        (said == positive).cast(pl.Float64).fill_null(0).to_numpy())  # fmt: skip
        label = frame["label"]
        y = np.where(label.is_null().to_numpy(), np.nan,
                     (label == positive).cast(pl.Float64).fill_null(0).to_numpy())  # fmt: skip
        return {"y": y, "pred": pred, "score": score}
    score = frame[f"value{suffix}"].cast(pl.Float64).to_numpy()
    y = frame["label"].cast(pl.Float64, strict=False).to_numpy()
    return {"y": y, "pred": np.full(len(score), np.nan), "score": score}


def canary_value(
    model: str, version: int | None, percent: float, step: int | None, state: str
) -> dict[str, Any]:
    """The ``canary`` deployment setting: the version (``canary``: its ref) and its share of
    traffic, as a percent (``fraction``, for people) and as the 0-1 fraction a scoring
    server's deployment takes (``canary_fraction``). A stopped canary gets 0; a completed ramp
    keeps its last share while its promotion proposal waits for an approver."""
    share = percent if state in ("ramping", "completed") else 0.0
    return {
        "canary": f"{model}@v{version}" if version is not None else None, "version": version,
        "fraction": share, "canary_fraction": share / 100, "step": step, "state": state,
    }  # fmt: skip
