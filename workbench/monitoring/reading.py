"""What the monitoring services read: the model a command means, a model's logged
predictions with their late labels joined, and each model version's reference.

``ReferenceService(ctx, snapshots, drift, registry)`` fits a version's estimator (CBPE for a
binary classifier, DLE for a regressor) and the statistics of its holdout predictions the
first time they are needed, stores them as content-addressed objects
(``monitor_references``) and reads them back afterwards. It is a service of its own, below
``MonitoringService`` (windows, checks) and ``RolloutService`` (verdicts, canary guards), so
that both judge a version's rows against one fitted reference, and share its cache, while
the check can still call the rollout service's canary guards without a cycle.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from . import repository as repo

if TYPE_CHECKING:
    import polars as pl

    from ..context import Context
    from ..drift.service import DriftService
    from ..registry.service import RegistryService
    from ..snapshots.service import SnapshotService
    from .windows import VersionReference

__all__ = ["ReferenceService", "join_labels", "log_frame", "model_name", "utcnow"]

_LOG_COLUMNS = ("time", "model", "role", "version", "request_id", "entity_key", "score", "value",
                "predicted_label", "latency_ms")  # fmt: skip


def utcnow() -> datetime:
    """The services' default clock: an aware UTC datetime."""
    return datetime.now(UTC)


def model_name(registry: RegistryService, model: str | None) -> str:
    """``model``, or the only registered model."""
    if model:
        return model.partition("@")[0]
    names = registry.names()
    if len(names) != 1:
        raise InputError(
            "say which model: --model NAME", hint=f"models: {', '.join(names) or 'none'}"
        )
    return names[0]


def log_frame(
    ctx: Context,
    model: str,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    request_ids: bool = False,
    model_column: bool = True,
) -> pl.DataFrame:
    """The model's logged rows (every role) with their label joined (null where none);
    the request ids only when asked (pairing a shadow's answers with the champion's);
    without the ``model`` column (one value: ``model``) when ``model_column`` is false."""
    import polars as pl

    from ..serving.predlog_read import scan_predictions

    lazy = scan_predictions(ctx.root, model, since=since, until=until)
    names = lazy.collect_schema().names()
    wanted = [
        c
        for c in names
        if (
            c in _LOG_COLUMNS
            and (request_ids or c != "request_id")
            and (model_column or c != "model")
        )
        or c.startswith("in_")
    ]
    frame = lazy.select(wanted).collect()
    if frame.height == 0:
        return frame.with_columns(pl.lit(None, pl.String).alias("label"))
    with ctx.store.read() as con:
        labels = repo.labels_frame(con, model, times=False)
    return join_labels(frame, labels)


