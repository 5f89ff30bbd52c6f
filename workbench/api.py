"""``Workspace``: the one door to the workbench for the CLI, the TUI and notebooks.

The facade is thin: each method names what a user does and delegates to one domain service
(``workspace.services``), built once per workspace object from a shared ``Context``:

    snapshots   SnapshotService(ctx)
    experiments ExperimentService(ctx, snapshots)
    drift       DriftService(ctx, snapshots)
    registry    RegistryService(ctx, snapshots, experiments, drift)
    references  ReferenceService(ctx, snapshots, drift, registry)
    alerting    AlertService(ctx, registry)
    rollout     RolloutService(ctx, registry, references)
    monitoring  MonitoringService(ctx, snapshots, registry, references, alerting, rollout)
    integrity   IntegrityService(ctx)
    serving     ServingService(ctx, registry, experiments, snapshots)
    remote      RemoteService(ctx)
    ci          CiService(ctx, registry, remote)

Each call is one unit of work: it opens the store, does its work in a transaction and closes,
so any number of processes can use the same workspace side by side. The record types and
request objects users meet are importable from here too, so faces and notebooks need nothing
else (``from workbench.api import Workspace, TrainRequest, Snapshot``).

In a notebook every record shows as a readable table (``_repr_html_``) and turns into a
Polars frame (``to_polars()``); methods that return several records return a ``RecordList``,
a list that does both (``ws.decisions().to_polars()``). See ``workbench.display``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import audit
from .ci.report import CiReport
from .ci.service import CiDefaults, CiService
from .context import Context
from .display import RecordList
from .drift.service import DriftRequest, DriftService
from .errors import InputError, NotFoundError, PermissionDenied, WorkbenchError
from .experiments.mirror import MirrorOutcome
from .experiments.records import RunInput, RunRecord
from .experiments.service import ExperimentService, SweepRequest, TrainRequest
from .integrity import IntegrityService, VerifyReport
from .locate import WORKBENCH_DIR, find_workspace
from .monitoring.alerting import AlertService
from .monitoring.reading import ReferenceService
from .monitoring.records import (
    Alert,
    Breach,
    CheckResult,
    DeploymentSetting,
    MonitorReport,
    Notification,
    Silence,
)
from .monitoring.rollout import RampResult, RolloutService
from .monitoring.service import (
    BacktestRequest,
    BacktestResult,
    CheckRequest,
    LabelRequest,
    MonitoringService,
    ReportRequest,
)
from .progress import NULL_PROGRESS, Progress
from .registry.aliases import CHAMPION, AliasMove
from .registry.decisions import Decision, Evidence
from .registry.models import ModelVersion
from .registry.service import RegistryService, RollbackPlan
from .remote import PullResult, PushResult, RemoteInfo, RemoteService, RemoteVersion
from .serving.batch import BatchResult, ScoreRequest
from .serving.deployment import DeploymentSpec, new_salt, parse_canary
from .serving.formats import (
    MLFLOW_FORMATS,
    FormatError,
    frame_of_csv,
    records_of_invocation,
    records_of_predict,
)
from .serving.scorer import SMALL_INPUT, EncodingPolicy, FieldError, Scorer, Scores
from .serving.service import ServingService
from .snapshots.importer import AddResult
from .snapshots.records import Snapshot
from .snapshots.service import ImportRequest, SnapshotService, ValidationReport

if TYPE_CHECKING:
    import polars as pl

    from .ci.local import LocalRun, LocalStep
    from .ci.setup import CiFiles
    from .ci.steps import CiConfig
    from .config import Settings
    from .drift.results import DriftOptions, DriftReport
    from .drift.stats import ReferenceStats
    from .experiments.compare import RunComparison
    from .experiments.model import Model
    from .experiments.query import Fields
    from .experiments.training import IterationObserver
    from .monitoring.labels import LabelReport
    from .monitoring.verdict import Verdict
    from .objects import ObjectStore
    from .registry.lineage import LineageNode
    from .serving.dataplane import Answer
    from .serving.session import ServingSession
    from .serving.status import ServerStatus
    from .settings_file import SettingsFileState
    from .snapshots.contract import Contract
    from .snapshots.diff import SnapshotDiff
    from .store import Store

__all__ = [
    "Workspace",
    "Services",
    "find_workspace",
    "init_ci",
    "run_ci_locally",
    "ci_config",
    "gitlab_note",
    "gitlab_issue",
    "WORKBENCH_DIR",
    # records and requests the facade takes and returns
    "AddResult",
    "Alert",
    "AliasMove",
    "AuditEntry",
    "AuditVerdict",
    "BacktestRequest",
    "BacktestResult",
    "Breach",
    "CheckRequest",
    "CheckResult",
    "DeploymentSetting",
    "LabelRequest",
    "MonitorReport",
    "Notification",
    "RampResult",
    "ReportRequest",
    "Silence",
    "CiDefaults",
    "CiReport",
    "Decision",
    "DriftRequest",
    "Evidence",
    "ImportRequest",
    "MirrorOutcome",
    "ModelVersion",
    "RecordList",
    "PullResult",
    "PushResult",
    "RemoteInfo",
    "RemoteVersion",
    "RollbackPlan",
    "RunInput",
    "RunRecord",
    "Snapshot",
    "SweepRequest",
    "TrainRequest",
    "ValidationReport",
    "VerifyReport",
    # errors a notebook may want to catch
    "WorkbenchError",
    "InputError",
    "NotFoundError",
    "PermissionDenied",
    # serving: scorers, deployments, batch scoring, request formats
    "Answer",
    "BatchResult",
    "DeploymentSpec",
    "EncodingPolicy",
    "FieldError",
    "FormatError",
    "MLFLOW_FORMATS",
    "SMALL_INPUT",
    "Scorer",
    "Scores",
    "ScoreRequest",
    "ServerStatus",
    "ServingSession",
    "enable_lean_import",
    "frame_of_csv",
    "new_salt",
    "parse_canary",
    "records_of_invocation",
    "records_of_predict",
]

AuditEntry = audit.AuditEntry
AuditVerdict = audit.AuditVerdict


def enable_lean_import() -> None:
    """Import LightGBM without scikit-learn in this process (scoring and CLI processes; call
    before anything imports LightGBM; see ``experiments.lightgbm_import``)."""
    from .experiments.lightgbm_import import enable_lean_import as enable

    enable()


def __getattr__(name: str) -> Any:
    # record types only the serving faces need, loaded on first use
    if name in ("Answer", "ServingSession", "ServerStatus"):
        from importlib import import_module

        module = {"Answer": "dataplane", "ServingSession": "session", "ServerStatus": "status"}
        return getattr(import_module(f".serving.{module[name]}", __package__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Services:
    """The domain services of one workspace, built over one context (see the module doc)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.snapshots = SnapshotService(ctx)
        self.experiments = ExperimentService(ctx, self.snapshots)
        self.drift = DriftService(ctx, self.snapshots)
        self.registry = RegistryService(ctx, self.snapshots, self.experiments, self.drift)
        self.references = ReferenceService(ctx, self.snapshots, self.drift, self.registry)
        self.alerting = AlertService(ctx, self.registry)
        self.rollout = RolloutService(ctx, self.registry, self.references)
        self.monitoring = MonitoringService(
            ctx, self.snapshots, self.registry, self.references, self.alerting, self.rollout
        )
        self.integrity = IntegrityService(ctx)
        self.serving = ServingService(ctx, self.registry, self.experiments, self.snapshots)
        self.remote = RemoteService(ctx)
        self.ci = CiService(ctx, self.registry, self.remote)


