"""The serving service: scorers for model versions, deployments, batch scoring, the log.

Built with the workspace ``Context`` and the services it reads: the registry (which version a
reference names), experiments (a version's model and encodings) and snapshots (the training
data's key column). A scoring server builds only these (``Services.serving_only``); nothing
here imports MLflow, Evidently or a UI library.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..progress import NULL_PROGRESS, Progress
from .deployment import (
    CANARY,
    CHAMPION,
    SHADOW,
    CanarySplit,
    Deployment,
    DeploymentHolder,
    DeploymentSpec,
    RampCanary,
    ServingModel,
    ramp_canary,
    route_key,
)
from .scorer import EncodingPolicy, Scorer
from .watcher import Resolved

if TYPE_CHECKING:
    import polars as pl

    from ..context import Context
    from ..experiments.service import ExperimentService
    from ..registry.service import RegistryService
    from ..snapshots.service import SnapshotService
    from .batch import BatchResult, ScoreRequest
    from .predlog import PredictionLog
    from .session import ServingSession
    from .status import ServerStatus

__all__ = ["ServingService"]

_CACHED_SCORERS = 8
#: the deployment setting of the canary ramp (written by monitoring's ``RolloutService``)
CANARY_SETTING = "canary"


class ServingService:
    """Scorers, deployments, sessions for a server, batch scoring and the prediction log."""

    def __init__(
        self,
        ctx: Context,
        registry: RegistryService,
        experiments: ExperimentService,
        snapshots: SnapshotService,
    ) -> None:
        self.ctx = ctx
        self.registry = registry
        self.experiments = experiments
        self.snapshots = snapshots
        self._scorers: OrderedDict[tuple[str, int, EncodingPolicy], Scorer] = OrderedDict()
        self._lock = threading.Lock()

    # -- scorers -----------------------------------------------------------------------------

    def resolve(self, ref: str) -> Resolved:
        """Where a model reference (``NAME@ALIAS``, ``NAME@vN``, ``@ALIAS``) points now."""
        mv = self.registry.get(self.registry.default_name(ref))
        return Resolved(mv.name, mv.version)

    def scorer(self, ref: str, policy: EncodingPolicy | None = None) -> Scorer:
        """The scorer of the version ``ref`` names now (loaded once per process)."""
        target = self.resolve(ref)
        return self.load(target.name, target.version, policy)

    def load(self, name: str, version: int, policy: EncodingPolicy | None = None) -> Scorer:
        """The scorer of ``name@v<version>``, loaded and warmed up (kept for reuse)."""
        policy = policy or EncodingPolicy()
        key = (name, version, policy)
        with self._lock:
            cached = self._scorers.get(key)
            if cached is not None:
                self._scorers.move_to_end(key)
                return cached
        mv = self.registry.get(f"{name}@v{version}")
        run = self.experiments.get(mv.run_id)
        model = self.experiments.model(mv.run_id)
        scorer = Scorer(
            model, name=name, version=version, policy=policy,
            key_column=self._key_column(run.snapshot_ref),
        )  # fmt: skip
        scorer.warm_up()
        with self._lock:
            self._scorers[key] = scorer
            while len(self._scorers) > _CACHED_SCORERS:
                self._scorers.popitem(last=False)
        return scorer

    def _key_column(self, snapshot_ref: str | None) -> str | None:
        if not snapshot_ref:
            return None
        try:
            return self.snapshots.get(snapshot_ref).key_column
        except InputError:
            return None

    # -- deployments -------------------------------------------------------------------------

    def deployment(self, spec: DeploymentSpec) -> Deployment:
        """The deployment ``spec`` names now: each role resolved, loaded and warmed up."""
        policy = spec.policy
        models: dict[str, ServingModel] = {}
        for role, ref in spec.refs().items():
            target = self.resolve(ref)
            scorer = self.load(target.name, target.version, policy)
            models[role] = ServingModel(role, ref, target.name, target.version, scorer)
        split = None
        if spec.canary is not None:
            assert spec.salt is not None
            key, source = route_key(spec.route_key, models[CANARY], models[CHAMPION])
            split = CanarySplit(spec.canary_fraction, key, spec.salt, "flag", source)
        return Deployment(models[CHAMPION], models.get(SHADOW), models.get(CANARY), split)

    def ramp(self, model: str, salt: str | None = None) -> RampCanary:
        """What the model's canary ramp asks a server to serve now (``ramp_canary``): the
        newest ``canary`` deployment setting and the ``canary`` alias, in one read."""
        import json

        from ..registry import repository as registry_repo

        with self.ctx.store.read() as con:
            rows = con.execute(
                "select id, value_json from deployment_settings where model = ? and key = ? "
                "order by id desc limit 1",
                [model, CANARY_SETTING],
            ).fetchall()
            aliases = registry_repo.current_aliases(con, model)
        setting_id, value = (int(rows[0][0]), json.loads(rows[0][1])) if rows else (None, None)
        held = aliases.get((model, CANARY))
        return ramp_canary(model, setting_id, value if isinstance(value, dict) else None, held,
                           salt=salt)  # fmt: skip

    def session(
        self,
        spec: DeploymentSpec,
        *,
        log: bool = True,
        watch: bool = True,
        interval: float = 0.25,
        compact_every: float | None = 60.0,
        status: bool = True,
    ) -> ServingSession:
        """Everything a scoring process runs (``ServingSession``), not started yet.

        ``watch`` follows alias moves (checked every ``interval`` seconds) and, when ``spec``
        names no canary, the model's canary ramp (read now, then when the workspace changes);
        ``log`` writes the prediction log (compacted every ``compact_every`` seconds);
        ``status`` lets the process publish a status file once it knows its address.
        """
        from .dataplane import DataPlane
        from .session import ServingSession
        from .watcher import AliasWatcher

        holder = DeploymentHolder(self.deployment(spec))
        prediction_log = self.open_log(holder.current) if log else None
        watcher = None
        if watch:
            policy = spec.policy

            def load(name: str, version: int) -> Scorer:
                scorer = self.load(name, version, policy)
                if prediction_log is not None:
                    _declare(prediction_log, scorer)
                return scorer

            def ramp(model: str) -> RampCanary:
                return self.ramp(model, spec.salt)

            watcher = AliasWatcher(
                holder, spec.refs(), resolve=self.resolve, load=load,
                token=self.ctx.change_token, interval=interval,
                ramp=ramp if spec.canary is None else None, route_key=spec.route_key,
            )  # fmt: skip
            if watcher.follows_ramp:
                watcher.check()  # a ramp in progress serves its canary from the start
        compaction = None
        if prediction_log is not None and compact_every:
            from .predlog_compact import PeriodicCompaction

            compaction = functools.partial(PeriodicCompaction, self.ctx.root, compact_every)
        status_factory = None
        if status:
            from .status import StatusWriter, status_dir

            def status_factory(address: str, counters: Any) -> StatusWriter:
                return StatusWriter(
                    status_dir(self.ctx.dir), address, lambda: session.describe(), counters
                )

        plane = DataPlane(holder, prediction_log)
        session = ServingSession(holder, plane, watcher, prediction_log, compaction,
                                 status_factory)  # fmt: skip
        return session

    def open_log(self, deployment: Deployment | None = None) -> PredictionLog:
        """The workspace's prediction log, with the deployment's input types declared."""
        from .predlog import open_prediction_log

        log = open_prediction_log(self.ctx.root)
        for model in deployment.models() if deployment is not None else ():
            _declare(log, model.scorer)
        return log

    # -- batch scoring -----------------------------------------------------------------------

    def score(self, request: ScoreRequest, progress: Progress = NULL_PROGRESS) -> BatchResult:
        """Score a file or frame with a model (and shadow, canary); every row is logged
        (see ``batch``)."""
        import polars as pl

        from .batch import score_batch

        if isinstance(request.data, pl.DataFrame):
            data = request.data
        elif isinstance(request.data, (str, Path)):
            from ..snapshots.reader import check_source_path, read_table

            progress.start(f"reading {Path(request.data).name}", total=None)
            data = read_table(check_source_path(Path(request.data).expanduser()))
        else:
            raise InputError("score a CSV or Parquet file, or a Polars frame")
        deployment = self.deployment(request.deployment)
        key = request.key
        if key is None:
            default = deployment.champion.scorer.key_column
            key = default if default and default in data.columns else None
        out = Path(request.out).expanduser() if request.out is not None else None
        log = self.open_log(deployment) if request.log else None
        try:
            return score_batch(
                deployment, data, key=key, out=out, log=log, chunk_rows=request.chunk_rows,
                progress=progress,
            )  # fmt: skip
        finally:
            if log is not None:
                log.close()

    # -- reading the log and the servers -----------------------------------------------------

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
        """Logged predictions (one row per request id and version unless ``dedupe=False``)."""
        from .predlog_layout import predictions_dir
        from .predlog_read import read_predictions

        predictions_dir(self.ctx.root).mkdir(exist_ok=True)
        return read_predictions(
            self.ctx.root, model, version, role=role, since=since, until=until, dedupe=dedupe
        )

    def statuses(self) -> list[ServerStatus]:
        """The scoring servers running on this workspace now (from their status files)."""
        from .status import read_statuses, status_dir

        return read_statuses(status_dir(self.ctx.dir))


def _declare(log: PredictionLog, scorer: Scorer) -> None:
    declare = getattr(log.sink, "declare_inputs", None)
    if declare is not None and scorer.name is not None and scorer.version is not None:
        declare(scorer.name, scorer.version, scorer.input_types)
