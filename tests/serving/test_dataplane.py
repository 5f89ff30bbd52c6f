"""The data plane and the alias watcher with real scorers and an in-memory log sink.

Routing (canary by a salted hash: deterministic, sticky, a new salt moves the canaries),
shadow rows off the response path, request ids, and the rolling reload: a slow load keeps the
old deployment answering, then one swap; requests in flight finish on their version.
"""

from __future__ import annotations

import threading
import time

import pytest

from tests.serving.serving_helpers import NAME, open_as, served_demo
from workbench.api import DeploymentSpec, FieldError, Workspace
from workbench.serving.dataplane import DataPlane
from workbench.serving.deployment import (
    CanarySplit,
    Deployment,
    DeploymentHolder,
    ServingModel,
    parse_canary,
)
from workbench.serving.predlog import MemorySink, PredictionLog
from workbench.serving.watcher import AliasWatcher, Resolved


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Workspace:
    return Workspace(served_demo(tmp_path_factory.mktemp("plane") / "ws"))


@pytest.fixture(scope="module")
def scorers(demo):
    return {v: demo.scorer(f"{NAME}@v{v}") for v in (1, 2)}


@pytest.fixture(scope="module")
def rows(demo):
    return demo.load("prod-2025-07").to_dicts()


def _model(scorers, role, version, ref=None):
    return ServingModel(role, ref or f"{NAME}@v{version}", NAME, version, scorers[version])


def _plane(deployment):
    sink = MemorySink()
    log = PredictionLog(sink, interval=3600)
    return DataPlane(DeploymentHolder(deployment), log), log, sink


def test_a_record_is_answered_and_logged_with_its_inputs_and_key(scorers, rows):
    plane, log, sink = _plane(Deployment(_model(scorers, "champion", 1)))
    answer = plane.predict([rows[0]], "req-1")
    body = answer.single()
    assert (body["request_id"], body["version"], body["role"]) == ("req-1", 1, "champion")
    assert set(body) == {"request_id", "model", "version", "role", "label", "probability"}
    expected, _ = scorers[1].score_records([rows[0]])
    assert body["probability"] == expected.probability[0]
    log.close()
    (row,) = sink.rows
    assert (row.request_id, row.version, row.role, row.entity_key) == (
        "req-1", 1, "champion", rows[0]["customer_id"]
    )  # fmt: skip
    assert row.score == body["probability"] and row.predicted_label == body["label"]
    assert row.inputs == scorers[1].conform_records([rows[0]])[0]


def test_a_list_gets_one_id_per_record(scorers, rows):
    plane, log, sink = _plane(Deployment(_model(scorers, "champion", 1)))
    answer = plane.predict(rows[:3], "batch")
    assert [p["role"] for p in answer.many()["predictions"]] == ["champion"] * 3
    log.close()
    assert [r.request_id for r in sink.rows] == ["batch/0", "batch/1", "batch/2"]


def test_generated_request_ids_are_unique():
    plane, log, _ = _plane(Deployment(_model({1: None}, "champion", 1)))
    ids = {plane.new_request_id() for _ in range(1000)}
    log.close()
    assert len(ids) == 1000


def test_the_canary_split_is_deterministic_sticky_and_new_with_each_salt():
    keys = [f"CUST-{i:06d}" for i in range(20_000)]
    split = CanarySplit(0.1, "customer_id", "salt-one")
    picks = [split.picks(k) for k in keys]
    assert picks == [split.picks(k) for k in keys]  # the same customers every time
    assert 0.09 < sum(picks) / len(keys) < 0.11
    other = CanarySplit(0.1, "customer_id", "salt-two")
    moved = sum(a != b for a, b in zip(picks, (other.picks(k) for k in keys), strict=True))
    assert moved > 0.15 * len(keys)  # a new set-up picks other customers
    assert not split.picks(None)
    assert DeploymentSpec("m", canary="m@v2", canary_fraction=0.1, route_key="k").salt != (
        DeploymentSpec("m", canary="m@v2", canary_fraction=0.1, route_key="k").salt
    )
    assert parse_canary("churn@challenger:10%") == ("churn@challenger", 0.1)
    assert parse_canary("churn@challenger:0.25") == ("churn@challenger", 0.25)


def test_canary_rows_are_answered_and_logged_by_the_canary(scorers, rows):
    split = CanarySplit(0.3, "customer_id", "fixed")
    deployment = Deployment(_model(scorers, "champion", 1), canary=_model(scorers, "canary", 2),
                            split=split)  # fmt: skip
    plane, log, sink = _plane(deployment)
    answers = [plane.predict([r]).single() for r in rows[:200]]
    for row, answer in zip(rows[:200], answers, strict=True):
        canary = split.picks(row["customer_id"])
        assert (answer["role"], answer["version"]) == (("canary", 2) if canary else ("champion", 1))
    mixed = plane.predict(rows[:50], "list").many()["predictions"]
    assert [p["version"] for p in mixed] == [a["version"] for a in answers[:50]]
    log.close()
    routes = {r.route for r in sink.rows}
    assert routes == {"champion", "canary 0.3"}


def test_an_invalid_record_in_a_split_list_is_reported_at_its_place(scorers, rows):
    split = CanarySplit(0.5, "customer_id", "fixed")
    deployment = Deployment(_model(scorers, "champion", 1), canary=_model(scorers, "canary", 2),
                            split=split)  # fmt: skip
    plane, log, sink = _plane(deployment)
    bad = [dict(r) for r in rows[:10]]
    bad[7]["tenure_months"] = "seven"
    with pytest.raises(FieldError) as err:
        plane.predict(bad)
    assert (err.value.row, err.value.field) == (7, "tenure_months")
    log.close()
    assert sink.rows == []  # nothing of a refused request is logged


