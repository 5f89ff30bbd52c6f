"""The Data area: the snapshot table, the detail pane, marking two snapshots for a diff, import.

Workers call the Workspace in a thread and post one message; the handlers below own the
screen's state (which rows are marked, which snapshot is highlighted, the loaded token).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static
from textual.worker import get_current_worker

from ..palette import command_provider
from ..widgets.loading import Spinner
from ..widgets.snapshot_detail import SnapshotDetail
from .base import AreaScreen

if TYPE_CHECKING:
    from ...api import AddResult, Snapshot, Workspace
    from ...presentation import SnapshotDiff
    from ..widgets.snapshot_table import SnapshotRows, SnapshotTable

__all__ = ["DataScreen", "DATA_COMMANDS"]


DATA_COMMANDS = (
    ("Import a file", "Import a CSV or Parquet file as a new snapshot version", "import_file"),
    ("Diff marked snapshots", "Compare the two marked snapshots", "diff"),
    ("Mark snapshot", "Mark or unmark the highlighted snapshot for a diff", "toggle_mark"),
    ("Clear marks", "Unmark all snapshots", "clear_marks"),
    ("Refresh snapshots", "Reload the snapshot table from the workspace", "refresh"),
)
"""(title, help, action) of the Data screen's command-palette entries."""


class SnapshotsLoaded(Message):
    """The snapshot table was read from the workspace."""

    def __init__(self, rows: SnapshotRows, token: int) -> None:
        super().__init__()
        self.rows = rows
        self.token = token


class SnapshotLoaded(Message):
    """One snapshot's record (with profile) was read for the detail pane."""

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class DiffLoaded(Message):
    """The diff of the two marked snapshots is ready."""

    def __init__(self, diff: SnapshotDiff) -> None:
        super().__init__()
        self.diff = diff


