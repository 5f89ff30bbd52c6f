"""The HTTP scoring app: a thin translation between HTTP and the serving session.

``create_app(open_session, ...)`` builds a Starlette app around a function that opens a
``ServingSession`` (``Workspace.serving_session``): the session is opened and started in the
lifespan startup (each worker process opens its own) and closed in the lifespan teardown,
which Starlette runs once every connection has closed: every answered request has queued its
log rows by then, so ``close()`` writes them all (shadow first, then the log).

Routes:

* ``POST /predict``: one record (a JSON object) or a list; answers name the model, version and
  role that answered each record;
* ``POST /invocations``: MLflow's formats and answer shape (``dataframe_split``,
  ``dataframe_records``, ``instances``, ``inputs``; ``text/csv``);
* ``GET /health`` (liveness and readiness: 200 once the models are loaded), ``GET /model``
  (which versions serve, in which roles, since when; the canary's share, route key and
  source, ``flag`` or ``ramp``, and the canary ramp as last read), ``GET /metrics``
  (Prometheus).

Bad input never takes the process down: 400 for a body that is not one of the formats, 422
naming the field and why (missing, type, unknown category under the strict policy), 413 over
the size limit, 401 without the bearer token (when one is set; ``/health`` stays open for
probes), 500 with one line for anything else, and the server keeps serving.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..api import (
    SMALL_INPUT,
    FieldError,
    FormatError,
    ServingSession,
    frame_of_csv,
    records_of_invocation,
    records_of_predict,
)
from ..errors import WorkbenchError
from .metrics import ServerMetrics

__all__ = ["create_app", "DEFAULT_MAX_BODY"]

#: the largest request body accepted, in bytes (``--max-body``)
DEFAULT_MAX_BODY = 16 * 1024 * 1024
_JSON = "application/json"
_logger = logging.getLogger("workbench.server")
_clock = time.perf_counter


class _TooLarge(Exception):
    pass


class _Server:
    """What the routes share: the session (set at startup) and the metrics."""

    def __init__(self) -> None:
        self.session: ServingSession | None = None

    def state(self) -> dict[str, Any]:
        """What the metrics collector reads at scrape time."""
        session = self.session
        if session is None:
            return {}
        deployment = session.deployment
        log = session.log.stats() if session.log is not None else None
        shadow = session.plane.shadow.stats()
        counters = [
            ("workbench_shadow_scored", "Records the shadow scored.", shadow.scored),
            ("workbench_shadow_dropped", "Records not shadowed: queue full.", shadow.dropped),
            ("workbench_shadow_failed", "Records the shadow could not score.", shadow.failed),
        ]
        gauges: list[tuple[str, str, float]] = [
            ("workbench_shadow_queued", "Records waiting for the shadow.", shadow.queued)
        ]
        split = deployment.split if deployment.canary is not None else None
        gauges.append(("workbench_canary_fraction",
                       "Share of records routed to the canary (0: no canary).",
                       split.fraction if split is not None else 0.0))  # fmt: skip
        if log is not None:
            counters += [
                ("workbench_prediction_log_written", "Log rows written.", log.written),
                ("workbench_prediction_log_dropped", "Log rows dropped (queue full).",
                 log.dropped),
                ("workbench_prediction_log_failed", "Log rows the sink failed to write.",
                 log.failed),
            ]  # fmt: skip
            gauges.append(("workbench_prediction_log_queued", "Log rows queued.", log.queued))
        watcher = session.watcher
        return {
            "versions": [(m.role, m.name, m.version) for m in deployment.models()],
            "swaps": len(watcher.swaps) if watcher is not None else 0,
            "counters": counters,
            "gauges": gauges,
        }


def create_app(
    open_session: Callable[[], ServingSession],
    *,
    token: str | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    address: str = "",
) -> Starlette:
    """The scoring app (see the module doc); ``address`` is what the status file reports."""
    server = _Server()
    metrics = ServerMetrics(server.state)
    expected = f"Bearer {token}".encode() if token else None

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        session = await run_in_threadpool(open_session)
        session.start()
        server.session = session
        session.publish_status(address, metrics.counters)
        roles = ", ".join(f"{m.name}@v{m.version} ({m.role})" for m in session.deployment.models())
        _logger.info("serving %s at %s", roles, address or "?")
        try:
            yield
        finally:
            server.session = None
            await run_in_threadpool(session.close)

    def authorized(request: Request) -> bool:
        if expected is None:
            return True
        given = request.headers.get("authorization", "").encode()
        return hmac.compare_digest(given, expected)

    async def score(request: Request, endpoint: str) -> Response:
        started = _clock()
        session = server.session
        if session is None:
            return _error(503, "the server is starting or stopping")
        if not authorized(request):
            metrics.observe(endpoint, None, "unauthorized", 0.0)
            return _error(401, "a bearer token is required", {"WWW-Authenticate": "Bearer"})
        try:
            body = await _read_body(request, max_body)
        except _TooLarge:
            metrics.observe(endpoint, None, "too_large", 0.0)
            return _error(413, f"the request body is larger than {max_body:,} bytes")
        try:
            request_id = _request_id(request.headers.get("x-request-id"))
            records, single, mlflow = _parse(body, request.headers.get("content-type"), endpoint)
            if len(records) > SMALL_INPUT:  # off the event loop: other requests go on
                answer = await run_in_threadpool(
                    session.plane.predict, records, request_id, started=started
                )
            else:
                answer = session.plane.predict(records, request_id, started=started)
        except FieldError as exc:
            metrics.observe(endpoint, None, "invalid_input", 0.0)
            detail: dict[str, Any] = {"field": exc.field, "reason": exc.reason}
            if exc.row is not None:
                detail["row"] = exc.row
            return _error(422, str(exc), detail=detail)
        except FormatError as exc:
            metrics.observe(endpoint, None, "bad_request", 0.0)
            return _error(400, str(exc))
        except WorkbenchError as exc:
            metrics.observe(endpoint, None, "invalid_input", 0.0)
            return _error(422, str(exc))
        except Exception as exc:  # a bug: one line to the client, the traceback to the log
            _logger.exception("scoring failed")
            metrics.observe(endpoint, None, "error", 0.0)
            return _error(500, f"internal error: {type(exc).__name__}")
        role = answer.rows[0][0].role
        if len(answer.rows) > 1:
            counts: dict[str, int] = {}
            for model, _ in answer.rows:
                counts[model.role] = counts.get(model.role, 0) + 1
            for answered, n in counts.items():
                metrics.answered(answered, n)
            role = role if len(counts) == 1 else "mixed"
        else:
            metrics.answered(role, 1)
        if mlflow:
            content = answer.mlflow()
        else:
            content = answer.single() if single else answer.many()
        response = Response(json.dumps(content).encode(), media_type=_JSON)
        response.headers["x-request-id"] = answer.request_id
        metrics.observe(endpoint, role, "ok", _clock() - started)
        return response

    async def predict(request: Request) -> Response:
        return await score(request, "predict")

    async def invocations(request: Request) -> Response:
        return await score(request, "invocations")

    async def health(request: Request) -> Response:
        session = server.session
        if session is None:
            return _error(503, "not ready")
        models = {m.role: f"{m.name}@v{m.version}" for m in session.deployment.models()}
        return _json({"status": "ok", "models": models})

    async def model(request: Request) -> Response:
        session = server.session
        if session is None:
            return _error(503, "not ready")
        if not authorized(request):
            return _error(401, "a bearer token is required", {"WWW-Authenticate": "Bearer"})
        return _json(session.describe())

    async def exposition(request: Request) -> Response:
        if not authorized(request):
            return _error(401, "a bearer token is required", {"WWW-Authenticate": "Bearer"})
        return Response(metrics.exposition(), media_type="text/plain; version=0.0.4")

    routes = [
        Route("/predict", predict, methods=["POST"]),
        Route("/invocations", invocations, methods=["POST"]),
        Route("/health", health, methods=["GET"]),
        Route("/ping", health, methods=["GET"]),  # MLflow's scoring server name for it
        Route("/model", model, methods=["GET"]),
        Route("/metrics", exposition, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.metrics = metrics
    app.state.server = server
    return app


def _parse(body: bytes, content_type: str | None, endpoint: str) -> tuple[Any, bool, bool]:
    """(records, one record was sent, answer in MLflow's shape) of a body."""
    kind = (content_type or _JSON).split(";", 1)[0].strip().lower()
    if kind == "text/csv":
        frame = frame_of_csv(body)
        return frame.to_dicts(), False, endpoint == "invocations"
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise FormatError(f"the body is not JSON: {exc}") from None
    if endpoint == "invocations":
        return records_of_invocation(payload), False, True
    records, single = records_of_predict(payload)
    return records, single, False


def _request_id(given: str | None) -> str | None:
    """A client's ``X-Request-ID`` (kept as the log's idempotency key), checked."""
    if given is None:
        return None
    if not 0 < len(given) <= 128 or not given.isprintable():
        raise FormatError("X-Request-ID must be 1 to 128 printable characters")
    return given


async def _read_body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit():
        if int(length) > limit:
            raise _TooLarge
        return await request.body()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _json(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(content).encode(), status, headers, media_type=_JSON)


def _error(
    status: int,
    message: str,
    headers: dict[str, str] | None = None,
    detail: dict[str, Any] | None = None,
) -> Response:
    return _json({"error": message, **(detail or {})}, status, headers)
