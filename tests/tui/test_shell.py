"""Pilot tests of the shell: areas, help, command palette, a workspace that cannot open."""

from __future__ import annotations

from textual.command import CommandPalette

from tests.tui.conftest import (
    SIZE,
    app_on,
    data_ready,
    notifications,
    screen_shown,
    settle,
    wait_until,
)
from workbench.tui.app import WorkbenchApp
from workbench.tui.areas import AREAS
from workbench.tui.screens.base import AreaScreen
from workbench.tui.screens.data import DataScreen
from workbench.tui.screens.help import HelpScreen


async def test_number_keys_switch_areas_and_keep_each_stack(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await data_ready(pilot)
        data = app.screen
        for area in AREAS[1:]:
            await pilot.press(area.key)
            assert app.current_mode == area.mode
            # its title is set when it mounts, which on a busy machine came after the key
            screen = await screen_shown(pilot, AreaScreen)
            assert screen.title == area.title
        await pilot.press("1")
        assert app.current_mode == "data"
        assert app.screen is data and data.rows is not None


def test_every_binding_has_an_id_and_a_description():
    from workbench.tui.screens.import_snapshot import ImportScreen
    from workbench.tui.screens.snapshot_diff import SnapshotDiffScreen

    for owner in (WorkbenchApp, DataScreen, HelpScreen, ImportScreen, SnapshotDiffScreen):
        for binding in owner.BINDINGS:
            assert binding.id and binding.description, (owner.__name__, binding)


async def test_help_lists_the_screen_keys_and_closes(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await data_ready(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        help_screen = app.screen
        ids = [k.binding_id for k in help_screen.keys]
        assert ids[:4] == ["data.mark", "data.diff", "data.import", "data.refresh"]
        assert "app.help" in ids
        assert "Snapshot table" in help_screen.widget_help  # the focused widget's help
        await pilot.press("escape")
        assert isinstance(app.screen, DataScreen)


async def test_command_palette_offers_area_and_data_commands(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await data_ready(pilot)
        await pilot.press("ctrl+p")
        await screen_shown(pilot, CommandPalette)
        await pilot.press(*"drift")
        await wait_until(pilot, lambda: "Go to Drift" in _options(app))
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.current_mode == "drift")
        await pilot.press("1", "ctrl+p")
        await screen_shown(pilot, CommandPalette)
        await pilot.press(*"import")
        await wait_until(pilot, lambda: "Import a file" in _options(app))


def _options(app) -> str:
    palette = app.screen
    options = palette.query_one("CommandList")
    return " ".join(str(options.get_option_at_index(i).prompt) for i in range(options.option_count))


async def test_a_missing_workspace_is_a_notification_not_a_crash(tmp_path):
    app = app_on(tmp_path / "nowhere", poll_interval=None)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: bool(notifications(app)))
        await settle(pilot)
        assert app.is_running
        note = notifications(app)[0]
        assert note.severity == "error" and "no workspace" in note.message


def test_app_module_imports_no_heavy_library():
    """The first paint must not wait for Polars, DuckDB, pyarrow or the core."""
    import subprocess
    import sys

    code = (
        "import sys, workbench.tui.app, workbench.tui.screens.data; "
        "print(sorted(m for m in ('polars', 'duckdb', 'pyarrow', 'workbench.api', "
        "'pydantic_settings') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
