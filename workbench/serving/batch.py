"""Batch scoring: a CSV or Parquet file (or a frame) through a deployment, every row logged.

The frame is scored in chunks (``chunk_rows``) through the same scorers the server uses
(``Scorer.score_frame``: training's own Polars encoding), routed the same way (the canary's
salted hash of the route key), with the shadow scoring every row too. Each chunk's log rows
are written on a second thread while the next chunk is predicted, as whole frames
(``PredictionLog.stage_frame``, not a row at a time, so nothing is dropped), under temporary
names. At the end the output file and the log segments are published together; cancelled
(Ctrl-C or ``progress``) or failed, the temporary files are removed and nothing was written.

Request ids are ``<batch id>/<row number>``; rows are logged with their role (champion,
canary, shadow) and the route ``batch`` (``batch canary 0.1`` for the canary's rows).
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..progress import NULL_PROGRESS, Progress
from .deployment import SHADOW, Deployment, DeploymentSpec, ServingModel
from .predlog_layout import INPUT_PREFIX

if TYPE_CHECKING:
    import polars as pl

    from .predlog import PredictionLog, Staged

__all__ = ["ScoreRequest", "BatchResult", "score_batch", "output_format", "CHUNK_ROWS"]

#: rows scored per chunk (and per log segment)
CHUNK_ROWS = 262_144


@dataclass(frozen=True)
class ScoreRequest:
    """One batch scoring: data (a CSV or Parquet file, or a Polars frame) and the deployment
    that scores it (champion, shadow, canary; ``DeploymentSpec``).

    ``key`` is copied to the output and logged as each row's entity key (default: the
    champion's training key column when the data has it); the shadow scores every row too,
    logged, not output; ``out`` (``.csv`` or ``.parquet``) receives the answers.
    """

    data: Any
    deployment: DeploymentSpec
    out: Path | str | None = None
    key: str | None = None
    log: bool = True
    chunk_rows: int = CHUNK_ROWS


@dataclass(frozen=True)
class BatchResult:
    """What a batch scoring did: the answers (key, label and probability, or value; role and
    version when a canary shared the rows), where they were written, what was logged."""

    frame: pl.DataFrame
    out: Path | None
    batch_id: str
    rows: int
    logged: int
    #: role -> ``name@vN``
    models: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def __repr__(self) -> str:
        roles = ", ".join(f"{r} {m}" for r, m in self.models.items())
        return f"BatchResult({self.rows:,} rows, {roles}, logged {self.logged:,})"


def output_format(path: Path) -> str:
    """``csv`` or ``parquet`` from an output file's suffix."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise InputError(f"cannot tell the output format of {path.name}", hint="use .csv or .parquet")


def score_batch(
    deployment: Deployment,
    data: pl.DataFrame,
    *,
    key: str | None = None,
    out: Path | None = None,
    log: PredictionLog | None = None,
    chunk_rows: int = CHUNK_ROWS,
    progress: Progress = NULL_PROGRESS,
) -> BatchResult:
    """Score ``data`` with ``deployment`` (see the module doc)."""
    import polars as pl

    started = time.perf_counter()
    if key is not None and key not in data.columns:
        raise InputError(f"the key column '{key}' is not in the data")
    split = deployment.split
    if deployment.canary is not None and split is not None and split.route_key is not None:
        if split.route_key not in data.columns and split.route_key_from == "option":
            raise InputError(f"the route key '{split.route_key}' is not in the data")
        if split.route_key not in data.columns:  # the model's key column: by request id
            split = replace(split, route_key=None, route_key_from="request id")
            deployment = replace(deployment, split=split)
    if out is not None:
        output_format(out)
    batch_id = f"batch-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    n = data.height
    champion = deployment.champion
    progress.start(f"scoring {n:,} rows with {champion.name}@v{champion.version}", total=n)
    writer = ThreadPoolExecutor(1, thread_name_prefix="batch-log") if log is not None else None
    futures: list[Future[Staged]] = []
    outputs: list[pl.DataFrame] = []
    tmp_out: Path | None = None
    try:
        for offset in range(0, max(n, 1), chunk_rows):
            progress.check_cancelled()
            chunk = data.slice(offset, chunk_rows)
            answer, frames = _score_chunk(deployment, chunk, offset, key, batch_id)
            outputs.append(answer)
            if writer is not None and log is not None:
                for model, frame in frames:
                    futures.append(writer.submit(log.stage_frame, model.name, model.version, frame))
            progress.advance(chunk.height)
        staged = [f.result() for f in futures]
        output = pl.concat(outputs) if len(outputs) > 1 else outputs[0]
        if out is not None:
            tmp_out = _write_temporary_output(output, out)
        with _interrupts_deferred():
            if tmp_out is not None and out is not None:
                os.replace(tmp_out, out)
                tmp_out = None
            logged = sum(log.commit(s) for s in staged) if log is not None else 0
    except BaseException:
        for future in futures:
            future.cancel()
        for future in futures:
            try:
                future.result().discard()
            except BaseException:  # it failed or never ran: nothing staged
                pass
        if tmp_out is not None:
            tmp_out.unlink(missing_ok=True)
        raise
    finally:
        if writer is not None:
            writer.shutdown(wait=True)
    return BatchResult(
        output, out, batch_id, n, logged, _roles(deployment), time.perf_counter() - started
    )


