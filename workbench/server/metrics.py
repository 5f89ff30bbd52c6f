"""The server's Prometheus metrics, in a registry of its own (never the global default).

The app factory makes one ``ServerMetrics`` per app, so a new app is a clean slate and tests
read values with ``registry.get_sample_value``. Labels come from closed sets: the endpoint
(``predict``, ``invocations``), the outcome (``ok``, ``bad_request``, ``invalid_input``,
``too_large``, ``unauthorized``, ``error``) and the role that answered (``champion``,
``canary``, ``mixed`` for a list split between them; the shadow's counts come from the
session). State that lives elsewhere (the
versions serving, the prediction log's queue, the shadow's counters) is read at scrape time by
a collector.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = ["ServerMetrics", "OUTCOMES", "ENDPOINTS"]

ENDPOINTS = ("predict", "invocations")
OUTCOMES = ("ok", "bad_request", "invalid_input", "too_large", "unauthorized", "error")
#: latency buckets in seconds: a single record takes about a millisecond
BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)


class ServerMetrics:
    """Request counters and the latency histogram, plus what ``state()`` reports at scrape."""

    def __init__(self, state: Callable[[], dict[str, Any]] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "workbench_requests", "Scoring requests by endpoint and outcome.",
            ["endpoint", "outcome"], registry=self.registry,
        )  # fmt: skip
        self.rows = Counter(
            "workbench_predictions", "Records answered, by the role of the model that answered.",
            ["role"], registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "workbench_request_latency_seconds",
            "Time from reading a request to its answer, by endpoint and answering role.",
            ["endpoint", "role"], buckets=BUCKETS, registry=self.registry,
        )  # fmt: skip
        # children resolved once: a label lookup per request costs more than the increment
        self._requests = {(e, o): self.requests.labels(e, o) for e in ENDPOINTS for o in OUTCOMES}
        self._latency: dict[tuple[str, str], Any] = {}
        self._rows: dict[str, Any] = {}
        self.total = 0
        self.errors = 0
        if state is not None:
            self.registry.register(_StateCollector(state))

    def observe(self, endpoint: str, role: str | None, outcome: str, seconds: float) -> None:
        """Count one request and, when it was answered (``role``), its latency."""
        self._requests[(endpoint, outcome)].inc()
        self.total += 1
        if outcome != "ok":
            self.errors += 1
            return
        key = (endpoint, role or "none")
        child = self._latency.get(key)
        if child is None:
            child = self._latency[key] = self.latency.labels(*key)
        child.observe(seconds)

    def answered(self, role: str, rows: int) -> None:
        """Records answered by the model in ``role``."""
        child = self._rows.get(role)
        if child is None:
            child = self._rows[role] = self.rows.labels(role)
        child.inc(rows)

    def counters(self) -> tuple[int, int]:
        """(requests, errors) so far, for the status file."""
        return self.total, self.errors

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)


class _StateCollector(Collector):
    """Gauges and counters read from the serving session when Prometheus scrapes."""

    def __init__(self, state: Callable[[], dict[str, Any]]) -> None:
        self._state = state

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        state = self._state()
        version = GaugeMetricFamily(
            "workbench_model_version", "The model version serving in each role.",
            labels=["role", "model"],
        )  # fmt: skip
        for role, model, number in state.get("versions", []):
            version.add_metric([role, model], number)
        yield version
        swaps = CounterMetricFamily("workbench_model_swaps", "Deployments swapped in this process.")
        swaps.add_metric([], state.get("swaps", 0))
        yield swaps
        for name, help_text, value in state.get("counters", []):
            family = CounterMetricFamily(name, help_text)
            family.add_metric([], value)
            yield family
        for name, help_text, value in state.get("gauges", []):
            gauge = GaugeMetricFamily(name, help_text)
            gauge.add_metric([], value)
            yield gauge
