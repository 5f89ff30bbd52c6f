"""The data plane: scoring requests against the live deployment, independent of HTTP.

After MLServer's ``DataPlane``: the HTTP server only translates (body -> records -> here ->
answer); batch scoring and notebooks use the same scorers. For each request:

1. read the live deployment once (``holder.current``); routing, scoring and every log row of
   the request use that object, so a swap in between changes nothing for it;
2. route each record (champion, or canary by the salted hash of its route key, or of its
   request id in the log when the split has no route key), conform and encode it (the scorer's small-input path), predict;
3. emit one prediction-log row per record (request id, model, version, role, route, inputs,
   outputs, latency) and queue the records for the shadow, which scores them on its own thread
   in micro-batches, off the response path, and logs its rows with role ``shadow``.

A request whose records cannot be scored raises ``FieldError`` before anything is logged.
"""

from __future__ import annotations

import collections
import itertools
import logging
import os
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .deployment import SHADOW, Deployment, DeploymentHolder, ServingModel
from .predlog import Prediction
from .scorer import FieldError

if TYPE_CHECKING:
    from .predlog import PredictionLog
    from .scorer import Scores

__all__ = ["DataPlane", "Answer", "ShadowScorer", "ShadowStats"]

_logger = logging.getLogger(__name__)
_clock = time.perf_counter


@dataclass(frozen=True)
class Answer:
    """A request's answers: per record the model that answered and its output."""

    request_id: str
    deployment: Deployment
    #: per record: (model, output dict: label/probability or value)
    rows: list[tuple[ServingModel, dict[str, Any]]]

    def single(self) -> dict[str, Any]:
        """The body answering one record."""
        model, output = self.rows[0]
        return {"request_id": self.request_id, "model": model.name, "version": model.version,
                "role": model.role, **output}  # fmt: skip

    def many(self) -> dict[str, Any]:
        """The body answering a list of records."""
        return {
            "request_id": self.request_id,
            "predictions": [
                {"model": m.name, "version": m.version, "role": m.role, **out}
                for m, out in self.rows
            ],
        }

    def mlflow(self) -> dict[str, Any]:
        """MLflow's answer shape: ``{"predictions": [...]}``."""
        return {"predictions": [out for _, out in self.rows]}


class DataPlane:
    """Scores requests on a holder's live deployment and logs every answer."""

    def __init__(
        self,
        holder: DeploymentHolder,
        log: PredictionLog | None = None,
        *,
        shadow_queue: int = 65_536,
    ) -> None:
        self.holder = holder
        self.log = log
        self.shadow = ShadowScorer(log, max_queue=shadow_queue)
        self._prefix = f"{os.getpid():x}-{secrets.token_hex(4)}-"
        self._ids = itertools.count(1)

    @property
    def deployment(self) -> Deployment:
        """The live deployment."""
        return self.holder.current

    def new_request_id(self) -> str:
        """A request id unique across processes and restarts (pid, random, counter)."""
        return f"{self._prefix}{next(self._ids):x}"

    def predict(
        self,
        records: Sequence[Mapping[str, Any]],
        request_id: str | None = None,
        *,
        started: float | None = None,
    ) -> Answer:
        """Score raw records (see the module doc); FieldError when one cannot be scored."""
        started = _clock() if started is None else started
        request_id = request_id or self.new_request_id()
        deployment = self.holder.current  # once: this request's models, whatever swaps next
        groups: dict[int, tuple[ServingModel, str | None, list[int]]] = {}
        if deployment.split is None or deployment.canary is None:
            groups[0] = (deployment.champion, None, list(range(len(records))))
        else:
            many = len(records) > 1
            for i, record in enumerate(records):
                model, route = deployment.route(record, row_id(request_id, i, many))
                group = groups.get(id(model))
                if group is None:
                    groups[id(model)] = (model, route, [i])
                else:
                    group[2].append(i)
        outputs: list[Any] = [None] * len(records)
        rows: list[Any] = [None] * len(records)
        scored = []
        for model, route, indices in groups.values():
            part = records if len(groups) == 1 else [records[i] for i in indices]
            try:
                scores, conformed = model.scorer.score_records(part)
            except FieldError as exc:
                if len(groups) == 1 or len(records) == 1:
                    raise
                raise exc.at_row(indices[exc.row or 0]) from None
            for i, out, typed in zip(indices, scores.records(), conformed, strict=True):
                outputs[i] = (model, out)
                rows[i] = typed
            scored.append((model, route, indices, scores))
        latency = (_clock() - started) * 1000.0
        if self.log is not None:
            many = len(records) > 1
            for model, route, indices, scores in scored:
                entries = [(row_id(request_id, i, many), records[i], rows[i]) for i in indices]
                emit_rows(self.log, model, model.role, route, entries, scores, latency)
        shadow = deployment.shadow
        if shadow is not None and not _same(shadow, deployment.champion):
            self.shadow.submit(shadow, request_id, records)
        return Answer(request_id, deployment, outputs)

    def close(self, timeout: float = 30.0) -> None:
        """Score what the shadow has queued and stop it (call before closing the log)."""
        self.shadow.close(timeout)


def _same(a: ServingModel, b: ServingModel) -> bool:
    # a shadow on the champion's own version would log a second row under the same id
    return a.name == b.name and a.version == b.version