def _roles(deployment: Deployment) -> dict[str, str]:
    return {m.role: f"{m.name}@v{m.version}" for m in deployment.models()}


def _score_chunk(
    deployment: Deployment, chunk: pl.DataFrame, offset: int, key: str | None, batch_id: str
) -> tuple[pl.DataFrame, list[tuple[ServingModel, pl.DataFrame]]]:
    """The chunk's answers in row order, and a log frame per model that scored it."""
    import polars as pl

    rows = pl.int_range(offset, offset + chunk.height, eager=True).alias("__row")
    split = deployment.split
    canary = deployment.canary
    groups: list[tuple[ServingModel, str, pl.Series | None]] = []
    if canary is not None and split is not None:
        if split.route_key is not None:
            keys = chunk.get_column(split.route_key).to_list()
        else:  # routed by each row's request id
            keys = [f"{batch_id}/{i}" for i in range(offset, offset + chunk.height)]
        picks = pl.Series([split.picks(v) for v in keys], dtype=pl.Boolean)
        groups = [(deployment.champion, "batch", ~picks), (canary, f"batch {split.route}", picks)]
    else:
        groups = [(deployment.champion, "batch", None)]
    answers, frames = [], []
    for model, route, mask in groups:
        part = chunk if mask is None else chunk.filter(mask)
        if part.height == 0:
            continue
        part_rows = rows if mask is None else rows.filter(mask)
        answer, frame = _score_part(model, model.role, route, part, part_rows, key, batch_id)
        if mask is not None:
            answer = answer.with_columns(
                pl.lit(model.role).alias("role"), pl.lit(model.version).alias("version")
            )
        answers.append(answer.with_columns(part_rows))
        frames.append((model, frame))
    shadow = deployment.shadow
    if shadow is not None and (shadow.name, shadow.version) != (
        deployment.champion.name, deployment.champion.version
    ):  # fmt: skip
        _, frame = _score_part(shadow, SHADOW, "batch shadow", chunk, rows, key, batch_id)
        frames.append((shadow, frame))
    answer = answers[0] if len(answers) == 1 else pl.concat(answers).sort("__row")
    return answer.drop("__row"), frames


def _score_part(
    model: ServingModel,
    role: str,
    route: str,
    part: pl.DataFrame,
    rows: pl.Series,
    key: str | None,
    batch_id: str,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(answers with the key column first, the log frame) of one model on some rows."""
    import polars as pl

    started = time.perf_counter()
    scores, conformed = model.scorer.score_frame(part)
    answer = scores.to_polars()
    latency = (time.perf_counter() - started) * 1000.0 / max(part.height, 1)
    if key is not None:
        answer = answer.insert_column(0, part.get_column(key))
    fixed = {
        "request_id": pl.concat_str(pl.lit(f"{batch_id}/"), pl.lit(rows.cast(pl.String))),
        "time": pl.lit(datetime.now(UTC)).cast(pl.Datetime("us", "UTC")),
        "role": pl.lit(role),
        "route": pl.lit(route),
        "entity_key": pl.lit(part.get_column(key).cast(pl.String) if key else None, pl.String),
        "predicted_label": pl.lit(None, pl.String),
        "score": pl.lit(None, pl.Float64),
        "value": pl.lit(None, pl.Float64),
        "latency_ms": pl.lit(latency, pl.Float64),
    }
    if scores.values is not None:
        fixed["value"] = pl.lit(pl.Series(scores.values, dtype=pl.Float64))
    else:
        fixed["predicted_label"] = pl.lit(answer.get_column("label").cast(pl.String))
        fixed["score"] = pl.lit(pl.Series(scores.probability, dtype=pl.Float64))
    inputs = conformed.rename({c: INPUT_PREFIX + c for c in conformed.columns})
    frame = inputs.select(*(e.alias(name) for name, e in fixed.items()), pl.all())
    return answer, frame


def _write_temporary_output(output: pl.DataFrame, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        if output_format(out) == "csv":
            output.write_csv(tmp)
        else:
            output.write_parquet(tmp, compression="zstd")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


@contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Ctrl-C waits while the output and the log are published (a few renames)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
