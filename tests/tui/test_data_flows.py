"""Pilot tests of the Data area: start, detail, marks and diff, import, outside changes."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from tests.tui.conftest import SIZE, data_ready, notifications, screen_shown, settle, wait_until
from workbench.tui.screens.data import DataScreen
from workbench.tui.screens.import_snapshot import ImportFinished, ImportScreen, PhaseStarted
from workbench.tui.screens.snapshot_diff import SnapshotDiffScreen


def _refs(screen: DataScreen) -> list[str]:
    return list(screen.rows.refs)


async def test_start_shows_loading_then_the_table(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, DataScreen)
        await data_ready(pilot)
        assert _refs(screen) == ["customers@v2", "events@v1", "customers@v1"]
        table = screen.query_one("#snapshot-table")
        assert table.row_count == 3
        assert table.has_focus
        assert not screen.query("#snapshot-loading")
        assert screen.query_one("#snapshot-detail").snapshot_id == 3


async def test_highlight_shows_the_detail(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await data_ready(pilot)
        screen = app.screen
        await pilot.press("down")
        detail = screen.query_one("#snapshot-detail")
        await wait_until(pilot, lambda: detail.snapshot_id == 2)
        # the pane names the snapshot before it has swapped the rows (a busy machine saw the
        # previous snapshot's rows still there)
        await wait_until(
            pilot, lambda: [r.profile.name for r in detail.query(".profile-row")] == ["event", "n"]
        )
        rows = detail.query(".profile-row")
        assert detail.border_title == "events@v1"
        # a numeric column gets a histogram sparkline, a category its top values
        assert rows[1].query("Sparkline")
        assert "login" in str(rows[0].query_one(".profile-top").render())


async def test_mark_two_and_diff(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await data_ready(pilot)
        screen = app.screen
        await pilot.press("space", "down", "down", "space")
        assert screen.marked == [3, 1]
        assert screen.query_one("#snapshot-table").get_row_at(0)[0] == "●"
        await pilot.press("d")
        await screen_shown(pilot, SnapshotDiffScreen)
        diff = app.screen.diff
        assert (diff.a, diff.b) == ("customers@v1", "customers@v2")
        assert diff.added_columns == ["churned"]
        assert diff.rows is not None and diff.rows.added == 6
        await pilot.press("escape")
        assert app.screen is screen
        assert screen.marked == [3, 1]


async def test_fast_keys_mark_the_snapshots_under_the_cursor(make_app):
    """Keys handled before the table's RowHighlighted messages (a fast typist, key repeat)."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await data_ready(pilot)
        screen = app.screen
        ids = screen.rows.ids
        screen.action_toggle_mark()  # space, down, space with no message handled in between
        screen.table.action_cursor_down()
        screen.action_toggle_mark()
        assert screen.marked == ids[:2]


