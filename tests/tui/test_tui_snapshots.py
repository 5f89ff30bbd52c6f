"""SVG snapshot tests of each screen at 120x40 (review the SVGs before --snapshot-update)."""

from __future__ import annotations

from tests.tui.conftest import SIZE, data_ready, screen_shown, settle, wait_until
from workbench.tui.screens.import_snapshot import ImportScreen
from workbench.tui.screens.snapshot_diff import SnapshotDiffScreen


def test_data_screen(snap_compare, make_app):
    async def run_before(pilot):
        await data_ready(pilot)
        await pilot.press("down", "space")
        await wait_until(
            pilot, lambda: pilot.app.screen.query_one("#snapshot-detail").snapshot_id == 2
        )
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_help_screen(snap_compare, make_app):
    async def run_before(pilot):
        await data_ready(pilot)
        await pilot.press("question_mark")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_diff_view(snap_compare, make_app):
    async def run_before(pilot):
        await data_ready(pilot)
        await pilot.press("space", "down", "down", "space", "d")
        await screen_shown(pilot, SnapshotDiffScreen)
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_import_modal(snap_compare, make_app):
    async def run_before(pilot):
        await data_ready(pilot)
        await pilot.press("i")
        await screen_shown(pilot, ImportScreen)
        for field in pilot.app.screen.query("Input"):
            field.cursor_blink = False
        await pilot.press(*"data/new.csv")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_monitor_area_without_a_model(snap_compare, make_app):
    async def run_before(pilot):
        await data_ready(pilot)
        await pilot.press("6")  # Monitor: nothing is served in this workspace
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)
