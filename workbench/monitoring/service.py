"""The monitoring service: late labels, windows of the prediction log, policies, and the
check that judges new windows, fires and resolves alerts, files retraining proposals and
guards a ramping canary.

Built with the workspace ``Context`` and the services it reads: snapshots (the key column of
a model's training data), the registry (model versions, their runs, proposals), the
references (``reading.ReferenceService``: each model version's fitted estimator and the
statistics its windows are judged against), the alerts (``alerting.AlertService``: a
check's transitions queue their notifications there, and it delivers them) and the rollouts
(``rollout.RolloutService``: shadow/canary verdicts and the canary ramp, whose guards a
check runs). ``MonitoringService(ctx, snapshots, registry, references, alerting, rollout,
clock=...)``; ``clock`` returns an aware UTC datetime and is injected so tests never sleep.

What is stored (``0009_monitoring.sql``), and why:

* ``labels`` / ``label_imports``: ground truth by entity key, corrections as new versions.
* ``monitor_references`` (written by ``ReferenceService``): per model version, the fitted
  CBPE/DLE and the statistics of its holdout predictions, as content-addressed objects (fitted
  once, reused for every window).
* ``monitor_windows``: each window's newest judgement and a digest of its inputs (rows,
  labelled rows, newest time), so ``check`` judges only new or changed windows.
* ``alerts`` (+ ``alert_events``): a check fires and resolves them in the transaction that
  saves its windows, with their notifications (``outbox``); see ``alerting.py``.
* ``deployment_settings``: the canary's traffic share; see ``rollout.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..progress import NULL_PROGRESS, Progress
from . import repository as repo
from .alerting import fingerprint
from .reading import log_frame, model_name, utcnow
from .records import Breach, CheckResult, MonitorReport

if TYPE_CHECKING:
    import duckdb
    import polars as pl

    from ..context import Context
    from ..registry.service import RegistryService
    from ..snapshots.service import SnapshotService
    from .alerting import AlertService
    from .labels import LabelReport
    from .policies import Policy
    from .reading import ReferenceService
    from .rollout import RolloutService
    from .windows import WindowFigures

__all__ = [
    "BacktestRequest",
    "BacktestResult",
    "CheckRequest",
    "LabelRequest",
    "MonitoringService",
    "ReportRequest",
]

#: log columns no window figure reads (dropped before a window's rows are made contiguous)
_NOT_FIGURES = ("time", "model", "request_id", "entity_key")


@dataclass(frozen=True)
class LabelRequest:
    """``monitor labels FILE --key COL [--label COL] [--time COL] [--model NAME]``; the label
    column defaults to the model's target."""

    path: Path | str
    key: str
    label: str | None = None
    time: str | None = None
    model: str | None = None


@dataclass(frozen=True)
class ReportRequest:
    """``monitor report``: one model's windows (``by``: hour, day, week, month, batch;
    default from the settings), optionally within ``[since, until)``."""

    model: str | None = None
    by: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class CheckRequest:
    """``monitor check``: judge new windows, move alerts, file a retraining proposal.

    ``tick`` names a scheduled run (a repeated tick does nothing); ``deliver`` sends the
    notifications queued (and any due for retry) before returning.
    """

    model: str | None = None
    tick: str | None = None
    deliver: bool = True
    #: judge as of this time (replaying history, as the demo does); default: the clock
    now: datetime | None = None


@dataclass(frozen=True)
class BacktestRequest:
    """``monitor backtest``: replay policies (the settings', with ``overrides``) over the
    logged history."""

    model: str | None = None
    by: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass
class BacktestResult:
    """When policies would have fired and resolved, and the retraining proposals they would
    have filed, window by window."""

    model: str
    window: str
    policy: dict[str, Any]
    #: one row per window: key, breaches, firing (policy/subject), fired, resolved, retrain
    timeline: list[dict[str, Any]]
    retrainings: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"model": self.model, "window": self.window, "policy": self.policy,
                "timeline": self.timeline, "retrainings": self.retrainings}  # fmt: skip