def test_the_shadow_scores_every_request_off_the_response_path(scorers, rows):
    deployment = Deployment(_model(scorers, "champion", 1), shadow=_model(scorers, "shadow", 2))
    plane, log, sink = _plane(deployment)
    for i, row in enumerate(rows[:100]):
        assert plane.predict([row], f"r{i}").single()["version"] == 1
    plane.predict(rows[100:103], "list")
    plane.close()
    log.close()
    shadow = [r for r in sink.rows if r.role == "shadow"]
    champion = [r for r in sink.rows if r.role == "champion"]
    assert len(shadow) == len(champion) == 103
    assert {r.request_id for r in shadow} == {r.request_id for r in champion}
    expected, _ = scorers[2].score_records(rows[:103])
    by_id = {r.request_id: r.score for r in shadow}
    ids = [f"r{i}" for i in range(100)] + ["list/0", "list/1", "list/2"]
    assert [by_id[i] for i in ids] == list(expected.probability)
    assert all(r.version == 2 and r.route == "shadow" for r in shadow)
    assert plane.shadow.stats().scored == 103


def test_a_record_the_shadow_cannot_score_is_counted_and_the_others_are_scored(scorers, rows):
    class Refusing:
        """A shadow whose feature set lacks a field the requests carry."""

        def __init__(self, inner):
            self.inner = inner
            self.key_column = inner.key_column

        def score_records(self, records):
            if any(r.get("region") == "Nowhere" for r in records):
                raise FieldError("region", "unknown_category", "no")
            return self.inner.score_records(records)

    shadow = ServingModel("shadow", "x", NAME, 2, Refusing(scorers[2]))
    plane, log, sink = _plane(Deployment(_model(scorers, "champion", 1), shadow=shadow))
    plane.predict([{**rows[0], "region": "Nowhere"}], "bad")
    plane.predict([rows[1]], "good")
    plane.close()
    log.close()
    assert plane.shadow.stats().failed == 1
    assert {r.request_id for r in sink.rows if r.role == "shadow"} == {"good"}


def test_a_shadow_on_the_champions_own_version_is_not_scored_twice(scorers, rows):
    deployment = Deployment(_model(scorers, "champion", 1), shadow=_model(scorers, "shadow", 1))
    plane, log, sink = _plane(deployment)
    plane.predict([rows[0]], "one")
    plane.close()
    log.close()
    assert [r.role for r in sink.rows] == ["champion"]


# -- the alias watcher ---------------------------------------------------------------------


def test_rolling_reload_keeps_the_old_version_answering_until_the_new_one_is_ready(scorers, rows):
    """After MLServer's test_rolling_reload: a slow load, the old model stays ready."""
    holder = DeploymentHolder(Deployment(_model(scorers, "champion", 1, f"{NAME}@champion")))
    plane = DataPlane(holder)
    target = {"version": 1}
    loading, release = threading.Event(), threading.Event()

    def slow_load(name, version):
        loading.set()
        assert release.wait(30)
        return scorers[version]

    watcher = AliasWatcher(
        holder, {"champion": f"{NAME}@champion"},
        resolve=lambda ref: Resolved(NAME, target["version"]), load=slow_load,
        token=lambda: target["version"], interval=0.01,
    )  # fmt: skip
    watcher.start()
    try:
        target["version"] = 2  # the alias moved
        assert loading.wait(10)
        answered = [plane.predict([r]).single()["version"] for r in rows[:50]]
        assert answered == [1] * 50  # still ready, still the old version, while v2 loads
        in_flight = holder.current  # a request that started before the swap
        release.set()
        deadline = time.monotonic() + 10
        while holder.current.champion.version != 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert holder.current.champion.version == 2
        assert in_flight.champion.version == 1  # what it holds never changes
        assert plane.predict([rows[0]]).single()["version"] == 2
        assert [s.changes for s in watcher.swaps] == [{"champion": (1, 2)}]
    finally:
        release.set()
        watcher.stop()


def test_a_failed_load_keeps_serving_and_a_removed_shadow_alias_drops_the_role(scorers):
    holder = DeploymentHolder(
        Deployment(_model(scorers, "champion", 1), shadow=_model(scorers, "shadow", 2))
    )
    state = {"champion": 1, "shadow": 2}

    def resolve(ref):
        from workbench.errors import InputError

        version = state[ref]
        if version is None:
            raise InputError("no such alias")
        return Resolved(NAME, version)

    def load(name, version):
        raise OSError("disk error")

    watcher = AliasWatcher(holder, {"champion": "champion", "shadow": "shadow"},
                           resolve=resolve, load=load, token=lambda: 0)  # fmt: skip
    state["champion"] = 3
    assert watcher.check() is None and holder.current.champion.version == 1
    assert "disk error" in watcher.last_error
    state["champion"] = 1
    state["shadow"] = None
    swap = watcher.check()
    assert swap.changes == {"shadow": (2, None)} and holder.current.shadow is None


def test_the_service_watcher_follows_a_promotion_and_a_rollback(demo, scorers):
    ws = open_as(demo.root, "alice")
    session = ws.serving_session(f"{NAME}@champion", log=False, status=False, interval=0.05)
    with session:
        assert session.deployment.champion.version == 1
        ws.set_alias(f"{NAME}@v2", "champion", "promote")
        _wait(lambda: session.deployment.champion.version == 2)
        ws.rollback(NAME, "back")
        _wait(lambda: session.deployment.champion.version == 1)
    assert [s.changes["champion"] for s in session.watcher.swaps] == [(1, 2), (2, 1)]


def _wait(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