class DataScreen(AreaScreen):
    """Snapshots: list, inspect, diff and import."""

    AREA_TITLE = "Data"
    CSS_PATH = "data.tcss"
    COMMANDS = {command_provider(DATA_COMMANDS)}
    HELP = """\
## Data

Every snapshot (an immutable version of a named dataset) in the workspace, newest first.
The pane below shows the highlighted snapshot's metadata and column profile.

Mark two snapshots with **space** and press **d** to see what changed between them: columns
added, removed or retyped, row counts, profile changes, and rows added, removed and changed
when both share a key column. Press **i** to import a file as a new version.
Changes made by other processes (a `workbench data add` in another terminal) appear within
a couple of seconds.
"""
    BINDINGS = [
        Binding("space", "toggle_mark", "Mark", id="data.mark",
                tooltip="Mark or unmark the highlighted snapshot (two at most) for a diff"),
        Binding("d", "diff", "Diff", id="data.diff",
                tooltip="Show what changed between the two marked snapshots"),
        Binding("i", "import_file", "Import", id="data.import",
                tooltip="Import a CSV or Parquet file as a new snapshot version"),
        Binding("r", "refresh", "Refresh", id="data.refresh",
                tooltip="Reload the snapshot table"),
        Binding("c", "clear_marks", "Clear marks", id="data.clear-marks", show=False,
                tooltip="Unmark all snapshots"),
    ]  # fmt: skip

    def __init__(self) -> None:
        super().__init__()
        self.rows: SnapshotRows | None = None
        self.loaded_token: int | None = None
        self.highlighted_id: int | None = None
        self.marked: list[int] = []
        """Ids of marked snapshots, oldest mark first (two at most)."""

    def compose_body(self) -> ComposeResult:
        with Vertical(id="snapshot-pane", classes="pane") as pane:
            pane.border_title = "Snapshots"
            yield Spinner("Loading the workspace…", id="snapshot-loading")
        yield Static("", id="mark-status")
        yield SnapshotDetail(id="snapshot-detail", classes="pane")

    def on_mount(self) -> None:
        super().on_mount()
        self.follow_workspace()

    @property
    def table(self) -> SnapshotTable | None:
        tables = self.query("#snapshot-table")
        # Only the SnapshotTable has this id (its class is imported once the workspace loads).
        return cast("SnapshotTable", tables.first()) if tables else None

    # -- workers -----------------------------------------------------------------------------

    def reload(self) -> None:
        """Reload the table (keeps the cursor on the same snapshot)."""
        if self.workspace is not None:
            self.load_snapshots(self.workspace, self.workbench.change_token)

    @work(thread=True, exclusive=True, exit_on_error=False, group="snapshot-table",
          description="loading snapshots")  # fmt: skip
    def load_snapshots(self, ws: Workspace, token: int) -> None:
        from ..widgets.snapshot_table import snapshot_rows

        rows = snapshot_rows(ws.snapshot_table())
        if not get_current_worker().is_cancelled:
            self.post_message(SnapshotsLoaded(rows, token))

    @work(thread=True, exclusive=True, exit_on_error=False, group="snapshot-detail",
          description="loading the snapshot")  # fmt: skip
    def load_detail(self, ws: Workspace, ref: str) -> None:
        snap = ws.snapshot(ref)
        if not get_current_worker().is_cancelled:
            self.post_message(SnapshotLoaded(snap))

    @work(thread=True, exclusive=True, exit_on_error=False, group="snapshot-diff",
          description="comparing snapshots")  # fmt: skip
    def load_diff(self, ws: Workspace, ref_a: str, ref_b: str) -> None:
        self.post_message(DiffLoaded(ws.diff(ref_a, ref_b)))

    # -- handlers ----------------------------------------------------------------------------

    @on(SnapshotsLoaded)
    async def _snapshots_loaded(self, event: SnapshotsLoaded) -> None:
        from ..widgets.snapshot_table import SnapshotTable

        old = self.table
        # The screen's focused widget, which a modal on top (the import dialog) leaves in place.
        had_focus = old is None or self.focused in (None, old)
        rows = event.rows
        self.rows = rows
        self.loaded_token = event.token
        self.marked = [i for i in self.marked if rows.row_of(i) is not None]
        table = SnapshotTable(rows, id="snapshot-table")
        pane = self.query_one("#snapshot-pane")
        await pane.remove_children()
        await pane.mount(table)
        pane.border_title = f"Snapshots ({len(rows.ids):,})"
        for snapshot_id in self.marked:
            table.mark_snapshot(snapshot_id, True)
        if self._select_on_load is not None:
            self.highlighted_id, self._select_on_load = self._select_on_load, None
        row = rows.row_of(self.highlighted_id)
        if row is not None:
            table.move_cursor(row=row)
        if had_focus:
            table.focus()
        if not rows.ids:
            self.highlighted_id = None
            await self.query_one(SnapshotDetail).show(None)
        elif row is None:
            self._highlight(0)
        self._show_marks()

    def on_data_table_row_highlighted(self, event) -> None:
        # textual-fastdatatable's RowHighlighted (its class is imported only after start-up);
        # a late event from a table a reload replaced indexes the old rows, so it is ignored,
        # and so is an echo of an earlier cursor move while a reload must land on a new import.
        if event.data_table is self.table and self._select_on_load is None:
            self._highlight(event.cursor_row)

    def _highlight(self, row: int) -> None:
        if self.rows is None or not 0 <= row < len(self.rows.ids):
            return
        self.highlighted_id = self.rows.ids[row]
        detail = self.query_one(SnapshotDetail)
        if detail.snapshot_id != self.highlighted_id and self.workspace is not None:
            self.load_detail(self.workspace, self.rows.refs[row])

    @on(SnapshotLoaded)
    async def _snapshot_loaded(self, event: SnapshotLoaded) -> None:
        if event.snapshot.id == self.highlighted_id:
            await self.query_one(SnapshotDetail).show(event.snapshot)

    @on(DiffLoaded)
    def _diff_loaded(self, event: DiffLoaded) -> None:
        from .snapshot_diff import SnapshotDiffScreen

        self.app.push_screen(SnapshotDiffScreen(event.diff))

    def _show_marks(self) -> None:
        status = self.query_one("#mark-status", Static)
        refs = [self._ref_of(i) for i in self.marked]
        if not refs:
            status.update("space marks a snapshot; mark two and press d to diff them")
        elif len(refs) == 1:
            status.update(f"marked [b]{refs[0]}[/b]; mark one more and press d")
        else:
            status.update(f"marked [b]{refs[0]}[/b] and [b]{refs[1]}[/b]: press d to diff")

    def _ref_of(self, snapshot_id: int) -> str:
        row = None if self.rows is None else self.rows.row_of(snapshot_id)
        assert self.rows is not None and row is not None, snapshot_id  # marked or highlighted
        return self.rows.refs[row]

    # -- actions -----------------------------------------------------------------------------

    def action_toggle_mark(self) -> None:
        """Mark or unmark the snapshot under the cursor (marking a third drops the oldest mark)."""
        table, rows = self.table, self.rows
        # The table's cursor, not ``highlighted_id``, which follows RowHighlighted messages
        # that may still be queued after fast keys (space, down, space).
        if table is None or rows is None or not 0 <= table.cursor_row < len(rows.ids):
            return
        snapshot_id = rows.ids[table.cursor_row]
        if snapshot_id in self.marked:
            self.marked.remove(snapshot_id)
            table.mark_snapshot(snapshot_id, False)
        else:
            if len(self.marked) == 2:
                dropped = self.marked.pop(0)
                table.mark_snapshot(dropped, False)
            self.marked.append(snapshot_id)
            table.mark_snapshot(snapshot_id, True)
        self._show_marks()

    def action_clear_marks(self) -> None:
        """Unmark every snapshot."""
        table, rows = self.table, self.rows
        if table is not None and rows is not None:
            for snapshot_id in self.marked:
                table.mark_snapshot(snapshot_id, False)
        self.marked = []
        self._show_marks()

    def action_diff(self) -> None:
        """Diff the two marked snapshots (older first)."""
        if len(self.marked) != 2 or self.workspace is None:
            self.notify("Mark two snapshots with space first.", severity="warning")
            return
        older, newer = sorted(self.marked)
        self.load_diff(self.workspace, self._ref_of(older), self._ref_of(newer))

    def action_import_file(self) -> None:
        """Open the import form."""
        if self.workspace is None:
            self.notify("The workspace is still loading.", severity="warning")
            return
        from .import_snapshot import ImportScreen

        name = ""
        if self.rows is not None and self.highlighted_id is not None:
            name = self._ref_of(self.highlighted_id).split("@")[0]
        self.app.push_screen(ImportScreen(self.workspace, default_name=name), self._imported)

    def _imported(self, result: AddResult | None) -> None:
        if result is None:
            return
        self.notify(result.detail, title="Import")
        self.highlighted_id = self._select_on_load = result.snapshot.id
        if self.workspace is not None:
            self.workbench.change_token = self.workspace.change_token()
        self.reload()

    def action_refresh(self) -> None:
        """Reload the snapshot table now."""
        self.reload()
