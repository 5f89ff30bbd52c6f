"""Fixtures for the TUI tests: a small deterministic workspace and helpers to drive the app.

Snapshots must match on a fresh machine: the workspace is built from fixed data, its author
and timestamps are set to fixed values, and its folder is always named ``ws``.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from textual.notifications import Notification, Notifications
from textual.worker import WorkerCancelled, WorkerFailed

from tests.helpers import allow_any_actor, record_fixture_edits

SIZE = (120, 40)
EPOCH = datetime(2025, 3, 1, 9, 30)


def _people(n: int, shift: int = 0) -> pl.DataFrame:
    """Deterministic rows: an id key, numbers, a category and a date."""
    i = pl.int_range(0, n, eager=True)
    return pl.DataFrame(
        {
            "customer_id": [f"C{k:04d}" for k in range(n)],
            "age": ((i * 7 + shift) % 50 + 18).to_list(),
            "plan": [("basic", "plus", "pro")[(k + shift) % 3 if k % 5 else 0] for k in range(n)],
            "monthly_fee": [round(9.5 + ((k * 13 + shift) % 40) * 1.25, 2) for k in range(n)],
            "signup": [datetime(2024, 1, 1) + timedelta(days=(k * 3) % 200) for k in range(n)],
        }
    ).with_columns(pl.col("signup").dt.date())


def build_workspace(root: Path) -> Path:
    """Create the test workspace at ``root``: customers@v1, customers@v2, events@v1."""
    from workbench.api import Workspace

    ws = Workspace.init(root)
    settings = ws.dir / "workbench.toml"
    settings.write_text('actor = "tester"\n' + settings.read_text(), encoding="utf-8")
    allow_any_actor(settings)
    ws = Workspace(root)
    data = root / "data"
    data.mkdir()
    _people(40).write_csv(data / "customers.csv")
    v2 = _people(46, shift=3).with_columns(churned=(pl.col("age") % 4 == 0))
    v2.write_csv(data / "customers_v2.csv")
    pl.DataFrame(
        {"event": ["login", "logout", "login", "buy"] * 5, "n": [k * k % 23 for k in range(20)]}
    ).write_csv(data / "events.csv")
    ws.add_snapshot(data / "customers.csv", "customers", key="customer_id", message="first export")
    ws.add_snapshot(data / "events.csv", "events", message="click events")
    ws.add_snapshot(data / "customers_v2.csv", "customers", message="adds churn label")
    with ws.store.write() as con:
        for snapshot_id in (1, 2, 3):
            con.execute(
                "update snapshots set created_at = ? where id = ?",
                [EPOCH + timedelta(days=snapshot_id), snapshot_id],
            )
        record_fixture_edits(ws, con, "snapshots")
    return root


@pytest.fixture(scope="session")
def template_workspace(tmp_path_factory) -> Path:
    """Built once per session; tests copy it."""
    return build_workspace(tmp_path_factory.mktemp("template") / "ws")


def private_copy(template: Path, tmp_path: Path) -> Path:
    """A copy of a session-built template workspace, in a folder named ``ws`` (snapshots show
    the folder name, so every suite uses the same one)."""
    root = tmp_path / "ws"
    shutil.copytree(template, root)
    return root


class KeptNotifications(Notifications):
    """The app's notifications, plus every one it ever had in ``every``: Textual drops a
    notification when its toast times out (5 s), which on a busy machine happened before the
    test looked at it."""

    def __init__(self) -> None:
        super().__init__()
        self.every: list[Notification] = []

    def add(self, notification: Notification) -> KeptNotifications:
        self.every.append(notification)
        return super().add(notification)


def notifications(app) -> list[Notification]:
    """Every notification ``app`` (built by ``app_on``) has shown, expired ones included."""
    return app._notifications.every


def app_on(root: Path, poll_interval: float | None = 0.2):
    """The app the way ``workbench ui`` builds it, polling fast for tests, keeping every
    notification for ``notifications(app)``."""
    from workbench.tui.app import WorkbenchApp

    app = WorkbenchApp(root, poll_interval=poll_interval)
    app._notifications = KeptNotifications()
    return app


@pytest.fixture
def workspace_root(template_workspace, tmp_path) -> Path:
    """A private copy of the test workspace."""
    return private_copy(template_workspace, tmp_path)


@pytest.fixture
def make_app(workspace_root):
    """Build the app the way ``workbench ui`` does, on the test workspace."""
    return lambda poll_interval=0.2: app_on(workspace_root, poll_interval)


#: Seconds a wait may last. A wait ends as soon as its condition holds, so this only bounds
#: how long a broken test takes to fail. It was 15 s (60 s for trainings): with two test
#: suites on two cores, a fresh process's first drift comparison took longer than that.
WAIT = 120.0


async def wait_until(
    pilot,
    predicate: Callable[[], bool],
    timeout: float = WAIT,
    state: Callable[[], object] | None = None,
) -> None:
    """Let the app run (workers included) until ``predicate()`` holds.

    ``state`` describes what the app showed instead, for the failure message.
    """
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            seen = f"; state: {state()!r}" if state is not None else ""
            raise AssertionError(f"timed out waiting for {predicate}{seen}")
        await pilot.pause(0.05)


async def screen_shown(pilot, kind: type):
    """Wait until the top screen is a ``kind`` with all its widgets mounted, and return it.

    A pushed screen is on top before it has composed: on a busy machine a test that set a
    field right away found the form's select without its parts (NoMatches '#label').
    """
    app = pilot.app
    await wait_until(pilot, lambda: isinstance(app.screen, kind) and app.screen.is_mounted)
    return app.screen


async def settle(pilot) -> None:
    """Wait until no worker is running and the UI has processed its messages."""
    app = pilot.app
    for _ in range(200):
        try:
            await app.workers.wait_for_complete()
        except (WorkerCancelled, WorkerFailed):
            pass  # an exclusive worker replaced by a newer one; failures are asserted elsewhere
        await pilot.pause()
        if not any(w.is_running for w in app.workers):
            await pilot.pause()
            return
    raise AssertionError("workers never settled")


async def data_ready(pilot) -> None:
    """Wait for the snapshot table and the detail of the highlighted snapshot."""
    app = pilot.app
    await wait_until(pilot, lambda: app.workspace is not None)
    screen = app.screen

    def loaded() -> bool:
        detail = screen.query("#snapshot-detail")
        return (
            screen.rows is not None
            and bool(screen.query("#snapshot-table"))
            and bool(detail)
            and detail.first().snapshot_id == screen.highlighted_id
        )

    await wait_until(pilot, loaded)
    await settle(pilot)