class Workspace:
    """A project's workbench: snapshots, runs, drift, models and decisions in one place."""

    def __init__(self, root: Path | str, *, actor: str | None = None) -> None:
        self.ctx = Context(root, actor)
        self.services = Services(self.ctx)
        self._snapshots = self.services.snapshots
        self._experiments = self.services.experiments
        self._drift = self.services.drift
        self._registry = self.services.registry
        self._alerting = self.services.alerting
        self._rollout = self.services.rollout
        self._monitoring = self.services.monitoring
        self._integrity = self.services.integrity
        self._serving = self.services.serving
        self._remote = self.services.remote
        self._ci = self.services.ci

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    def init(cls, path: Path | str = ".") -> Workspace:
        """Create a workspace in ``path`` (idempotent) and open it."""
        root = Path(path).expanduser().resolve()
        if root.exists() and not root.is_dir():
            raise InputError(f"{root} is not a folder")
        wdir = root / WORKBENCH_DIR
        for sub in ("objects", "tmp", "mlflow", "predictions"):
            (wdir / sub).mkdir(parents=True, exist_ok=True)
        from .config import default_settings_text
        from .settings_file import SETTINGS_FILE

        settings = wdir / SETTINGS_FILE
        if not settings.exists():
            settings.write_text(default_settings_text(), encoding="utf-8")
        ws = cls(root)
        ws.store.migrate()
        ws.ctx.check_settings()  # and remember the file as checked: the next command is fast
        return ws

    @classmethod
    def open(cls, path: Path | str | None = None, *, actor: str | None = None) -> Workspace:
        """Open the workspace at ``path``, from ``WORKBENCH_WORKSPACE``, or found walking up,
        checking its settings; ``actor`` acts under another name (see ``workbench.identity``)."""
        ws = cls(find_workspace(path), actor=actor)
        ws.ctx.check_settings()
        return ws

    @property
    def root(self) -> Path:
        """The project folder (holding ``.workbench``)."""
        return self.ctx.root

    @property
    def dir(self) -> Path:
        """The ``.workbench`` folder."""
        return self.ctx.dir

    @property
    def store(self) -> Store:
        """The metadata store (DuckDB)."""
        return self.ctx.store

    @property
    def objects(self) -> ObjectStore:
        """The content-addressed object store."""
        return self.ctx.objects

    @property
    def settings(self) -> Settings:
        """The workspace's settings (``workbench.toml`` and ``WORKBENCH_*`` variables)."""
        return self.ctx.settings

    @property
    def actor(self) -> str:
        """The name acting (a claimed name this OS account may use, else the account's)."""
        return self.ctx.actor

    @property
    def os_account(self) -> str:
        """The operating-system account running this process (from its uid)."""
        from .processes import os_account

        return os_account()

    def settings_file(self) -> SettingsFileState:
        """The settings file's path, owner and permissions."""
        from .settings_file import file_state

        return file_state(self.dir)

    def pin_settings(self, pinned: bool = True) -> SettingsFileState:
        """Make the settings file read-only (``pinned``) or writable by its owner again."""
        from .settings_file import pin

        return pin(self.dir, pinned)

    def change_token(self) -> int:
        """Changes whenever any process writes to this workspace (cheap: one stat)."""
        return self.ctx.change_token()

    # -- snapshots ---------------------------------------------------------------------------

    def add_snapshot(
        self,
        path: Path | str | ImportRequest,
        name: str | None = None,
        *,
        target: str | None = None,
        time_column: str | None = None,
        key: str | None = None,
        message: str | None = None,
        progress: Progress = NULL_PROGRESS,
    ) -> AddResult:
        """Import a CSV or Parquet file as the next version of ``name`` (or an ImportRequest)."""
        if isinstance(path, ImportRequest):
            request = path
        else:
            if name is None:
                raise InputError("name the snapshot", hint="add_snapshot(path, name)")
            request = ImportRequest(path, name, target, time_column, key, message)
        return self._snapshots.add(request, progress)

    def snapshot(self, ref: str) -> Snapshot:
        """The snapshot a reference names (``churn@v2``, ``churn``, a hash prefix)."""
        return self._snapshots.get(ref)

    def snapshots(self, name: str | None = None) -> RecordList[Snapshot]:
        """All snapshots, or one name's versions, newest first."""
        return RecordList(Snapshot, self._snapshots.all(name))

    def snapshot_table(self) -> pl.DataFrame:
        """All snapshots as a Polars frame (fast for thousands of versions)."""
        return self._snapshots.table()

    def log(self, name_or_ref: str) -> RecordList[Snapshot]:
        """A snapshot and its ancestors (the lineage chain), newest first."""
        return RecordList(Snapshot, self._snapshots.lineage(name_or_ref))

    def object_path(self, snap: Snapshot) -> Path:
        """Where a snapshot's Parquet object lives."""
        return self._snapshots.object_path(snap)

    def scan(self, ref: str | Snapshot) -> pl.LazyFrame:
        """A lazy scan of a snapshot's data."""
        return self._snapshots.scan(ref)

    def load(self, ref: str | Snapshot) -> pl.DataFrame:
        """A snapshot's data as a Polars frame."""
        return self._snapshots.load(ref)

    def diff(self, ref_a: str, ref_b: str, key: str | None = None) -> SnapshotDiff:
        """What changed from ``ref_a`` to ``ref_b``; rows too when a key is known."""
        return self._snapshots.diff(ref_a, ref_b, key)

    def export(self, ref: str, dest: Path | str, fmt: str | None = None) -> Path:
        """Write a snapshot's exact content to ``dest`` as Parquet (bytes as stored) or CSV."""
        return self._snapshots.export(ref, dest, fmt)

    def contract(self, ref: str) -> Contract:
        """The contract inferred from a snapshot (types, nulls, ranges, categories)."""
        return self._snapshots.contract(ref)

    def validate(
        self, path: Path | str, against: str | None = None, contract_file: Path | str | None = None
    ) -> ValidationReport:
        """Check a file against a snapshot's inferred contract or a saved contract file."""
        return self._snapshots.validate(path, against, contract_file)

    def production_batches(self) -> list[str]:
        """Names of the production batches (``prod-*`` snapshots), oldest period first."""
        return self._snapshots.production_batches()

    # -- integrity and audit -----------------------------------------------------------------

    def verify(self, progress: Progress = NULL_PROGRESS) -> VerifyReport:
        """Re-hash every object and check every recorded object exists."""
        return self._integrity.verify(progress)

    def gc(self) -> list[str]:
        """Remove objects no record refers to, and stale temp files; returns removed digests."""
        return self._integrity.gc()

    def audit_log(self, since: datetime | None = None) -> RecordList[audit.AuditEntry]:
        """Recorded state changes, oldest first."""
        return RecordList(audit.AuditEntry, self._integrity.audit_log(since))

    def audit_verify(
        self, anchor: audit.Anchor | str | None = None, key_file: Path | str | None = None
    ) -> audit.AuditVerdict:
        """Problems in the audit chain and the state it covers (plus, given, an anchor
        ``SEQ:HASH`` the chain must still hold and an audit key file); empty when intact.
        The list also says how many entries it checked (``entries``) and the head."""
        return self._integrity.audit_verify(anchor, key_file)

    def audit_anchor(self) -> audit.Anchor | None:
        """The audit log's newest entry (``SEQ:HASH``) to keep outside the workspace."""
        return self._integrity.audit_head()

    def record(self, action: str, subject: str | None = None, **details: Any) -> int:
        """Append an entry to the audit log (used by faces for their own notes)."""
        return self._integrity.record(action, subject, **details)

    # -- experiments -------------------------------------------------------------------------

    @property
    def mlflow_tracking_uri(self) -> str:
        """Where runs are mirrored: ``MLFLOW_TRACKING_URI`` or the workspace's SQLite store."""
        return self._experiments.tracking_uri

    def run_model_uri(self, run_id: int | str) -> str:
        """The MLflow model URI of a run (``runs:/<id>/model``) for ``mlflow.pyfunc.load_model``."""
        return self._experiments.model_uri(run_id)

    def train(
        self,
        ref: str | TrainRequest,
        target: str | None = None,
        *,
        task: str = "auto",
        params: dict[str, Any] | None = None,
        split: str = "random",
        test_size: float = 0.2,
        seed: int = 42,
        time_column: str | None = None,
        exclude: list[str] | None = None,
        note: str | None = None,
        progress: Progress = NULL_PROGRESS,
        on_iteration: IterationObserver | None = None,
        mlflow: bool = True,
        mirror: str = "now",
    ) -> RunRecord:
        """Train LightGBM on a snapshot and record the run; returns the finished run.

        ``ref`` is a snapshot reference (with the options as keywords) or a ``TrainRequest``.
        ``target`` defaults to the snapshot's recorded target; the snapshot's key column is
        excluded from the features and its time column is used for ``split='time'``.
        Failures and cancellation are recorded on the run, then re-raised.

        With ``mlflow`` the run is mirrored to MLflow once it is recorded: by default
        (``mirror="now"``) before this returns, so ``rec.mlflow_run_id`` is there at once; a
        mirror that fails leaves the run finished (``rec.mlflow_state == "failed"``) and
        raises a ``WorkbenchError`` naming it (``exc.run_id``). ``mirror="background"``
        returns as soon as the run is recorded (``mlflow_state == "pending"``) and a detached
        process logs it, as ``workbench train`` does; ``"later"`` leaves it for
        ``sync_mlflow_runs``.
        """
        request = ref if isinstance(ref, TrainRequest) else TrainRequest(
            ref, target, task, dict(params or {}), split, test_size, seed, time_column, exclude,
            note, mlflow, mirror,
        )  # fmt: skip
        return self._experiments.train(request, progress, on_iteration)

    def training_notes(self, request: TrainRequest) -> list[str]:
        """Notes on the columns a training would use (see ``ExperimentService.training_notes``)."""
        return self._experiments.training_notes(request)

    def train_grid(
        self,
        ref: str | SweepRequest,
        grid: dict[str, list[Any]] | None = None,
        *,
        jobs: int = 1,
        target: str | None = None,
        task: str = "auto",
        params: dict[str, Any] | None = None,
        split: str = "random",
        test_size: float = 0.2,
        seed: int = 42,
        time_column: str | None = None,
        exclude: list[str] | None = None,
        note: str | None = None,
        progress: Progress = NULL_PROGRESS,
        on_run: Callable[[RunRecord], None] | None = None,
        mlflow: bool = True,
    ) -> RecordList[RunRecord]:
        """One run per combination of ``grid`` over ``params``; returns them in grid order.

        A combination that fails is recorded as failed and the sweep goes on; cancelling
        stops it. ``jobs > 1`` trains in that many separate processes.
        """
        if isinstance(ref, SweepRequest):
            request = ref
        else:
            base = TrainRequest(
                ref, target, task, dict(params or {}), split, test_size, seed, time_column,
                exclude, note, mlflow,
            )  # fmt: skip
            request = SweepRequest(base, dict(grid or {}), jobs)
        return RecordList(RunRecord, self._experiments.sweep(request, progress, on_run))

    def preload_training(self, mlflow: bool = True) -> None:
        """Load LightGBM (and MLflow) before a training starts (see ``ExperimentService.preload``)."""
        self._experiments.preload(mlflow)

    def rerun(
        self,
        run_id: int | str,
        *,
        progress: Progress = NULL_PROGRESS,
        on_iteration: IterationObserver | None = None,
        mlflow: bool = True,
        mirror: str = "now",
    ) -> RunRecord:
        """Train again with a run's exact spec on the same snapshot (same split, same metrics);
        ``mirror`` as in ``train``."""
        return self._experiments.rerun(
            run_id, progress=progress, on_iteration=on_iteration, mlflow=mlflow, mirror=mirror
        )

    def mirror_run(self, run_id: int | str) -> str:
        """Complete a run's MLflow mirror now if it is pending (waiting for a background one);
        its MLflow run id."""
        return self._experiments.mirror(run_id)

    def sync_mlflow_runs(self, progress: Progress = NULL_PROGRESS) -> list[MirrorOutcome]:
        """Complete every pending or failed MLflow mirror of a run (``workbench mlflow sync``);
        one outcome per run, a failure recorded on its run without stopping the others."""
        return self._experiments.sync_mirrors(progress)

    def runs(
        self,
        where: str | None = None,
        sort: str | None = None,
        limit: int | None = None,
        *,
        include_deleted: bool = False,
    ) -> pl.DataFrame:
        """Runs as a wide Polars frame (a column per metric, param, ``tag.x``), filtered, sorted.

        ``where``: ``auc > 0.8 and num_leaves = 31 and snapshot = churn@v2``;
        ``sort``: ``-auc, id`` (``-`` descending); default newest first.
        """
        return self._experiments.query(where, sort, limit, include_deleted=include_deleted)

    def run_fields(self) -> Fields:
        """The metric, param and tag names in use (``.metrics``, ``.params``, ``.tags``)."""
        return self._experiments.fields()

    def run(self, run_id: int | str) -> RunRecord:
        """One run with its params, metrics, tags, split, environment and status."""
        return self._experiments.get(run_id)

    def tag_run(self, run_id: int | str, key: str, value: str | None) -> None:
        """Set a tag on a run (``value=None`` removes it)."""
        self._experiments.tag(run_id, key, value)

    def delete_run(self, run_id: int | str, *, restore: bool = False) -> None:
        """Hide a run from listings (its objects go at the next ``gc``); ``restore`` undoes it
        while its objects are there. Needs the developer role; a run that backs a registered
        model version cannot be deleted."""
        self._registry.delete_run(run_id, restore=restore)

    def insert_runs(self, runs: list[RunInput]) -> list[int]:
        """Insert many finished runs in one transaction (imports, benchmarks); their ids."""
        return self._experiments.insert_many(runs)

    def run_model(self, run_id: int | str) -> Model:
        """A finished run's model, ready to ``predict`` on a Polars frame."""
        return self._experiments.model(run_id)

    def load_curves(self, run_id: int | str) -> dict[str, Any]:
        """A run's per-iteration curves, best iteration and feature importances."""
        return self._experiments.curves(run_id)

    def curves_frame(self, run_ids: list[int | str] | int | str) -> pl.DataFrame:
        """Curves of one or more runs as a long frame: run_id, dataset, metric, iteration, value."""
        return self._experiments.curves_frame(run_ids)

    def run_holdout(self, run_id: int | str) -> pl.DataFrame:
        """The exact holdout rows a run was evaluated on (its recorded split rule)."""
        return self._experiments.holdout(run_id)

    def compare_runs(self, run_ids: list[int | str], top: int = 10) -> RunComparison:
        """Two or more runs side by side: params, metric deltas vs the first, data, curves."""
        return self._experiments.compare(run_ids, top)

    # -- drift -------------------------------------------------------------------------------

    def drift_options(
        self,
        method: str | None = None,
        threshold: float | None = None,
        options: DriftOptions | None = None,
    ) -> DriftOptions:
        """Options from the workspace settings, then ``options``, then ``method``/``threshold``."""
        return self._drift.options(method, threshold, options)

    def drift(
        self,
        reference_ref: str | DriftRequest,
        current_ref: str = "",
        *,
        method: str | None = None,
        threshold: float | None = None,
        columns: str | Sequence[str] | None = None,
        numerical: str | Sequence[str] = (),
        categorical: str | Sequence[str] = (),
        options: DriftOptions | None = None,
        save: bool = True,
        progress: Progress = NULL_PROGRESS,
    ) -> DriftReport:
        """Compare ``current_ref`` with ``reference_ref`` column by column (and store the report).

        The declared target is reported as target drift; key and time columns are left out
        unless named in ``columns``. ``method`` and ``threshold`` apply to every column
        (``options`` gives per-type and per-column choices). A ``DriftRequest`` may be given
        instead of the references and options.
        """
        request = (
            reference_ref
            if isinstance(reference_ref, DriftRequest)
            else DriftRequest(
                reference_ref,
                current_ref,
                method,
                threshold,
                columns,
                numerical,
                categorical,
                options,
                save,
            )  # fmt: skip
        )
        return self._drift.compare(request, progress)

    def reference_stats(
        self,
        reference: str | Snapshot,
        columns: Sequence[str] | None = None,
        *,
        progress: Progress = NULL_PROGRESS,
    ) -> ReferenceStats:
        """Statistics of a reference snapshot's columns: stored once, then read back."""
        return self._drift.reference_stats(reference, columns, progress=progress)

    def drift_reports(self, limit: int | None = None) -> pl.DataFrame:
        """Stored drift reports, newest first, as a Polars frame."""
        return self._drift.reports(limit)

    def drift_report(self, report_id: int | str) -> DriftReport:
        """A stored report, rebuilt as the ``DriftReport`` it was."""
        return self._drift.report(report_id)

    def drift_windows(
        self,
        reference_ref: str | DriftRequest,
        current_ref: str = "",
        every: str = "month",
        *,
        method: str | None = None,
        threshold: float | None = None,
        columns: str | Sequence[str] | None = None,
        numerical: str | Sequence[str] = (),
        categorical: str | Sequence[str] = (),
        options: DriftOptions | None = None,
        progress: Progress = NULL_PROGRESS,
    ) -> pl.DataFrame:
        """Drift of each day/week/month window of ``current_ref`` (by its time column).

        One row per window: ``window_start``, ``rows``, ``n_tested``, ``n_drifted``,
        ``drift_share``, ``dataset_drifted`` and ``<column>:score`` / ``<column>:drifted``.
        ``every="auto"`` picks month, week or day from the time span. A ``DriftRequest`` may
        be given instead of the references and options.
        """
        request = (
            reference_ref
            if isinstance(reference_ref, DriftRequest)
            else DriftRequest(
                reference_ref,
                current_ref,
                method,
                threshold,
                columns,
                numerical,
                categorical,
                options,
            )  # fmt: skip
        )
        return self._drift.windows(request, every, progress)

    def drift_batch_refs(self) -> list[str]:
        """Names of the production batches (``prod-*``) the months view compares."""
        return self._snapshots.production_batches()

    def drift_batches(
        self,
        reference_ref: str,
        current_refs: Sequence[str] | None = None,
        *,
        method: str | None = None,
        threshold: float | None = None,
        columns: str | Sequence[str] | None = None,
        numerical: str | Sequence[str] = (),
        categorical: str | Sequence[str] = (),
        options: DriftOptions | None = None,
        save: bool = False,
        progress: Progress = NULL_PROGRESS,
    ) -> pl.DataFrame:
        """One row per batch compared with one reference (default: every ``prod-*`` snapshot);
        see ``DriftService.batches`` for the columns."""
        request = DriftRequest(
            reference_ref, "", method, threshold, columns, numerical, categorical, options, save
        )
        return self._drift.batches(request, current_refs, progress)

    def drift_html(
        self,
        reference_ref: str | DriftRequest,
        current_ref: str | Path,
        path: str | Path | None = None,
        *,
        method: str | None = None,
        threshold: float | None = None,
        columns: str | Sequence[str] | None = None,
        numerical: str | Sequence[str] = (),
        categorical: str | Sequence[str] = (),
        progress: Progress = NULL_PROGRESS,
    ) -> Path:
        """Evidently's own DataDriftPreset report for the pair, as a standalone HTML file
        (slow: Evidently reads everything into pandas and renders plots). With a
        ``DriftRequest`` first, the second argument is the path."""
        out: str | Path | None
        if isinstance(reference_ref, DriftRequest):
            request, out = reference_ref, current_ref
        else:
            request = DriftRequest(
                reference_ref, str(current_ref), method, threshold, columns, numerical, categorical
            )
            out = path
        if out is None:
            raise InputError("say where to write the report")
        return self._drift.html(request, out, progress)

    # -- registry ----------------------------------------------------------------------------

    @property
    def role(self) -> str:
        """The acting user's role (viewer, developer, approver or admin)."""
        return self._registry.role

    def can(self, action: str) -> bool:
        """Whether the acting user may perform ``action`` (faces use it to grey out buttons)."""
        return self._registry.can(action)

    def require(self, action: str) -> None:
        """Raise ``PermissionDenied`` (one clear line) unless the acting user may ``action``."""
        self._registry.require(action)

    def register_model(self, run_id: int | str, name: str) -> ModelVersion:
        """Register a finished run's model as the next version of ``name`` (``name@vN``)."""
        return self._registry.register(run_id, name)

    def models(self, name: str | None = None) -> RecordList[ModelVersion]:
        """Every registered version (of one model), with the aliases each holds now."""
        return RecordList(ModelVersion, self._registry.versions(name))

    def model(self, ref: str) -> ModelVersion:
        """The version ``NAME@vN``, ``NAME@ALIAS``, ``NAME`` (latest) or ``@ALIAS`` (of the only
        registered model) names now."""
        return self._registry.get(self._registry.default_name(ref))

    def model_names(self) -> list[str]:
        """Names of registered models."""
        return self._registry.names()

    def set_intended_use(self, ref: str, text: str) -> ModelVersion:
        """Set the intended-use text shown on a version's model card."""
        return self._registry.set_intended_use(ref, text)

    def aliases(self, name: str) -> dict[str, int]:
        """A model's aliases now: alias -> version."""
        return self._registry.aliases(name)

    def alias_history(self, name: str, alias: str | None = None) -> RecordList[AliasMove]:
        """Every move of a model's aliases (or one alias), oldest first."""
        return RecordList(AliasMove, self._registry.alias_history(name, alias))

    def alias_at(self, name: str, alias: str, when: datetime | str) -> ModelVersion | None:
        """The version that held ``alias`` at ``when`` (None if the alias was unset then)."""
        return self._registry.alias_at(name, alias, when)

    def set_alias(self, ref: str, alias: str, reason: str | None = None) -> AliasMove:
        """Point ``alias`` at the version ``ref`` names, directly (approver; no proposal)."""
        return self._registry.set_alias(ref, alias, reason)

    def remove_alias(self, name: str, alias: str, reason: str | None = None) -> AliasMove:
        """Unset an alias (approver); the removal is kept in its history."""
        return self._registry.remove_alias(name, alias, reason)

    def sync_mlflow(self, name: str) -> None:
        """Make the MLflow registry's aliases of ``name`` match the workbench's."""
        self._registry.sync_mlflow(name)

    def model_uri(self, ref: str) -> str:
        """The MLflow URI that loads a version: ``models:/NAME@ALIAS`` or ``models:/NAME/N``."""
        return self._registry.mlflow_uri(ref)

    def lineage(self, ref: str) -> LineageNode:
        """Version <- run <- snapshot <- parent snapshots <- source files, with hashes."""
        return self._registry.lineage(ref)

    def model_card(self, ref: str) -> str:
        """The Markdown model card of a version."""
        return self._registry.card(ref)

    def gate_results(self, ref: str) -> Evidence:
        """Run the promotion gates for a version now, without filing anything."""
        return self._registry.gate_results(ref)

    def propose_promotion(
        self,
        ref: str,
        to_alias: str = CHAMPION,
        reason: str | None = None,
        *,
        training_data: dict[str, Any] | None = None,
        progress: Progress = NULL_PROGRESS,
    ) -> Decision:
        """Run the gates for a version and file a proposal to point ``to_alias`` at it."""
        return self._registry.propose_promotion(
            ref, to_alias, reason, training_data=training_data, progress=progress
        )

    def propose_retrain(
        self,
        from_ref: str = f"@{CHAMPION}",
        reason: str | None = None,
        data: list[str] | None = None,
    ) -> Decision:
        """File a proposal to retrain from a version (approving it runs ``retrain``)."""
        return self._registry.propose_retrain(from_ref, reason, data)

    def decisions(self, status: str | None = None, name: str | None = None) -> RecordList[Decision]:
        """Proposals and decisions, newest first (``status``: pending, approved, rejected)."""
        return RecordList(Decision, self._registry.decisions(status, name))

    def decision(self, decision_id: int | str) -> Decision:
        """One proposal or decision with its evidence."""
        return self._registry.decision(decision_id)

    def approve(
        self,
        decision_id: int | str,
        comment: str | None = None,
        override: bool = False,
        progress: Progress = NULL_PROGRESS,
    ) -> Decision:
        """Approve a pending proposal and carry out its action (approver); failed gates need
        ``override=True`` and a comment."""
        return self._registry.approve(decision_id, comment, override, progress)

    def check_approval(self, decision: Decision) -> None:
        """Raise PermissionDenied unless the acting user may approve ``decision``."""
        self._registry.check_approval(decision)

    def reject(self, decision_id: int | str, comment: str) -> Decision:
        """Reject a pending proposal with a comment (approver)."""
        return self._registry.reject(decision_id, comment)

    def rollback_plan(self, name: str) -> RollbackPlan:
        """Where a rollback of ``name``'s champion goes (InputError when there is nowhere)."""
        return self._registry.rollback_plan(name)

    def rollback(self, name: str, reason: str | None = None) -> Decision:
        """Move ``champion`` back to its previous holder (an approver's rollback happens now;
        anyone else files a rollback proposal)."""
        return self._registry.rollback(name, reason)

    def retrain(
        self,
        from_ref: str = f"@{CHAMPION}",
        data: list[str] | None = None,
        *,
        reason: str | None = None,
        to_alias: str = CHAMPION,
        progress: Progress = NULL_PROGRESS,
    ) -> Decision:
        """Retrain a challenger from a version and file its promotion proposal (see
        ``RegistryService.retrain`` for the training-data rule)."""
        return self._registry.retrain(
            from_ref, data, reason=reason, to_alias=to_alias, progress=progress
        )

    # -- serving -----------------------------------------------------------------------------

    def scorer(
        self,
        ref: str = f"@{CHAMPION}",
        *,
        unknown_category: str = "missing",
        missing_column: str = "error",
    ) -> Scorer:
        """The scorer of the version ``ref`` names now: raw rows in, predictions out
        (``score_frame``, ``score_records``); see ``serving.scorer`` for the policies."""
        return self._serving.scorer(ref, EncodingPolicy(unknown_category, missing_column))

    def score(
        self,
        data: Path | str | pl.DataFrame | ScoreRequest,
        model: str = f"@{CHAMPION}",
        *,
        out: Path | str | None = None,
        key: str | None = None,
        shadow: str | None = None,
        canary: str | None = None,
        route_key: str | None = None,
        unknown_category: str = "missing",
        missing_column: str = "error",
        log: bool = True,
        progress: Progress = NULL_PROGRESS,
    ) -> pl.DataFrame:
        """Score a CSV/Parquet file or a frame with ``model`` (``NAME@ALIAS``); the answers as
        a frame (key, label and probability, or value). Every row is logged; ``shadow``
        scores too (logged only); ``canary`` is ``REF:FRACTION`` split by ``route_key``."""
        if isinstance(data, ScoreRequest):
            return self.score_batch(data, progress).frame
        policy = EncodingPolicy(unknown_category, missing_column)
        spec = DeploymentSpec.from_options(model, shadow, canary, route_key, policy=policy)
        return self.score_batch(ScoreRequest(data, spec, out, key, log), progress).frame

    def score_batch(self, request: ScoreRequest, progress: Progress = NULL_PROGRESS) -> BatchResult:
        """Batch scoring with everything it did (``BatchResult``: answers, output file, batch
        id, rows logged, the versions in their roles)."""
        return self._serving.score(request, progress)

    def serving_session(
        self,
        spec: DeploymentSpec | str = f"@{CHAMPION}",
        *,
        shadow: str | None = None,
        canary: str | None = None,
        route_key: str | None = None,
        log: bool = True,
        watch: bool = True,
        interval: float = 0.25,
        status: bool = True,
    ) -> ServingSession:
        """What a scoring server runs: the deployment (champion, shadow, canary ``REF:F``),
        its data plane, the alias watcher and the prediction log; ``start()`` and ``close()``
        it (or use it in a ``with`` block). Without ``canary`` the watcher follows the model's
        canary ramp (``start_canary``, ``canary_step``, ``stop_canary``); the route key is
        ``route_key``, else the model's key column, else each record's request id."""
        if not isinstance(spec, DeploymentSpec):
            spec = DeploymentSpec.from_options(spec, shadow, canary, route_key)
        return self._serving.session(spec, log=log, watch=watch, interval=interval, status=status)

    def predictions(
        self,
        model: str | None = None,
        version: int | None = None,
        *,
        role: str | list[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        dedupe: bool = True,
    ) -> pl.DataFrame:
        """The prediction log as a frame: every answer the server and batch scoring gave
        (times are aware datetimes; one row per request id and version unless
        ``dedupe=False``)."""
        return self._serving.predictions(
            model, version, role=role, since=since, until=until, dedupe=dedupe
        )

    def serving_status(self) -> list[ServerStatus]:
        """The scoring servers running on this workspace: address, versions in their roles
        since when, requests and request rate (from their status files)."""
        return self._serving.statuses()

    # -- monitoring --------------------------------------------------------------------------

    def import_labels(
        self,
        path: Path | str | LabelRequest,
        key: str | None = None,
        *,
        label: str | None = None,
        time: str | None = None,
        model: str | None = None,
    ) -> LabelReport:
        """Join late ground truth (CSV or Parquet) to logged predictions by ``key``: the same
        file twice changes nothing, a changed label is a new version; the report gives
        coverage, label lag and unmatched keys. ``label`` defaults to the model's target."""
        if isinstance(path, LabelRequest):
            request = path
        else:
            if key is None:
                raise InputError("name the key column", hint="import_labels(path, key='id')")
            request = LabelRequest(path, key, label, time, model)
        return self._monitoring.import_labels(request)

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
        """Score a frame with a model version and write each answer to the prediction log,
        as batch scoring does (times from ``time_column`` or ``at``; each row's latency the
        measured scoring time per row unless ``latency_ms`` is given); the rows logged."""
        return self._monitoring.log_batch(ref, frame, role=role, key=key,
                                          time_column=time_column, at=at, route=route,
                                          request_prefix=request_prefix,
                                          latency_ms=latency_ms)  # fmt: skip

    def monitor_report(
        self,
        model: str | ReportRequest | None = None,
        by: str | None = None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        progress: Progress = NULL_PROGRESS,
    ) -> MonitorReport:
        """Each window of the prediction log (``by``: hour, day, week, month, batch): volume,
        data quality, drift against training, prediction drift, realized and estimated
        performance, latency, errors; every serving version and role side by side."""
        request = (
            model if isinstance(model, ReportRequest) else ReportRequest(model, by, since, until)
        )
        return self._monitoring.report(request, progress)

    def monitor_check(
        self,
        model: str | CheckRequest | None = None,
        *,
        tick: str | None = None,
        deliver: bool = True,
        now: datetime | None = None,
        progress: Progress = NULL_PROGRESS,
    ) -> CheckResult:
        """Judge new windows, fire and resolve alerts, file a retraining proposal when a
        retraining policy fires, guard a ramping canary, deliver notifications (``now``:
        judge as of that time, when replaying history)."""
        request = (
            model if isinstance(model, CheckRequest) else CheckRequest(model, tick, deliver, now)
        )
        return self._monitoring.check(request, progress)

    def monitor_watch(
        self,
        every: str | None = None,
        model: str | None = None,
        *,
        wait: Callable[[float], bool],
        on_check: Callable[[CheckResult], None] = lambda r: None,
        max_ticks: int | None = None,
    ) -> int:
        """``monitor_check`` on a schedule until ``wait(seconds)`` returns True."""
        return self._monitoring.watch(
            every, model, wait=wait, on_check=on_check, max_ticks=max_ticks
        )

    def monitor_backtest(
        self,
        model: str | BacktestRequest | None = None,
        by: str | None = None,
        progress: Progress = NULL_PROGRESS,
        **overrides: Any,
    ) -> BacktestResult:
        """Replay the policies (the settings', changed by ``overrides`` such as
        ``drift_share=0.3``) over the logged history: when they would have fired, and how
        many retrainings they would have caused."""
        request = (
            model if isinstance(model, BacktestRequest) else BacktestRequest(model, by, overrides)
        )
        return self._monitoring.backtest(request, progress)

    def alerts(self, status: str | None = None, model: str | None = None) -> list[Alert]:
        """Alerts, newest first (``status``: firing or resolved)."""
        return self._alerting.alerts(status, model)

    def alert(self, alert_id: int | str) -> Alert:
        """One alert with its evidence."""
        return self._alerting.alert(alert_id)

    def alert_events(self, alert_id: int | str) -> list[dict[str, Any]]:
        """An alert's transitions (fired, notifications, acknowledged, resolved)."""
        return self._alerting.alert_events(alert_id)

    def acknowledge_alert(self, alert_id: int | str, comment: str | None = None) -> Alert:
        """Acknowledge a firing alert."""
        return self._alerting.acknowledge(alert_id, comment)

    def silence_alerts(
        self,
        alert_id: int | str | None = None,
        *,
        model: str | None = None,
        policy: str | None = None,
        subject: str | None = None,
        duration: str = "1d",
        comment: str | None = None,
    ) -> Silence:
        """Stop notifications of an alert's kind (or a model's, a policy's) for ``duration``."""
        return self._alerting.silence(alert_id, model=model, policy=policy, subject=subject,
                                      duration=duration, comment=comment)  # fmt: skip

    def silences(self) -> list[Silence]:
        """Silences in force now."""
        return self._alerting.silences()

    def test_notification(self) -> list[Notification]:
        """Send a test message on every configured channel now."""
        return self._alerting.test_notification()

    def deliver_notifications(self) -> int:
        """Send the notifications that are due (retries included); how many got through."""
        return self._alerting.deliver()

    def notifications(self, status: str | None = None, limit: int = 100) -> list[Notification]:
        """The notification outbox, newest first (``status``: pending, delivered, dead)."""
        return self._alerting.notifications(status, limit)

    def verdicts(self, model: str | None = None) -> list[Verdict]:
        """Champion against each shadow and canary version: agreement, metric difference
        with its bootstrap interval, McNemar's test, labelled rows still needed."""
        return self._rollout.verdicts(model)

    def deployment(self, model: str | None = None) -> DeploymentSetting | None:
        """The canary setting the scoring server follows (version, share, ramp step)."""
        return self._rollout.deployment(model)

    def deployment_history(self, model: str | None = None) -> list[DeploymentSetting]:
        """Every canary setting a model had, oldest first."""
        return self._rollout.deployment_history(model)

    def start_canary(self, ref: str, reason: str | None = None) -> DeploymentSetting:
        """Make a version the canary and start its ramp at the first step (approver)."""
        return self._rollout.start_canary(ref, reason)

    def stop_canary(self, model: str | None = None, reason: str = "stopped") -> DeploymentSetting:
        """Send no more traffic to the canary."""
        return self._rollout.stop_canary(model, reason)

    def canary_step(self, model: str | None = None, *, advance: bool = True) -> RampResult:
        """Check the canary's guards; a breach stops it and files a rollback proposal, and
        with ``advance`` a clean step moves the ramp on (past the last: a promotion proposal)."""
        return self._rollout.guard_canary(model, advance=advance)

    # -- remotes -----------------------------------------------------------------------------

    def remotes(self) -> list[RemoteInfo]:
        """The configured remotes (``[remotes.NAME]`` in the settings, or the environment)."""
        return self._remote.remotes()

    def remote(self, name: str | None = None) -> RemoteInfo:
        """A remote by name; without one, ``origin`` or the only remote."""
        return self._remote.get(name)

    def add_remote(self, name: str, url: str, endpoint_url: str | None = None) -> RemoteInfo:
        """Add a remote: a folder or ``s3://bucket/prefix`` (with ``endpoint_url`` for an
        S3-compatible server); written to the settings file, nothing is contacted."""
        return self._remote.add(name, url, endpoint_url)

    def remove_remote(self, name: str) -> None:
        """Forget a remote (the remote's files are left alone)."""
        self._remote.remove(name)

    def remote_head(self, name: str | None = None) -> RemoteVersion | None:
        """The remote's newest version (None: nothing pushed yet)."""
        return self._remote.head(name)

    def remote_versions(
        self, name: str | None = None, limit: int | None = 20
    ) -> list[RemoteVersion]:
        """The remote's versions (who pushed what, when), newest first."""
        return self._remote.versions(name, limit)

    def push(self, remote: str | None = None, progress: Progress = NULL_PROGRESS) -> PushResult:
        """Send objects, prediction files and metadata to a remote; refused (``Conflict``) when
        the remote holds changes this workspace has not pulled."""
        return self._remote.push(remote, progress)

    def pull(self, remote: str | None = None, progress: Progress = NULL_PROGRESS) -> PullResult:
        """Bring a remote's newest version here; refused (``Conflict``) when local changes the
        remote lacks would be lost."""
        return self._remote.pull(remote, progress)

    # -- CI ----------------------------------------------------------------------------------

    def ci_report(
        self,
        decision: int | str | None = None,
        *,
        max_bytes: int | None = None,
        marker: str | None = None,
    ) -> CiReport:
        """A proposal's gate results as Markdown (default: the newest promotion proposal filed
        since this workspace's newest pull), cut to ``max_bytes`` with ``<details>``."""
        return self._ci.report(decision, max_bytes=max_bytes, marker=marker)

    def ci_comment_body(self, decision: int | str | None = None) -> CiReport:
        """The report as the pull-request comment: with the marker the workflow updates it
        by, under GitHub's 65,536-character limit."""
        return self._ci.comment_body(decision)

    def ci_defaults(self) -> CiDefaults:
        """What ``ci init`` can take from this workspace: the model and its training data."""
        return self._ci.defaults()


def ci_config(
    model: str,
    data: str,
    batch: str,
    training_data: str | None,
    contract: str | None = None,
    **options: str,
) -> CiConfig:
    """The settings of the CI pipelines (``install``, ``python`` and ``cron`` in ``options``)."""
    from .ci.steps import CiConfig

    return CiConfig(model, data, batch, training_data, contract, **options)


def init_ci(
    repo: Path | str, platforms: list[str], config: CiConfig, force: bool = False
) -> CiFiles:
    """Write the CI workflows (``github``, ``gitlab``) into the repository at ``repo``."""
    from .ci.setup import write_ci_files

    return write_ci_files(Path(repo), platforms, config, force)


def run_ci_locally(
    repo: Path | str,
    *,
    platform: str | None = None,
    remote_url: str | None = None,
    endpoint_url: str | None = None,
    out: Path | str | None = None,
    keep: bool = False,
    on_step: Callable[[LocalStep], None] | None = None,
) -> LocalRun:
    """Run the pull-request pipeline's workbench commands here, in a fresh workspace."""
    from .ci.local import run_locally

    return run_locally(
        Path(repo), platform=platform, remote_url=remote_url, endpoint_url=endpoint_url,
        out=Path(out) if out else None, keep=keep, on_step=on_step,
    )  # fmt: skip


def gitlab_note(body: str) -> str:
    """Create or update the merge request's report note (inside a GitLab job)."""
    from .ci.gitlab import upsert_note

    return upsert_note(body)


def gitlab_issue(body: str, title: str) -> str:
    """Create or update the open alert issue (inside a GitLab job)."""
    from .ci.gitlab import upsert_issue

    return upsert_issue(body, title)
