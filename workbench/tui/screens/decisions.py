"""The Decisions area: proposals with their evidence; approve, reject, roll back; the audit log.

Workers call the Workspace in a thread and post one message; the handlers below own the
screen's state (the proposals shown, the selected one, pending-only or all). Decisions go
through the shared confirmation flow (``widgets.registry_actions``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, ProgressBar, Static, TabbedContent, TabPane
from textual.worker import get_current_worker

from ..palette import command_provider
from ..widgets.registry_actions import RegistryActions, error_text
from ..widgets.registry_views import (
    DECISION_COLUMNS,
    audit_table,
    decision_row,
    evidence_view,
    verify_text,
)
from .base import AreaScreen

if TYPE_CHECKING:
    from ...api import Decision, Workspace
    from ...presentation import AuditEntry

__all__ = ["DecisionsScreen", "DECISIONS_COMMANDS"]

DECISIONS_COMMANDS = (
    ("Approve proposal", "Approve the selected pending proposal (approver)", "approve"),
    ("Reject proposal", "Reject the selected pending proposal with a comment (approver)",
     "reject"),
    ("Roll back champion", "Move the champion back to its previous holder", "rollback"),
    ("Show all decisions", "Toggle between pending proposals and every decision", "toggle_all"),
    ("Audit log", "Recent audit entries and whether the chain verifies", "audit"),
    ("Refresh decisions", "Reload proposals and the audit log", "refresh"),
)  # fmt: skip
"""(title, help, action) of the Decisions screen's command-palette entries."""

#: audit entries shown (newest first)
AUDIT_ROWS = 200


class DecisionsLoaded(Message):
    """Proposals (pending only, or all) were read, newest first."""

    def __init__(self, decisions: list[Decision], show_all: bool, token: int) -> None:
        super().__init__()
        self.decisions, self.show_all, self.token = decisions, show_all, token


class AuditLoaded(Message):
    """The audit log was read and verified."""

    def __init__(self, entries: list[AuditEntry], problems: list[str]) -> None:
        super().__init__()
        self.entries, self.problems = entries, problems


class DecisionsFailed(Message):
    """Reading failed; ``what`` was being loaded."""

    def __init__(self, what: str, error: str) -> None:
        super().__init__()
        self.what, self.error = what, error


