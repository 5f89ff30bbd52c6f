"""The scoring server follows the model's canary ramp (``workbench monitor canary``).

Fast parts first: what a ``canary`` deployment setting asks a server to serve
(``ramp_canary``), the alias watcher following a fake ramp (no store, no sleeping), routing by
request id when there is no route key. Then a serving session on a real workspace while
``ws.start_canary``, ``ws.canary_step`` and ``ws.stop_canary`` move the ramp, and a flag that
wins over the ramp. The real server process under traffic is in ``test_canary_process.py``.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from tests.serving.serving_helpers import NAME, ramp_demo
from workbench.api import Workspace
from workbench.serving.dataplane import DataPlane
from workbench.serving.deployment import (
    CanarySplit,
    Deployment,
    DeploymentHolder,
    RampCanary,
    ServingModel,
    ramp_canary,
    ramp_salt,
)
from workbench.serving.watcher import AliasWatcher, Resolved


def _value(state="ramping", percent=5.0, version=2, step=0, started="2026-12-04T10:00:00+00:00"):
    return {"canary": f"{NAME}@v{version}", "version": version, "fraction": percent,
            "canary_fraction": percent / 100, "step": step, "state": state,
            "started_at": started}  # fmt: skip


def test_what_a_canary_setting_asks_the_server_to_serve():
    ramp = ramp_canary(NAME, 7, _value(), 2)
    assert (ramp.serves, ramp.version, ramp.fraction, ramp.state, ramp.step) == (
        True, 2, 0.05, "ramping", 0
    )  # fmt: skip
    # a completed ramp keeps its last share while the promotion waits for an approver
    assert ramp_canary(NAME, 8, _value("completed", 50.0, step=2), 2).fraction == 0.5
    stopped = _value("stopped", 0.0)
    stopped.pop("started_at")
    for off in (ramp_canary(NAME, 9, stopped, 2), ramp_canary(NAME, None, None, None),
                ramp_canary(NAME, 9, _value(percent=0.0), 2)):  # fmt: skip
        assert not off.serves and off.version is None and off.fraction == 0.0
    # the alias no longer holds the ramp's version: not served, and GET /model says why
    moved = ramp_canary(NAME, 7, _value(), 3)
    assert not moved.serves and "holds v3" in moved.note
    assert "holds no version" in ramp_canary(NAME, 7, _value(), None).note
    # one salt for every step, worker and restart of a ramp; another for the next ramp
    step = _value(percent=25.0, step=1)
    assert ramp.salt == ramp_canary(NAME, 12, step, 2).salt == ramp_salt(NAME, _value(), 7)
    assert ramp.salt != ramp_canary(NAME, 20, _value(started="2026-12-05T10:00:00+00:00"), 2).salt
    assert ramp_canary(NAME, 7, _value(), 2, salt="given").salt == "given"


def _fake(version: int, role: str = "champion", key: str | None = "customer_id") -> ServingModel:
    scorer = SimpleNamespace(key_column=key, version=version, task="binary")
    return ServingModel(role, f"{NAME}@v{version}", NAME, version, scorer)  # type: ignore[arg-type]


class FakeRamp:
    """A ramp the test moves by hand; counts loads and reads."""

    def __init__(self) -> None:
        self.value: dict | None = None
        self.setting_id = 0
        self.alias: int | None = None
        self.champion = 1
        self.loads: list[int] = []
        self.reads = 0

    def set(self, value: dict | None, alias: int | None = 2) -> None:
        self.setting_id += 1
        self.value, self.alias = value, alias

    def read(self, model: str) -> RampCanary:
        self.reads += 1
        return ramp_canary(model, self.setting_id, self.value, self.alias)

    def watcher(self, holder: DeploymentHolder, **kwargs) -> AliasWatcher:
        def load(name: str, version: int):
            self.loads.append(version)
            return _fake(version).scorer

        return AliasWatcher(
            holder, {"champion": f"{NAME}@champion"},
            resolve=lambda ref: Resolved(NAME, self.champion), load=load, token=lambda: 0,
            ramp=self.read, **kwargs,
        )  # fmt: skip


def test_the_watcher_follows_a_ramp_start_step_stop_and_promotion():
    ramp = FakeRamp()
    holder = DeploymentHolder(Deployment(_fake(1)))
    watcher = ramp.watcher(holder)
    assert watcher.check() is None and holder.current.canary is None  # no setting yet
    ramp.set(_value())
    swap = watcher.check()
    first = holder.current
    assert swap.changes == {"canary": (None, 2)} and swap.fraction == (None, 0.05)
    assert (first.canary.version, first.canary.ref, first.split.fraction) == (
        2, f"{NAME}@canary", 0.05
    )  # fmt: skip
    assert (first.split.source, first.split.route_key, first.split.route_key_from) == (
        "ramp", "customer_id", "key column"
    )  # fmt: skip
    assert first.describe()["canary"]["source"] == "ramp"
    assert watcher.check() is None  # nothing moved: nothing published
    ramp.set(_value(percent=25.0, step=1))
    swap = watcher.check()
    assert swap.changes == {} and swap.fraction == (0.05, 0.25)
    assert holder.current.canary is first.canary  # the same loaded model, a new share
    assert holder.current.split.salt == first.split.salt  # sticky across steps
    assert ramp.loads == [2]
    ramp.set(_value("stopped", 0.0))
    swap = watcher.check()
    assert swap.changes == {"canary": (2, None)} and swap.fraction == (0.25, None)
    assert holder.current.canary is None and holder.current.split is None
    # started again, completed, then the promotion is approved: v2 is the champion
    ramp.set(_value("completed", 50.0, step=2))
    watcher.check()
    assert holder.current.split.fraction == 0.5 and ramp.loads == [2, 2]
    ramp.champion = 2
    swap = watcher.check()
    assert swap.changes == {"champion": (1, 2), "canary": (2, None)}
    assert holder.current.champion.version == 2 and holder.current.canary is None
    assert "champion now" in watcher.ramp.note
    assert ramp.loads == [2, 2]  # the canary's model became the champion's, not reloaded


def test_the_ramp_route_key_is_the_option_else_the_key_column_else_the_request_id():
    for given, key, expected in (("account", "customer_id", ("account", "option")),
                                 (None, "customer_id", ("customer_id", "key column")),
                                 (None, None, (None, "request id"))):  # fmt: skip
        ramp = FakeRamp()
        holder = DeploymentHolder(Deployment(_fake(1, key=key)))
        watcher = ramp.watcher(holder, route_key=given)
        watcher._load = lambda name, version, key=key: _fake(version, key=key).scorer
        ramp.set(_value())
        watcher.check()
        split = holder.current.split
        assert (split.route_key, split.route_key_from) == expected


def test_a_watcher_with_a_canary_reference_does_not_follow_the_ramp():
    ramp = FakeRamp()
    holder = DeploymentHolder(
        Deployment(_fake(1), canary=_fake(3, "canary"), split=CanarySplit(0.1, "k", "s"))
    )
    watcher = AliasWatcher(
        holder, {"champion": "c", "canary": "k"},
        resolve=lambda ref: Resolved(NAME, 1 if ref == "c" else 3),
        load=lambda n, v: _fake(v).scorer, token=lambda: 0, ramp=ramp.read,
    )  # fmt: skip
    ramp.set(_value())
    assert not watcher.follows_ramp
    assert watcher.check() is None and ramp.reads == 0
    assert (holder.current.canary.version, holder.current.split.fraction) == (3, 0.1)


def test_a_failing_ramp_read_keeps_the_deployment_and_is_retried():
    ramp = FakeRamp()
    holder = DeploymentHolder(Deployment(_fake(1)))
    watcher = ramp.watcher(holder)

    def busy(model):
        raise OSError("workspace busy")

    watcher._ramp = busy
    before = holder.current
    assert watcher.check() is None and holder.current is before
    assert "workspace busy" in watcher.last_error


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Workspace:
    return ramp_demo(tmp_path_factory.mktemp("ramp") / "ws")


@pytest.fixture(scope="module")
def rows(demo):
    return demo.load("prod-2025-07").to_dicts()


def test_without_a_route_key_records_are_routed_by_their_request_id(demo, rows):
    champion = ServingModel("champion", "c", NAME, 1, demo.scorer(f"{NAME}@v1"))
    canary = ServingModel("canary", "k", NAME, 2, demo.scorer(f"{NAME}@v2"))
    split = CanarySplit(0.5, None, "fixed", "ramp", "request id")
    plane = DataPlane(DeploymentHolder(Deployment(champion, canary=canary, split=split)))
    answer = plane.predict(rows[:40], "req")
    roles = [p["role"] for p in answer.many()["predictions"]]
    assert roles == ["canary" if split.picks(f"req/{i}") else "champion" for i in range(40)]
    assert 5 < roles.count("canary") < 35
    single = plane.predict([rows[0]], "one").single()["role"]
    assert single == ("canary" if split.picks("one") else "champion")


def test_a_session_follows_start_step_and_stop_of_the_ramp(demo, rows):
    ws = demo
    session = ws.serving_session(f"{NAME}@champion", status=False, interval=0.05)
    with session:
        assert session.deployment.canary is None
        assert session.describe()["canary_ramp"]["followed"] is True
        ws.start_canary(f"{NAME}@v2", "try v2")
        _wait(lambda: session.deployment.canary is not None)
        at5 = session.deployment
        assert (at5.canary.version, at5.split.fraction, at5.split.route_key) == (
            2, 0.05, "customer_id"
        )  # fmt: skip
        described = session.describe()
        assert described["canary"]["source"] == "ramp" and described["canary"]["version"] == 2
        assert described["canary_ramp"]["state"] == "ramping"
        picked5 = _serve(session, rows, at5.split)
        assert 1 <= len(picked5) < 60  # ~5% of 300 customers
        assert _serve(session, rows, at5.split) == picked5  # sticky; and rows for the step
        # the step reads what the server logged since the step began (5 canary rows needed)
        _wait(lambda: ws.predictions(NAME, 2, role="canary").height >= 2 * len(picked5))
        assert ws.canary_step(NAME).action == "advanced"
        _wait(lambda: session.deployment.split.fraction == 0.25)
        at25 = session.deployment
        assert at25.canary is at5.canary and at25.split.salt == at5.split.salt
        picked25 = _serve(session, rows, at25.split)
        assert picked5 < picked25  # sticky: the 5% stay canaries at 25%
        ws.stop_canary(NAME, "enough")
        _wait(lambda: session.deployment.canary is None)
        assert _serve(session, rows[:50], None) == set()
        assert session.describe()["canary_ramp"]["state"] == "stopped"
    fractions = [s.fraction for s in session.watcher.swaps if s.fraction]
    assert fractions == [(None, 0.05), (0.05, 0.25), (0.25, None)]


def test_a_canary_option_wins_over_the_ramp(demo):
    ws = demo
    ws.start_canary(f"{NAME}@v2")
    try:
        session = ws.serving_session(f"{NAME}@champion", canary=f"{NAME}@challenger:0.1",
                                     log=False, status=False)  # fmt: skip
        with session:
            session.watcher.check()
            deployment = session.deployment
            assert (deployment.canary.version, deployment.split.fraction) == (2, 0.1)
            described = session.describe()
            assert described["canary"]["source"] == "flag"
            assert described["canary"]["route_key"] == "customer_id"  # the model's key column
            assert described["canary_ramp"]["followed"] is False
        # without the option, a session started mid-ramp serves the ramp's canary at once
        following = ws.serving_session(f"{NAME}@champion", log=False, status=False)
        try:
            assert following.deployment.split.fraction == 0.05
            assert following.deployment.split.source == "ramp"
        finally:
            following.close()
    finally:
        ws.stop_canary(NAME, "test over")  # the module's workspace has no canary serving


def _serve(session, rows, split) -> set[str]:
    """Post each row alone; every answer's role is the one the split picks. The canaries."""
    picked = set()
    for row in rows:
        body = session.plane.predict([row]).single()
        wanted = "canary" if split is not None and split.picks(row["customer_id"]) else "champion"
        assert body["role"] == wanted, (row["customer_id"], body)
        assert body["version"] == (2 if wanted == "canary" else 1)
        if wanted == "canary":
            picked.add(row["customer_id"])
    return picked


def _wait(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