def join_labels(frame: pl.DataFrame, labels: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with the ``label`` of its ``entity_key`` (null where none), in ``frame``'s
    row order.

    Joined on a 64-bit hash of the key, carrying only the label's row number, then checked on
    the key itself (the matched label keys gathered and compared): a join on the key strings,
    or one carrying the key and label strings through the join, cost twice as much over ten
    million rows. When two labelled keys share a hash (about one chance in a million at ten
    million keys) the string join is used instead.
    """
    import polars as pl

    hashed = labels.select(
        pl.col("entity_key").hash(_KEY_SEED).alias("__h"), pl.int_range(pl.len()).alias("__i")
    )
    if hashed["__h"].n_unique() != hashed.height:
        return frame.join(
            labels.select("entity_key", "label"), on="entity_key", how="left",
            maintain_order="left",
        )  # fmt: skip
    found = (
        frame.select(pl.col("entity_key").hash(_KEY_SEED).alias("__h"))
        .join(hashed, on="__h", how="left", maintain_order="left")
        .get_column("__i")
    )
    same = (labels["entity_key"].gather(found) == frame["entity_key"]).fill_null(False)
    found = found.zip_with(same, pl.Series([None], dtype=found.dtype))
    return frame.with_columns(labels["label"].gather(found).alias("label"))


_KEY_SEED = 1_234_567


class ReferenceService:
    """Each model version's reference: what its windows, verdicts and canary guards are
    judged against."""

    def __init__(
        self,
        ctx: Context,
        snapshots: SnapshotService,
        drift: DriftService,
        registry: RegistryService,
    ) -> None:
        self.ctx = ctx
        self.snapshots = snapshots
        self.drift = drift
        self.registry = registry
        self.experiments = registry.experiments
        self._references: dict[tuple[str, int], VersionReference] = {}

    def reference(self, model: str, version: int) -> VersionReference:
        """What a version's windows are judged against (fitted once, then read back)."""
        cached = self._references.get((model, version))
        if cached is not None:
            return cached
        ref = self._build_reference(model, version)
        self._references[(model, version)] = ref
        return ref

    def _build_reference(self, model: str, version: int) -> VersionReference:
        from .windows import HOLDOUT_NAMES, VersionReference

        mv = self.registry.get(f"{model}@v{version}")
        run = self.experiments.get(mv.run_id)
        meta = run.model_meta or {}
        task = str(meta.get("task") or run.task or "")
        if not run.snapshot_ref:
            raise InputError(f"{mv.ref}'s run {run.id} has no training snapshot")
        schema = self.snapshots.get(run.snapshot_ref).schema
        features = tuple(f for f in meta.get("features", []) if f in schema)
        stats = self.drift.reference_stats(run.snapshot_ref, list(features))
        classes = meta.get("classes") or []
        positive = str(classes[1]) if task == "binary" and len(classes) == 2 else None
        holdout = {m: run.metrics[h] for m, h in HOLDOUT_NAMES.items() if h in run.metrics}
        notes: list[str] = []
        estimator = prediction_stats = None
        if task in ("binary", "regression"):
            try:
                estimator, prediction_stats = self._fitted(model, version, run, task, positive,
                                                           features)  # fmt: skip
            except InputError as exc:
                notes.append(f"no performance estimate: {exc}")
        else:
            notes.append(f"no performance estimate for {task or 'unknown'} models")
        return VersionReference(model, version, task, features, stats, prediction_stats,
                                estimator, positive, holdout, tuple(notes))  # fmt: skip

    def _fitted(self, model: str, version: int, run: Any, task: str, positive: str | None,
                features: tuple[str, ...]) -> tuple[Any, Any]:  # fmt: skip
        """The version's fitted estimator and prediction statistics, fitted on its holdout
        the first time and stored as objects."""
        from ..drift.stats import ReferenceStats
        from .serialization import load_fitted

        kind = "cbpe" if task == "binary" else "dle"
        with self.ctx.store.read() as con:
            est_hash = repo.get_reference(con, model, version, kind)
            pred_hash = repo.get_reference(con, model, version, "prediction")
        if est_hash and pred_hash:
            try:
                fitted = load_fitted(self.ctx.objects.read_bytes(est_hash))
                return fitted, ReferenceStats.load(self.ctx.objects.path(pred_hash))
            except (OSError, ValueError, KeyError):
                pass  # gone or from an older format: fit again
        fitted, pred_stats = self._fit(run, task, positive, features)
        with self.ctx.objects.writing():
            est_hash = self.ctx.objects.put_bytes(fitted.to_bytes())
            pred_hash = self.ctx.objects.put_bytes(pred_stats.to_bytes())
            with self.ctx.store.write() as con:
                repo.put_reference(con, model, version, kind, est_hash)
                repo.put_reference(con, model, version, "prediction", pred_hash)
        return fitted, pred_stats

    def _fit(self, run: Any, task: str, positive: str | None, features: tuple[str, ...]):
        import polars as pl

        from ..drift.stats import compute_reference_stats
        from .cbpe import CBPE
        from .dle import DLE

        holdout = self.experiments.holdout(run.id)
        scores = self.experiments.model(run.id).predict(holdout)
        target = holdout[run.target]
        if task == "binary":
            y_true = (target.cast(pl.String) == positive).cast(pl.Float64)
            frame = pl.DataFrame({"y_pred_proba": scores, "y_true": y_true,
                                  "y_pred": (scores >= 0.5).astype(float)})  # fmt: skip
            fitted: Any = CBPE(y_pred_proba="y_pred_proba", y_true="y_true", y_pred="y_pred").fit(
                frame
            )
        else:
            frame = holdout.select(features).with_columns(
                pl.Series("y_pred", scores), target.cast(pl.Float64).alias("y_true")
            )
            fitted = DLE(list(features), y_pred="y_pred", y_true="y_true").fit(frame)
        stats = compute_reference_stats(pl.DataFrame({"prediction": scores}), ["prediction"])
        return fitted, stats
