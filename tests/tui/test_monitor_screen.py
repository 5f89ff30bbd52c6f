"""The Monitor screen on the small served workspace of ``tests/monitoring/story.py``: the
timeline and sparklines, open alerts acknowledged with ``a``, a window's drift view, a check
and a retraining proposal filed by hand; one reviewed SVG snapshot."""

from __future__ import annotations

import shutil

import pytest

from tests.monitoring.story import MONTHS, build, set_clock
from tests.tui.conftest import SIZE, app_on, notifications, settle, wait_until


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The story workspace with labels for July-October and one check run."""
    from datetime import UTC, datetime

    root = tmp_path_factory.mktemp("monitor-tui") / "ws"
    ws = build(root)
    for month in MONTHS[:4]:
        ws.import_labels(root / "data" / f"labels_{month}.csv", "customer_id")
    set_clock(ws, lambda: datetime(2026, 1, 5, tzinfo=UTC))
    ws.monitor_check()
    return root


@pytest.fixture
def root(served, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_ACTOR", "alice")
    dest = tmp_path / "ws"
    shutil.copytree(served, dest)
    return dest


async def _monitor_ready(pilot):
    from workbench.tui.screens.monitor import MonitorScreen

    await wait_until(pilot, lambda: pilot.app.workspace is not None)
    await pilot.press("6")
    await wait_until(
        pilot,
        lambda: isinstance(pilot.app.screen, MonitorScreen) and pilot.app.screen.view is not None,
    )
    await settle(pilot)
    return pilot.app.screen


async def test_timeline_alerts_detail_and_actions(root):
    from textual.widgets import DataTable, Sparkline

    from workbench.api import Workspace
    from workbench.tui.screens.monitor.detail import WindowDetail

    app = app_on(root)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _monitor_ready(pilot)
        timeline = screen.query_one("#monitor-timeline", DataTable)
        assert timeline.row_count == 6
        assert [str(timeline.get_row_at(i)[0]) for i in range(6)] == list(MONTHS)
        assert list(screen.query_one("#spark-volume", Sparkline).data) == [400.0] * 6
        alerts = screen.query_one("#monitor-alerts", DataTable)
        assert alerts.row_count >= 1
        timeline.move_cursor(row=2)  # September: the broken feed
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, WindowDetail))
        detail = app.screen.query_one("#monitor-detail-table", DataTable)
        features = [str(detail.get_row_at(i)[0]) for i in range(detail.row_count)]
        assert "monthly_charges" in features[:3]  # the feed in cents drifts most
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen)
        alerts.focus()
        await pilot.press("a")
        await wait_until(pilot, lambda: any("acknowledged alert" in n.message
                                            for n in notifications(app)))  # fmt: skip
        await pilot.press("p")
        await wait_until(pilot, lambda: any("filed decision" in n.message
                                            for n in notifications(app)))  # fmt: skip
        await settle(pilot)
    ws = Workspace(root)
    assert any(a.acknowledged_by == "alice" for a in ws.alerts("firing"))
    assert ws.decisions("pending")[0].reason.startswith("filed by hand from the Monitor screen")


def test_monitor_screen_snapshot(snap_compare, root):
    async def run_before(pilot):
        await _monitor_ready(pilot)
        for table in pilot.app.screen.query("DataTable"):
            table._show_hover_cursor = False
            table.refresh()
        await settle(pilot)

    # no change polling: a refresh it starts could land between settling and the picture
    app = app_on(root, poll_interval=3600)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


async def test_a_window_too_small_to_judge_is_dimmed_and_said_so(root):
    """Two requests in a new month show a drift share of 1.00: the policies do not judge a
    window under ``min_rows``, and the screen says so instead of headlining the number."""
    from datetime import UTC, datetime

    from rich.text import Text

    from workbench.api import Workspace

    ws = Workspace(root)
    frame = ws.load("churn@v1").head(2)
    ws.log_batch("churn-model@champion", frame, at=datetime(2026, 2, 3, tzinfo=UTC))
    app = app_on(root)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _monitor_ready(pilot)
        summary = str(screen.query_one("#monitor-summary").render())
        assert "newest 2026-02: 2 rows, too few rows to judge (under 100)" in summary
        table = screen.query_one("#monitor-timeline")
        last = table.get_row_at(table.row_count - 1)
        assert last[0] == "2026-02" and isinstance(last[5], Text) and last[5].style == "dim"
        first = table.get_row_at(0)
        assert not isinstance(first[5], Text)  # a full window as before
