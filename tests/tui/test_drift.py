"""The Drift screen: compare two snapshots, column detail, cancel, the batches (months) view,
and SVG snapshots at 120x40 (review the SVGs before --snapshot-update)."""

from __future__ import annotations

import time

import pytest

from tests.drift.workspace import build_drift_workspace
from tests.tui.conftest import SIZE, app_on, notifications, private_copy, settle, wait_until
from workbench.errors import InputError


@pytest.fixture(scope="session")
def drift_template(tmp_path_factory):
    return build_drift_workspace(tmp_path_factory.mktemp("drift-tui") / "ws")


@pytest.fixture
def drift_app(drift_template, tmp_path):
    root = private_copy(drift_template, tmp_path)
    return lambda: app_on(root)


async def drift_ready(pilot):
    """Open the Drift area and wait for the default comparison and its first column."""
    app = pilot.app
    await wait_until(pilot, lambda: app.workspace is not None)
    await pilot.press("4")
    await wait_until(pilot, lambda: getattr(app.screen, "report", None) is not None)
    screen = app.screen
    plot = screen.query_one("#drift-histogram")
    await wait_until(pilot, lambda: plot.distribution is not None)
    await wait_until(pilot, lambda: not screen.running)
    await settle(pilot)
    return screen


async def test_compare_shows_drifted_columns_first(drift_app):
    app = drift_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await drift_ready(pilot)
        assert screen.pair == ("churn@v1", "prod-2025-10@v1")
        report = screen.report
        assert set(report.drifted_columns) >= {"payment_method", "data_usage_gb"}
        table = screen.query_one("#drift-table")
        n = report.n_drifted
        marks = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert all("●" in m for m in marks[:n]) and not any("●" in m for m in marks[n:-1])
        assert str(table.get_row_at(table.row_count - 1)[1]) == "churn (target)"
        summary = str(screen.query_one("#drift-summary").render())
        assert f"{n}/11 columns drifted" in summary and "target churn" in summary
        # the same numbers as the facade
        direct = app.workspace.drift("churn@v1", "prod-2025-10", save=False)
        assert direct.to_dict()["columns"] == report.to_dict()["columns"]


async def test_selecting_a_column_shows_its_detail(drift_app):
    app = drift_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await drift_ready(pilot)
        row = next(i for i, c in enumerate(screen.rows) if c.column == "payment_method")
        screen.query_one("#drift-table").focus()
        await pilot.press(*["down"] * row)
        plot = screen.query_one("#drift-histogram")
        await wait_until(
            pilot, lambda: plot.distribution is not None
            and plot.distribution.column == "payment_method",
        )  # fmt: skip
        assert "Crypto wallet" in plot.distribution.categories
        text = str(screen.query_one("#drift-explain").render())
        assert "Jensen-Shannon" in text and "threshold 0.1" in text and "Crypto wallet" in text


async def test_escape_cancels_a_running_comparison(drift_app):
    from workbench.errors import Cancelled

    app = drift_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await drift_ready(pilot)
        started = []

        def slow_drift(*args, progress, **kwargs):
            progress.start("drift", total=100)
            started.append(True)
            for _ in range(200):  # ~10 s unless cancelled
                progress.check_cancelled()
                progress.advance()
                time.sleep(0.05)
            raise AssertionError("not cancelled")

        app.workspace.drift = slow_drift
        await pilot.press("r")
        await wait_until(pilot, lambda: started and screen.running)
        assert screen.query_one("#drift-progress-row").display
        await pilot.press("escape")
        await wait_until(pilot, lambda: not screen.running)
        assert screen.report is None
        assert "cancelled" in str(screen.query_one("#drift-summary").render())
        assert not screen.query_one("#drift-progress-row").display
        assert Cancelled  # the worker turned the engine's Cancelled into a message
        # errors become notifications, and the screen keeps working
        del app.workspace.drift

        def failing(*args, **kwargs):
            raise InputError("broken on purpose")

        app.workspace.drift = failing
        await pilot.press("r")
        await wait_until(pilot, lambda: not screen.running)
        await pilot.pause()
        assert any("broken on purpose" in n.message for n in notifications(app))
        del app.workspace.drift
        await pilot.press("r")
        await wait_until(pilot, lambda: screen.report is not None and not screen.running)


async def test_batches_view_flags_the_broken_feed_month(drift_app):
    app = drift_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await drift_ready(pilot)
        await pilot.press("m")
        await wait_until(pilot, lambda: screen.batches is not None and not screen.running)
        frame = screen.batches
        assert frame["current"].to_list() == [f"prod-2025-{m:02d}@v1" for m in (7, 8, 9, 10)]
        assert frame.filter(frame["flagged"])["current"].to_list() == ["prod-2025-09@v1"]
        table = screen.query_one("#drift-batches")
        assert "!" in str(table.get_row_at(2)[0]) and "nulls" in str(table.get_row_at(2)[6])
        chart = screen.query_one("#drift-batches-chart")
        assert chart.labels == ["2025-07", "2025-08", "2025-09", "2025-10"]
        # enter on a batch shows its columns (the table takes the focus on the app's next turn)
        await wait_until(pilot, lambda: table.has_focus)
        await pilot.press("down", "down", "enter")
        await wait_until(
            pilot, lambda: screen.report is not None
            and screen.report.current == "prod-2025-09@v1" and not screen.running,
        )  # fmt: skip
        assert screen.rows[0].column == "monthly_charges"
        # its weekly windows: the current batch has a time column
        chart = screen.query_one("#drift-time-chart")
        assert len(chart.labels) >= 4


def test_drift_screen_snapshot(snap_compare, drift_app):
    async def run_before(pilot):
        await drift_ready(pilot)

    assert snap_compare(drift_app(), terminal_size=SIZE, run_before=run_before)


def test_drift_batches_snapshot(snap_compare, drift_app):
    async def run_before(pilot):
        screen = await drift_ready(pilot)
        await pilot.press("m")
        await wait_until(pilot, lambda: screen.batches is not None and not screen.running)
        pilot.app.clear_notifications()  # the flag toast would cover the chart's labels
        await settle(pilot)

    assert snap_compare(drift_app(), terminal_size=SIZE, run_before=run_before)