class DecisionsScreen(RegistryActions, AreaScreen):
    """Proposals and their evidence, the decisions on them, and the audit log."""

    AREA_TITLE = "Decisions"
    CSS_PATH = ["registry.tcss", "decisions.tcss"]
    COMMANDS = {command_provider(DECISIONS_COMMANDS)}
    HELP = """\
## Decisions

Proposals to promote a model version to an alias, to retrain, or to roll back, newest first.
Pending ones are shown; press **t** to show every decision (approved and rejected too).

The **Evidence** tab shows the selected proposal: what it does and why, the champion's and
the challenger's holdout metrics side by side (the primary metric in bold), and every gate
with its pass/fail mark, its summary and the numbers behind it.

- **a** approves (approver role): the action is carried out at once. A proposal whose gates
  failed can be approved only with **override** ticked and a comment; the override is recorded.
  Approving a retrain proposal trains a challenger: a progress bar shows it, and **c** cancels
  it (the proposal stays pending; a run cancelled midway is recorded as cancelled).
- **x** rejects, with a comment saying why.
- **b** rolls the champion back to its previous holder (approvers now; developers file a
  proposal).

The **Audit log** tab (**l**) lists recent state changes with actor and time, and whether the
hash chain verifies (`workbench audit verify`): an edited, inserted or deleted entry shows.
Actions refused for your role say so and change nothing.
"""
    BINDINGS = [
        Binding("a", "approve", "Approve", id="decisions.approve",
                tooltip="Approve the selected pending proposal (approver role)"),
        Binding("x", "reject", "Reject", id="decisions.reject",
                tooltip="Reject the selected pending proposal with a comment (approver role)"),
        Binding("b", "rollback", "Roll back", id="decisions.rollback",
                tooltip="Move the champion back to its previous holder"),
        Binding("t", "toggle_all", "All/pending", id="decisions.toggle-all",
                tooltip="Show every decision, or only pending proposals"),
        Binding("e", "show_tab('decisions-evidence')", "Evidence", id="decisions.evidence",
                show=False, tooltip="Show the selected proposal's evidence"),
        Binding("l", "audit", "Audit log", id="decisions.audit",
                tooltip="Show recent audit entries and verify the chain"),
        Binding("r", "refresh", "Refresh", id="decisions.refresh",
                tooltip="Reload proposals and the audit log"),
        Binding("c", "cancel_action", "Cancel", id="decisions.cancel",
                tooltip="Cancel the approval running now (a retrain); the proposal stays pending"),
    ]  # fmt: skip

    def __init__(self) -> None:
        super().__init__()
        self.decisions: list[Decision] = []
        self.show_all = False
        self.loaded_token: int | None = None
        self.selected_id: int | None = None
        self.audit_problems: list[str] | None = None

    def compose_body(self) -> ComposeResult:
        with Vertical(id="decisions-pane", classes="pane") as pane:
            pane.border_title = "Pending proposals"
            yield DataTable(id="decisions-table", cursor_type="row")
            yield Static("Loading the workspace…", id="decisions-empty")
        with Horizontal(id="registry-progress") as box:
            box.display = False
            yield Static("", id="registry-progress-task")
            yield ProgressBar(id="registry-progress-bar")
        with TabbedContent(id="decisions-tabs"):
            with (
                TabPane("Evidence", id="decisions-evidence"),
                VerticalScroll(id="decisions-evidence-scroll"),
            ):
                yield Static("", id="decisions-evidence-view")
            with TabPane("Audit log", id="decisions-audit"):
                yield Static("", id="decisions-audit-verify")
                with VerticalScroll(id="decisions-audit-scroll"):
                    yield Static("", id="decisions-audit-log")

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one("#decisions-table", DataTable)
        table.add_columns(*DECISION_COLUMNS)
        table.display = False
        self.follow_workspace()

    def selected(self) -> Decision | None:
        """The highlighted proposal."""
        return next((d for d in self.decisions if d.id == self.selected_id), None)

    # -- workers -----------------------------------------------------------------------------

    def reload(self) -> None:
        """Reload the proposals and the audit log."""
        if self.workspace is not None:
            self.load_decisions(self.workspace, self.show_all, self.workbench.change_token)
            self.load_audit(self.workspace)

    @work(thread=True, exclusive=True, exit_on_error=False, group="decisions",
          description="loading proposals")  # fmt: skip
    def load_decisions(self, ws: Workspace, show_all: bool, token: int) -> None:
        try:
            found = ws.decisions(None if show_all else "pending")
        except Exception as exc:  # WorkbenchError or a bug: shown, never raised
            self.post_message(DecisionsFailed("proposals", error_text(exc)))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(DecisionsLoaded(found, show_all, token))

    @work(thread=True, exclusive=True, exit_on_error=False, group="audit",
          description="reading and verifying the audit log")  # fmt: skip
    def load_audit(self, ws: Workspace) -> None:
        try:
            entries, problems = ws.audit_log(), ws.audit_verify()
        except Exception as exc:
            self.post_message(DecisionsFailed("the audit log", error_text(exc)))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(AuditLoaded(entries, problems))

    # -- handlers ----------------------------------------------------------------------------

    @on(DecisionsLoaded)
    def _decisions_loaded(self, event: DecisionsLoaded) -> None:
        self.decisions = event.decisions
        self.show_all = event.show_all
        self.loaded_token = event.token
        table = self.query_one("#decisions-table", DataTable)
        table.clear()
        for d in event.decisions:
            table.add_row(*decision_row(d), key=str(d.id))
        table.display = bool(event.decisions)
        what = "Decisions" if event.show_all else "Pending proposals"
        self.query_one("#decisions-pane").border_title = f"{what} ({len(event.decisions)})"
        empty = self.query_one("#decisions-empty", Static)
        empty.display = not event.decisions
        empty.update("No decisions yet." if event.show_all else
                     "No pending proposals. Press t to show every decision; file one with "
                     "`workbench models promote NAME@vN --to champion`.")  # fmt: skip
        ids = [d.id for d in event.decisions]
        if not ids:
            self.selected_id = None
            self.query_one("#decisions-evidence-view", Static).update("")
            return
        index = ids.index(self.selected_id) if self.selected_id in ids else 0
        table.move_cursor(row=index)
        if not self.focused or self.focused is table:
            table.focus()
        self._select(ids[index])

    @on(DataTable.RowHighlighted, "#decisions-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self._select(int(event.row_key.value))

    def _select(self, decision_id: int) -> None:
        self.selected_id = decision_id
        d = self.selected()
        if d is not None:
            self.query_one("#decisions-evidence-view", Static).update(evidence_view(d))

    @on(AuditLoaded)
    def _audit_loaded(self, event: AuditLoaded) -> None:
        self.audit_problems = event.problems
        self.query_one("#decisions-audit-verify", Static).update(
            verify_text(event.problems, len(event.entries))
        )
        self.query_one("#decisions-audit-log", Static).update(
            audit_table(event.entries, AUDIT_ROWS)
        )
        tab = self.query_one("#decisions-tabs", TabbedContent).get_tab("decisions-audit")
        tab.label = "Audit log" if not event.problems else "Audit log [red](broken)[/]"

    @on(DecisionsFailed)
    def _failed(self, event: DecisionsFailed) -> None:
        self.notify(event.error, title=f"Could not load {event.what}", severity="error",
                    timeout=10)  # fmt: skip

    # -- actions -----------------------------------------------------------------------------

    def _pending_selected(self, verb: str) -> Decision | None:
        d = self.selected()
        if d is None or self.workspace is None:
            self.notify(f"Select a proposal to {verb} first.", severity="warning")
            return None
        if d.status != "pending":
            self.notify(f"Decision #{d.id} is already {d.status}.", severity="warning")
            return None
        return d

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_action":
            return self.action_cancel is not None
        return True

    def action_cancel_action(self) -> None:
        """Cancel the approval running now; it stops at its next check, the proposal pending."""
        if self.action_cancel is not None:
            self.action_cancel.cancel()
            self.notify("Cancelling…", title="Approve")

    def action_approve(self) -> None:
        """Confirm and approve the selected pending proposal."""
        d, ws = self._pending_selected("approve"), self.workspace
        if d is not None and ws is not None:
            self.ask_approve(ws, d)

    def action_reject(self) -> None:
        """Confirm and reject the selected pending proposal."""
        d, ws = self._pending_selected("reject"), self.workspace
        if d is not None and ws is not None:
            self.ask_reject(ws, d)

    def action_rollback(self) -> None:
        """Confirm and roll back the selected proposal's model (or the only model)."""
        ws = self.workspace
        if ws is None:
            return
        d = self.selected()
        name = d.model_name if d is not None else None
        if name is None:
            names = {x.model_name for x in self.decisions}
            name = names.pop() if len(names) == 1 else None
        if name is None:
            self.notify("Select a proposal of the model to roll back (or use Models, 5).",
                        severity="warning")  # fmt: skip
            return
        self.ask_rollback(ws, name, f"Move [b]champion[/b] of {name} back to its previous holder.")

    def action_toggle_all(self) -> None:
        """Show every decision, or only pending proposals."""
        self.show_all = not self.show_all
        if self.workspace is not None:
            self.load_decisions(self.workspace, self.show_all, self.workbench.change_token)

    def action_show_tab(self, tab: str) -> None:
        """Show one of the tabs."""
        self.query_one("#decisions-tabs", TabbedContent).active = tab

    def action_audit(self) -> None:
        """Show the audit log (re-read and re-verified)."""
        self.action_show_tab("decisions-audit")
        if self.workspace is not None:
            self.load_audit(self.workspace)

    def action_refresh(self) -> None:
        """Reload proposals and the audit log now."""
        self.reload()