async def test_diff_without_two_marks_warns(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await data_ready(pilot)
        await pilot.press("space", "d")
        await settle(pilot)
        assert isinstance(app.screen, DataScreen)
        assert any("Mark two" in n.message for n in notifications(app))


async def test_import_through_the_modal(make_app, workspace_root):
    messages = []
    app = make_app()
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        await data_ready(pilot)
        screen = app.screen
        await pilot.press("i")
        await screen_shown(pilot, ImportScreen)
        modal = app.screen
        modal.query_one("#import-path").value = "data/events.csv"
        modal.query_one("#import-name").value = "events-copy"
        modal.query_one("#import-message").value = "from the UI"
        await pilot.click("#import-run")
        await wait_until(pilot, lambda: app.screen is screen)
        await wait_until(pilot, lambda: "events-copy@v1" in _refs(screen))
        await settle(pilot)
        assert any(isinstance(m, PhaseStarted) for m in messages)
        finished = [m for m in messages if isinstance(m, ImportFinished)]
        assert finished and finished[0].result.snapshot.ref == "events-copy@v1"
        # the cursor follows the new snapshot
        assert screen.highlighted_id == finished[0].result.snapshot.id
    from workbench.api import Workspace

    assert Workspace(workspace_root).snapshot("events-copy").message == "from the UI"


async def test_failing_import_notifies_and_keeps_running(make_app, workspace_root):
    bad = workspace_root / "data" / "broken.parquet"
    bad.write_bytes(b"this is not parquet")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await data_ready(pilot)
        await pilot.press("i")
        await screen_shown(pilot, ImportScreen)
        modal = app.screen
        modal.query_one("#import-path").value = str(bad)
        modal.query_one("#import-name").value = "broken"
        await pilot.press("enter")
        await wait_until(pilot, lambda: any(n.severity == "error" for n in notifications(app)))
        await settle(pilot)
        assert app.is_running
        assert app.screen is modal and not modal.running
        assert not modal.query_one("#import-path").disabled
        await pilot.press("escape")
        assert isinstance(app.screen, DataScreen)
        assert "broken@v1" not in _refs(app.screen)


async def test_cancel_import_leaves_no_snapshot(make_app, workspace_root, monkeypatch):
    from workbench.api import Workspace

    # Hold the import at its start until escape was pressed, so the test does not race it;
    # then the real import runs with the cancelled token and must stop and record nothing.
    gate = threading.Event()
    real_add = Workspace.add_snapshot

    def held_add(self, *args, progress, **kwargs):
        progress.start("waiting", total=1)
        gate.wait(10)
        return real_add(self, *args, progress=progress, **kwargs)

    monkeypatch.setattr(Workspace, "add_snapshot", held_add)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await data_ready(pilot)
        await pilot.press("i")
        await screen_shown(pilot, ImportScreen)
        modal = app.screen
        modal.query_one("#import-path").value = "data/events.csv"
        modal.query_one("#import-name").value = "cancelled-one"
        await pilot.press("enter")
        await wait_until(pilot, lambda: modal.running)
        await pilot.press("escape")
        assert modal.cancel_token.cancelled
        gate.set()
        await screen_shown(pilot, DataScreen)
        await settle(pilot)
        assert any("cancelled" in n.message for n in notifications(app))
    assert all(s.name != "cancelled-one" for s in Workspace(workspace_root).snapshots())


async def test_change_by_another_process_appears(make_app, workspace_root):
    app = make_app(poll_interval=None)  # the workspace's own setting (1 s)
    async with app.run_test(size=SIZE) as pilot:
        await data_ready(pilot)
        screen = app.screen
        await pilot.press("down")  # keep the cursor on events@v1 through the reload
        await wait_until(pilot, lambda: screen.highlighted_id == 2)
        done = subprocess.run(
            [sys.executable, "-c", "from workbench.cli.main import entry; entry()",
             "-w", str(workspace_root), "data", "add", str(workspace_root / "data" / "events.csv"),
             "--name", "from-cli"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        seen_at = time.monotonic()
        await wait_until(pilot, lambda: "from-cli@v1" in _refs(screen))
        assert time.monotonic() - seen_at <= 2.0
        await settle(pilot)
        assert screen.highlighted_id == 2
        table = screen.query_one("#snapshot-table")
        assert table.cursor_row == screen.rows.row_of(2)


async def test_a_failing_screen_worker_is_reported_not_swallowed(make_app, monkeypatch):
    from workbench.api import Workspace

    def broken(self):
        raise RuntimeError("the table could not be read")

    monkeypatch.setattr(Workspace, "snapshot_table", broken)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.workspace is not None)
        await wait_until(
            pilot, lambda: any("could not be read" in n.message for n in notifications(app))
        )
        assert app.is_running


async def test_old_schema_workspace_loads(tmp_path):
    """A workspace made by the first release migrates on open and its table loads."""
    import shutil
    from pathlib import Path

    from workbench.tui.app import WorkbenchApp

    root = tmp_path / "old"
    shutil.copytree(Path(__file__).parents[1] / "core" / "fixtures" / "schema_v1", root)
    app = WorkbenchApp(root, poll_interval=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: getattr(app.screen, "rows", None) is not None)
        assert app.screen.rows.refs == ["demo@v1"]


async def test_detail_points_out_a_text_column_of_numbers(make_app, workspace_root, tmp_path):
    from tests.core.test_numeric_text import _frame
    from workbench.api import Workspace

    _frame().write_csv(tmp_path / "bills.csv")
    Workspace(workspace_root).add_snapshot(tmp_path / "bills.csv", "bills")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await data_ready(pilot)
        detail = app.screen.query_one("#snapshot-detail")
        await wait_until(pilot, lambda: detail.border_title == "bills@v1")
        rows = {r.profile.name: r for r in detail.query(".profile-row")}
        assert str(rows["amount"].query_one(".profile-top").render()) == (
            "⚠ numbers but for 3 values (' ')"
        )
        assert "⚠" not in str(rows["plan"].query_one(".profile-top").render())