def row_id(request_id: str, index: int, many: bool) -> str:
    """The log's request id of one record: the request's id, ``/<index>`` in a list."""
    return f"{request_id}/{index}" if many else request_id


def emit_rows(
    log: PredictionLog,
    model: ServingModel,
    role: str,
    route: str | None,
    entries: Sequence[tuple[str, Mapping[str, Any], Mapping[str, Any]]],
    scores: Scores,
    latency: float,
) -> None:
    """One log row per (request id, raw record, conformed inputs), answered by ``model``."""
    labels = scores.labels
    probability = scores.probability
    values = scores.values
    key = model.scorer.key_column
    now = time.time()
    for j, (request_id, record, inputs) in enumerate(entries):
        entity = record.get(key) if key else None
        log.emit(
            Prediction(
                request_id, model.name, model.version, inputs,
                predicted_label=None if labels is None else str(labels[j]),
                score=None if probability is None else float(probability[j]),
                value=None if values is None else float(values[j]),
                role=role, route=route,
                entity_key=None if entity is None else str(entity),
                latency_ms=latency, time=now,
            )
        )  # fmt: skip


#: a shadow job: the shadow model, the request's id, its raw records
_Job = tuple[ServingModel, str, Sequence[Mapping[str, Any]]]


@dataclass(frozen=True)
class ShadowStats:
    """Counters of the shadow scorer (served as metrics)."""

    queued: int
    scored: int
    dropped: int
    failed: int
    last_error: str | None


class ShadowScorer:
    """Scores requests with the shadow model on a thread of its own, in micro-batches.

    ``submit`` appends to a bounded deque and returns (full: dropped and counted, like the
    prediction log); woken by the first request, the thread lets ``batch_wait`` seconds of
    requests gather, takes everything queued, scores it per shadow
    model in one call (one ``predict`` of n rows saves n - 1 calls' setup, and the records are
    conformed in one pass), and logs each row with role ``shadow`` under the request's id. A record the shadow cannot score (another feature
    set, a type it refuses) is counted as failed; the champion's answer was sent long before.
    """

    def __init__(
        self,
        log: PredictionLog | None,
        *,
        max_queue: int = 65_536,
        batch_wait: float = 0.05,
    ) -> None:
        self.log = log
        self.max_queue = max_queue
        self.batch_wait = batch_wait
        self._stop = threading.Event()
        self._queue: collections.deque[_Job] = collections.deque()
        self._wake = threading.Event()
        self._closed = False
        self._scored = self._dropped = self._failed = 0
        self._last_error: str | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._busy = threading.Lock()

    def submit(self, model: ServingModel, request_id: str, records: Sequence[Mapping]) -> bool:
        """Queue a request's records for the shadow; False when dropped."""
        if self._closed or len(self._queue) >= self.max_queue:
            with self._lock:
                self._dropped += len(records)
            return False
        if self._thread is None:
            self._start()
        self._queue.append((model, request_id, records))
        if not self._wake.is_set():
            self._wake.set()
        return True

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="shadow", daemon=True)
                self._thread.start()

    def stats(self) -> ShadowStats:
        """A snapshot of the counters."""
        with self._lock:
            return ShadowStats(len(self._queue), self._scored, self._dropped, self._failed,
                               self._last_error)  # fmt: skip

    def drain(self) -> None:
        """Score everything queued now (on the caller's thread)."""
        with self._busy:
            self._score_queued()

    def close(self, timeout: float = 30.0) -> None:
        """Refuse new work, score what is queued, stop the thread."""
        self._closed = True
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.drain()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait()
            self._stop.wait(self.batch_wait)  # a batch gathers; nobody waits for its answers
            self._wake.clear()
            with self._busy:
                self._score_queued()

    def _score_queued(self) -> None:
        queue = self._queue
        batch = [queue.popleft() for _ in range(len(queue))]
        if not batch:
            return
        by_model: dict[int, list[_Job]] = {}
        for item in batch:
            by_model.setdefault(id(item[0]), []).append(item)
        for items in by_model.values():
            self._score(items)

    def _score(self, items: list[_Job]) -> None:
        model = items[0][0]
        records = [r for _, _, rs in items for r in rs]
        started = _clock()
        try:
            scores, rows = model.scorer.score_records(records)
        except Exception:
            self._score_one_by_one(items)
            return
        latency = (_clock() - started) * 1000.0
        self._log(model, items, scores, rows, latency)
        with self._lock:
            self._scored += len(records)

    def _score_one_by_one(self, items: list[_Job]) -> None:
        """One bad request must not cost the others their shadow rows."""
        for item in items:
            model, _, records = item
            started = _clock()
            try:
                scores, rows = model.scorer.score_records(records)
            except Exception as exc:
                with self._lock:
                    self._failed += len(records)
                    self._last_error = str(exc)
                continue
            self._log(model, [item], scores, rows, (_clock() - started) * 1000.0)
            with self._lock:
                self._scored += len(records)

    def _log(
        self,
        model: ServingModel,
        items: list[_Job],
        scores: Scores,
        rows: list[dict[str, Any]],
        latency: float,
    ) -> None:
        if self.log is None:
            return
        entries = []
        j = 0
        for _, request_id, records in items:
            many = len(records) > 1
            for i, record in enumerate(records):
                entries.append((row_id(request_id, i, many), record, rows[j]))
                j += 1
        emit_rows(self.log, model, SHADOW, "shadow", entries, scores, latency)