@dataclass
class _Judgement:
    """One check's findings: the windows' breaches, what fires now, and its result."""

    model: str
    history: list[tuple[str, list[Breach]]]
    firing: dict[tuple[str, str], Breach]
    now: datetime
    result: CheckResult


class MonitoringService:
    """Labels, windows, policies, and the check (with the alerts it moves), its schedule and
    its backtest."""

    def __init__(
        self,
        ctx: Context,
        snapshots: SnapshotService,
        registry: RegistryService,
        references: ReferenceService,
        alerting: AlertService,
        rollout: RolloutService,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.ctx = ctx
        self.snapshots = snapshots
        self.registry = registry
        self.experiments = registry.experiments
        self.references = references
        self.alerting = alerting
        self.rollout = rollout
        self.clock = clock

    # -- settings ------------------------------------------------------------------------------

    def _settings(self) -> Any:
        return self.ctx.settings.monitoring

    def policy(self, **overrides: Any) -> Policy:
        """The workspace's policy, with ``overrides`` (``drift_share=0.3``, ...)."""
        from .policies import policy_from_settings

        return policy_from_settings(self._settings()).with_overrides(**overrides)

    # -- replaying batches through the log -----------------------------------------------------

    def log_batch(
        self,
        ref: str,
        frame: pl.DataFrame,
        *,
        role: str = "champion",
        key: str | None = None,
        time_column: str | None = None,
        at: datetime | None = None,
        route: str | None = None,
        request_prefix: str = "batch",
        latency_ms: float | None = None,
    ) -> int:
        """Score ``frame`` with a model version and write one prediction-log row per row
        (through the log's Parquet writer), as batch scoring does; the rows' times come from
        ``time_column`` (dates at noon UTC) or ``at``, their latency is the measured scoring
        time per row unless ``latency_ms`` is given. Returns the rows logged."""
        import time as _time

        import polars as pl

        from ..serving.predlog import Prediction
        from ..serving.predlog_sink import ParquetSink

        mv = self.registry.get(ref)
        run = self.experiments.get(mv.run_id)
        scorer = self.experiments.model(run.id)
        meta = scorer.meta
        started = _time.perf_counter()
        scores = scorer.predict(frame)
        per_row_ms = (_time.perf_counter() - started) * 1000 / max(frame.height, 1)
        if latency_ms is not None:
            per_row_ms = latency_ms
        key = key or self.snapshots_key(run)
        if time_column is not None:
            stamps = _seconds(frame[time_column])
        else:
            moment = (at or self.clock()).timestamp()
            stamps = [moment] * frame.height
        inputs = frame.select([f for f in meta.features if f in frame.columns])
        sink = ParquetSink.for_workspace(self.ctx.root)
        sink.declare_inputs(mv.name, mv.version, dict(inputs.schema))
        keys = frame[key].cast(pl.String).to_list() if key and key in frame.columns else None
        rows = []
        for i, values in enumerate(inputs.iter_rows(named=True)):
            entity = keys[i] if keys else None
            score = float(scores[i]) if meta.task != "multiclass" else None
            label = None
            if meta.task == "binary" and meta.classes:
                label = str(meta.classes[1] if score >= 0.5 else meta.classes[0])  # type: ignore[operator]
            rows.append(Prediction(
                f"{request_prefix}-{entity if entity is not None else i}", mv.name, mv.version,
                values, predicted_label=label, score=score if meta.task == "binary" else None,
                value=score if meta.task == "regression" else None, role=role, route=route,
                entity_key=entity, latency_ms=per_row_ms, time=stamps[i],
            ))  # fmt: skip
        if rows:
            sink.export(rows)
        return len(rows)

    def snapshots_key(self, run: Any) -> str | None:
        """The key column of a run's training snapshot (None when it has none)."""
        if not run.snapshot_ref:
            return None
        return self.snapshots.get(run.snapshot_ref).key_column

    # -- labels --------------------------------------------------------------------------------

    def import_labels(self, request: LabelRequest) -> LabelReport:
        """Join late ground truth to logged predictions by key (idempotent; corrections are
        new label versions) and report coverage, label lag and unmatched keys."""
        from ..objects import hash_file
        from .labels import LabelReport, read_labels, split_changes

        self.registry.require("propose")
        model = model_name(self.registry, request.model)
        path = Path(request.path).expanduser()
        label_column = request.label or self._target(model)
        now = self.clock()
        incoming, duplicates = read_labels(path, request.key, label_column, request.time, now=now)
        with self.ctx.store.read() as con:
            current = repo.current_labels(con, model, incoming)
        rows, unchanged = split_changes(incoming, current)
        added = int(rows["is_new"].sum())
        corrected = rows.height - added
        report = LabelReport(model, str(path), incoming.height, added, corrected, unchanged, 0,
                             duplicates_in_file=duplicates)  # fmt: skip
        if rows.height:
            digest = hash_file(path.resolve())
            actor = self.ctx.actor
            with self.ctx.store.write() as con:
                import_id = repo.insert_label_import(
                    con, model, str(path), digest, (request.key, label_column, request.time),
                    (incoming.height, added, corrected, unchanged), actor,
                )  # fmt: skip
                repo.insert_labels(con, model, rows, import_id)
                self.ctx.audit(con, "labels.imported", model,
                               {"file": str(path), "hash": digest, "added": added,
                                "corrected": corrected, "unchanged": unchanged},
                               rows=[("label_imports", import_id)], actor=actor)  # fmt: skip
            report.import_id = import_id
        self._coverage(model, incoming, report)
        return report

    def _target(self, model: str) -> str:
        champion = self.registry.aliases(model).get("champion")
        mv = self.registry.get(f"{model}@v{champion}" if champion else model)
        if not mv.target:
            raise InputError(f"{mv.ref} has no target column; pass --label COL")
        return mv.target

    def _coverage(self, model: str, incoming: pl.DataFrame, report: LabelReport) -> None:
        import polars as pl

        from ..serving.predlog_read import scan_predictions

        logged = (
            scan_predictions(self.ctx.root, model, dedupe=False)
            .select("entity_key", "time")
            .collect()
        )
        with self.ctx.store.read() as con:
            labels = repo.labels_frame(con, model)
        report.predictions = logged.height
        joined = logged.join(labels, on="entity_key", how="inner")
        report.labelled_predictions = joined.height
        if joined.height:
            lag = ((pl.col("label_time") - pl.col("time")).dt.total_microseconds() / 3.6e9).alias(
                "lag"
            )
            q = joined.select(
                lag.quantile(0.5).alias("p50"), lag.quantile(0.9).alias("p90"),
                lag.max().alias("max"),
            ).row(0, named=True)  # fmt: skip
            report.lag_hours_p50, report.lag_hours_p90 = q["p50"], q["p90"]
            report.lag_hours_max = q["max"]
        keys = logged.get_column("entity_key").drop_nulls().unique()
        unmatched = incoming.filter(~pl.col("entity_key").is_in(keys.implode()))
        report.unmatched = unmatched.height
        report.unmatched_examples = unmatched["entity_key"].head(10).to_list()

    # -- windows -------------------------------------------------------------------------------

    def _window_size(self, by: str | None) -> str:
        from .windows import check_window

        return check_window(by or self._settings().window)

    def report(self, request: ReportRequest, progress: Progress = NULL_PROGRESS) -> MonitorReport:
        """Each window's figures for every version and role that served in it, and the
        policies the champion's windows breach."""
        model = model_name(self.registry, request.model)
        size = self._window_size(request.by)
        # The log is read from the model's own folder: its model column says nothing more.
        frame = log_frame(self.ctx, model, request.since, request.until, model_column=False)
        champion = self.registry.aliases(model).get("champion")
        report = MonitorReport(model, size, champion, [])
        if frame.height == 0:
            report.notes.append(f"no logged predictions for {model}")
            return report
        report.windows = self._figures(frame, size, progress, model=model)
        policy = self.policy()
        for fig in report.windows:
            if fig.role == "champion":
                report.breaches.setdefault(fig.window_key, []).extend(self._breaches(fig, policy))
        for version in sorted({w.version for w in report.windows}):
            report.notes += [
                f"v{version}: {n}" for n in self.references.reference(model, version).notes
            ]
        return report

    def _breaches(self, fig: WindowFigures, policy: Policy) -> list[Breach]:
        from .policies import breaches

        return breaches(fig, policy, self.references.reference(fig.model, fig.version))

    def _figures(
        self,
        frame: pl.DataFrame,
        size: str,
        progress: Progress = NULL_PROGRESS,
        only: set[str] | None = None,
        model: str | None = None,
    ) -> list[WindowFigures]:
        """Figures of every (window, role, version) group of ``frame`` (or of the windows
        ``only`` names), oldest window first, champion first within a window; ``model``
        names the model when ``frame`` has no ``model`` column."""
        from .windows import split_windows

        parts = split_windows(frame, size, self._settings().batch_gap_minutes)
        if only is not None:
            parts = [p for p in parts if p[0] in only]
        return self._part_figures(model or str(frame["model"][0]), parts, progress)

    def _part_figures(
        self, model: str, parts: list[tuple], progress: Progress = NULL_PROGRESS
    ) -> list[WindowFigures]:
        """Figures of each window's (role, version) groups, in ``parts`` order.

        Windows are independent, and their work (Polars, NumPy sorts, the drift engine)
        mostly releases the GIL, so two run at once on threads. The versions' references
        (which may fit and store an estimator) are settled first, on this thread.
        """
        from concurrent.futures import ThreadPoolExecutor

        from ..drift.stats import default_workers
        from .windows import column_types, drift_options, window_figures

        options = drift_options(self._settings().drift_share)
        progress.start("windows", total=len(parts))
        order = {"champion": 0, "canary": 1, "shadow": 2}
        versions = {int(v) for *_, rows in parts for v in rows["version"].unique().to_list()}
        refs = {v: self.references.reference(model, v) for v in sorted(versions)}
        types = {v: column_types(ref.stats, ref.features) for v, ref in refs.items()}

        def one_window(key: str, start: Any, end: Any, rows: pl.DataFrame) -> list[WindowFigures]:
            # The log comes in one chunk per file; every column operation below runs several
            # times faster on contiguous memory than on hundreds of chunks. Columns the figures
            # do not read are left out of the copy (the keys are the costliest to copy).
            rows = rows.drop(_NOT_FIGURES, strict=False).rechunk()
            single = rows["role"].n_unique() == 1 and rows["version"].n_unique() == 1
            groups = (
                {(rows["role"][0], rows["version"][0]): rows}
                if single
                else rows.partition_by(["role", "version"], as_dict=True)
            )
            return [
                window_figures(
                    part,
                    refs[int(version)],
                    options=options,
                    types=types[int(version)],
                    key=key,
                    start=start,
                    end=end,
                    role=str(role),
                )  # fmt: skip
                for (role, version), part in sorted(
                    groups.items(), key=lambda kv: (order.get(str(kv[0][0]), 3), kv[0][1])
                )
            ]

        out: list[WindowFigures] = []
        with ThreadPoolExecutor(min(2, default_workers())) as pool:
            futures = [pool.submit(one_window, *part) for part in parts]
            try:
                for future in futures:
                    progress.check_cancelled()
                    out.extend(future.result())
                    progress.advance()
            finally:
                for future in futures:
                    future.cancel()
        return out

    # -- check ---------------------------------------------------------------------------------

    def check(self, request: CheckRequest, progress: Progress = NULL_PROGRESS) -> CheckResult:
        """Judge new or changed windows, fire and resolve alerts (with notifications in the
        same transaction), file a retraining proposal when a retraining policy fires, guard
        the canary, and deliver what is due."""
        model = model_name(self.registry, request.model)
        now = request.now or self.clock()
        if request.tick:
            with self.ctx.store.read() as con:
                if repo.tick_done(con, model, request.tick):
                    return CheckResult(model, None, 0, 0, skipped=f"tick {request.tick} ran")
        size = self._window_size(None)
        policy = self.policy()
        history, count, saved, labelled = self._judge(model, size, policy, progress)
        from .policies import firing

        firing_now = firing([h[1] for h in history], policy, labelled)
        result = CheckResult(model, None, len(history), count)
        judged = _Judgement(model, history, firing_now, now, result)
        with self.ctx.store.write() as con:
            for key, bounds, digest, report, found in saved:
                repo.save_window(con, model, size, key, bounds, digest, report,
                                 [b.to_dict() for b in found], None)  # fmt: skip
            self._transitions(con, judged)
            result.check_id = repo.insert_check(
                con, model, request.tick, now,
                (len(history), count, len(result.fired), len(result.resolved)), None,
                self.ctx.actor,
            )  # fmt: skip
        result.still_firing = len(firing_now)
        self._maybe_retrain(judged)
        ramp = self.rollout.guard_canary(model)  # action "none" when no canary is ramping
        if ramp.action == "aborted":
            result.proposal_note = (result.proposal_note or "") + f" {ramp.message}".strip()
        if request.deliver:
            result.delivered = self.alerting.deliver()
        with self.ctx.store.read() as con:
            result.pending_notifications = len(repo.notifications(con, "pending", 10_000))
        return result

    def _judge(
        self, model: str, size: str, policy: Policy, progress: Progress
    ) -> tuple[list[tuple[str, list[Breach]]], int, list[tuple], list[bool]]:
        """(history of (window, breaches) oldest first, windows judged now, rows to save,
        whether each window has labels)."""
        import polars as pl

        from .windows import split_windows

        frame = log_frame(self.ctx, model)
        with self.ctx.store.read() as con:
            stored = repo.stored_windows(con, model, size)
        if frame.height == 0:
            kept = [(k, [Breach.from_dict(b) for b in v[2]]) for k, v in stored.items()]
            return kept, 0, [], [False] * len(kept)
        champ = frame.filter(pl.col("role") == "champion")
        parts = split_windows(champ, size, self._settings().batch_gap_minutes)
        changed = []
        meta = {}
        has_labels: list[bool] = []
        for key, start, end, rows in parts:
            summary = {
                "rows": rows.height, "labelled": rows["label"].is_not_null().sum(),
                "newest": rows["time"].max(), "version": rows["version"].unique().sort(),
            }  # fmt: skip
            digest = _digest(summary, policy)
            meta[key] = (digest, (start, end))
            has_labels.append(bool(summary["labelled"]))
            if stored.get(key, ("",))[0] != digest:
                changed.append((key, start, end, rows))
        figures = self._part_figures(model, changed, progress) if changed else []
        fresh: dict[str, tuple[list[dict], list[Breach]]] = {}
        for fig in figures:
            dicts, found = fresh.setdefault(fig.window_key, ([], []))
            dicts.append(fig.to_dict())
            found.extend(self._breaches(fig, policy))
        history = []
        saved = []
        for key, (digest, bounds) in meta.items():
            if key in fresh:
                report, found = fresh[key]
                saved.append((key, bounds, digest, report, found))
            else:
                found = [Breach.from_dict(b) for b in stored[key][2]]
            history.append((key, found))
        return history, len(changed), saved, has_labels

    def _transitions(self, con: duckdb.DuckDBPyConnection, judged: _Judgement) -> None:
        """Fire alerts for newly firing pairs and resolve those that stopped (caller's
        transaction), each with its event, audit entry and notifications."""
        model, firing_now, history = judged.model, judged.firing, judged.history
        now, result = judged.now, judged.result
        open_by_print = {a.fingerprint: a for a in repo.open_alerts(con, model)}
        silences = repo.active_silences(con, now)
        actor = self.ctx.actor
        windows = [k for k, _ in history][-self._settings().of_last :]
        for (policy_name, subject), breach in firing_now.items():
            fp = fingerprint(model, policy_name, subject)
            if fp in open_by_print:
                continue
            evidence = {"windows": windows, "breach": breach.to_dict(),
                        "command": f"workbench monitor report --model {model}"}  # fmt: skip
            alert = repo.insert_alert(con, fp, {
                "model": model, "policy": policy_name, "subject": subject,
                "severity": breach.severity, "message": breach.message, "value": breach.value,
                "threshold": breach.threshold, "window_key": breach.window_key,
            }, evidence, now)  # fmt: skip
            repo.insert_event(con, alert.id, "fired", actor, now, breach.to_dict())
            self.ctx.audit(con, "alert.fired", f"alert {alert.id}",
                           {"model": model, "policy": policy_name, "subject": subject,
                            "window": breach.window_key},
                           rows=[("alerts", alert.id)], actor=actor)  # fmt: skip
            self.alerting.notify(con, alert, "alert.firing", silences, now)
            result.fired.append(alert)
        for alert in open_by_print.values():
            if (alert.policy, alert.subject) in firing_now:
                continue
            resolved = repo.resolve_alert(con, alert.id, now)
            repo.insert_event(con, alert.id, "resolved", actor, now, {"windows": windows})
            self.ctx.audit(con, "alert.resolved", f"alert {alert.id}", {"model": model},
                           rows=[("alerts", alert.id)], actor=actor)  # fmt: skip
            self.alerting.notify(con, resolved, "alert.resolved", silences, now)
            result.resolved.append(resolved)

    def _maybe_retrain(self, judged: _Judgement) -> None:
        model, firing_now, history = judged.model, judged.firing, judged.history
        now, result = judged.now, judged.result
        settings = self._settings()
        causes = [b for (p, _), b in firing_now.items() if p in settings.retrain_on]
        if not causes:
            return
        decisions = [d for d in self.registry.decisions(name=model) if d.kind == "retrain"]
        if any(d.status == "pending" for d in decisions):
            result.proposal_note = "a retraining proposal is already open"
            return
        if decisions:
            last = decisions[0].proposed_at
            last_utc = last.astimezone(UTC) if last.tzinfo else last.astimezone().astimezone(UTC)
            if now - last_utc < timedelta(hours=settings.retrain_cooldown_hours):
                result.proposal_note = f"retraining cooldown since decision {decisions[0].id}"
                return
        champion = self.registry.aliases(model).get("champion")
        if champion is None:
            result.proposal_note = f"{model} has no champion to retrain"
            return
        evidence = {
            "windows": [{"window": k, "breaches": [b.to_dict() for b in found]}
                        for k, found in history[-max(settings.of_last, 3):]],
            "firing": [b.to_dict() for b in causes],
            "policy": self.policy().__dict__ | {"severity": dict(settings.severity)},
            "command": f"workbench monitor report --model {model} --by {settings.window}",
            "check_id": result.check_id,
        }  # fmt: skip
        reason = "monitoring: " + "; ".join(b.message for b in causes[:3])
        decision = self.registry.propose_retrain(f"{model}@v{champion}", reason,
                                                 monitoring=evidence)  # fmt: skip
        result.proposal_id = decision.id
        with self.ctx.store.write() as con:
            con.execute(
                "update monitor_checks set proposal_id = ? where id = ?",
                [decision.id, result.check_id],
            )

    # -- watch and backtest --------------------------------------------------------------------

    def watch(
        self,
        every: str | None = None,
        model: str | None = None,
        *,
        wait: Callable[[float], bool],
        on_check: Callable[[CheckResult], None] = lambda r: None,
        max_ticks: int | None = None,
    ) -> int:
        """Run ``check`` on a schedule until ``wait`` says stop; the number of ticks run."""
        from .schedule import Schedule, parse_period, run_schedule

        schedule = Schedule(parse_period(every or self._settings().schedule))

        def work(tick: str) -> None:
            on_check(self.check(CheckRequest(model, tick=tick)))

        return run_schedule(schedule, work, clock=self.clock, wait=wait, max_ticks=max_ticks)

    def backtest(
        self, request: BacktestRequest, progress: Progress = NULL_PROGRESS
    ) -> BacktestResult:
        """Replay the policies over every logged window: when alerts would have fired and
        resolved, and how many retraining proposals (one open at a time, the cooldown
        counted in windows of logged time) they would have filed."""
        from .policies import firing

        model = model_name(self.registry, request.model)
        size = self._window_size(request.by)
        policy = self.policy(**request.overrides)
        settings = self._settings()
        frame = log_frame(self.ctx, model)
        import polars as pl

        figures = (
            self._figures(frame.filter(pl.col("role") == "champion"), size, progress)
            if frame.height
            else []
        )
        per_window: dict[str, list[Breach]] = {}
        starts: dict[str, datetime | None] = {}
        for fig in figures:
            per_window.setdefault(fig.window_key, []).extend(self._breaches(fig, policy))
            starts.setdefault(fig.window_key, fig.window_start)
        timeline: list[dict[str, Any]] = []
        active: set[tuple[str, str]] = set()
        retrainings = 0
        last_retrain: datetime | None = None
        history: list[list[Breach]] = []
        for key, found in per_window.items():
            history.append(found)
            now_firing = firing(history, policy)
            fired = sorted(set(now_firing) - active)
            resolved = sorted(active - set(now_firing))
            active = set(now_firing)
            retrain = False
            when = starts.get(key)
            # A proposal stays open while its cause keeps firing: a new one needs a new
            # episode of a retraining policy (and the cooldown since the last).
            if any(p in settings.retrain_on for p, _ in fired) and when is not None:
                cooldown = timedelta(hours=settings.retrain_cooldown_hours)
                if last_retrain is None or when - last_retrain >= cooldown:
                    retrain, last_retrain = True, when
                    retrainings += 1
            timeline.append({
                "window": key, "breaches": [b.to_dict() for b in found],
                "firing": [f"{p}:{s}" for p, s in sorted(now_firing)],
                "fired": [f"{p}:{s}" for p, s in fired],
                "resolved": [f"{p}:{s}" for p, s in resolved], "retrain": retrain,
            })  # fmt: skip
        shown = {k: v for k, v in policy.__dict__.items() if k != "severity"}
        return BacktestResult(model, size, shown, timeline, retrainings)


def _seconds(times: pl.Series) -> list[float]:
    """Seconds since the epoch per value; dates count at noon UTC."""
    import polars as pl

    if times.dtype == pl.Date:
        times = times.cast(pl.Datetime("us")) + timedelta(hours=12)
    elif times.dtype == pl.String:
        times = times.str.to_datetime(strict=False)
    if isinstance(times.dtype, pl.Datetime) and times.dtype.time_zone is None:
        times = times.dt.replace_time_zone("UTC")
    return (times.dt.epoch("us") / 1e6).to_list()


def _digest(row: dict[str, Any], policy: Policy) -> str:
    import hashlib

    text = json.dumps([row["rows"], row["labelled"], str(row["newest"]), list(row["version"]),
                       repr(policy)], default=str)  # fmt: skip
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
