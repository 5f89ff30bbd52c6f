"""Registry actions shared by the Models and Decisions screens: approve, reject, roll back.

The screen asks (``ConfirmDecision``), a thread worker calls the core and posts one message,
the screen's handler notifies and reloads. Roles are checked before asking, through the
core's own check (``Workspace.require``) so the words match the CLI; the core checks again when it acts.
Every ``WorkbenchError`` (``PermissionDenied`` included) becomes a notification.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import work
from textual.message import Message
from textual.widgets import ProgressBar, Static

from ...errors import PermissionDenied, WorkbenchError
from ...progress import CancelToken
from ..screens.base import ScreenMixin
from ..worker_progress import posting_progress

if TYPE_CHECKING:
    from ...api import Decision, Workspace
    from ..screens.confirm_decision import DecisionInput

__all__ = [
    "RegistryActions", "RegistryActionDone", "RegistryActionFailed", "RegistryActionProgress",
    "error_text", "refusal",
]  # fmt: skip


class RegistryActionDone(Message):
    """A registry action finished; ``message`` says what changed."""

    def __init__(self, title: str, message: str, token: int) -> None:
        super().__init__()
        self.title, self.message, self.token = title, message, token


class RegistryActionFailed(Message):
    """A registry action was refused or failed; nothing changed."""

    def __init__(self, title: str, error: str) -> None:
        super().__init__()
        self.title, self.error = title, error


class RegistryActionProgress(Message):
    """Long work inside a registry action (approving a retrain trains a model): a phase
    started (``task``, ``total``) or advanced by ``advance``."""

    def __init__(self, task: str | None, total: float | None, advance: float = 0.0) -> None:
        super().__init__()
        self.task, self.total, self.advance = task, total, advance


def error_text(exc: BaseException) -> str:
    """The error's line and, for a ``WorkbenchError`` with one, its hint on a line of its own
    (``str(exc)`` would repeat it in brackets)."""
    if isinstance(exc, WorkbenchError):
        return f"{exc.message}\n{exc.hint}" if exc.hint else exc.message
    return f"{type(exc).__name__}: {exc}"


def refusal(ws: Workspace, action: str) -> str | None:
    """Why the acting user may not perform ``action`` (None when they may)."""
    try:
        ws.require(action)
    except PermissionDenied as exc:
        return error_text(exc)
    return None


def _decided(verb: str, d: Decision) -> str:
    override = " (override)" if d.override else ""
    return f"#{d.id} {d.title}: {verb}{override} by {d.decided_by}."


class RegistryActions(ScreenMixin):
    """Mixed into an ``AreaScreen``: approve, reject, roll back.

    The screen follows the workspace (``AreaScreen.follow_workspace``): it defines
    ``reload()`` and sets ``loaded_token`` when what it shows was read.
    """

    action_cancel: CancelToken | None = None
    """Set while an approval runs long work (a retrain) that the user may cancel."""

    # -- asking ------------------------------------------------------------------------------

    def ask_approve(self, ws: Workspace, d: Decision) -> None:
        """Confirm and approve a pending proposal (approvers only)."""
        from ..screens.confirm_decision import ConfirmDecision

        try:
            ws.check_approval(d)  # the role, and four eyes: before a comment is typed
        except PermissionDenied as exc:
            self.app.notify(error_text(exc), title="Approve refused", severity="error", timeout=10)
            return
        failed = [g.name for g in d.evidence.gates if not g.passed]
        summary = f"[b]#{d.id} {d.title}[/b]\nreason: {d.reason or '-'}\n" + (
            f"[red]failed gates: {', '.join(failed)}[/]" if failed else "[green]all gates passed[/]"
        )
        modal = ConfirmDecision(f"Approve proposal #{d.id}", summary, "Approve",
                                offer_override=bool(failed), placeholder="comment (recorded)")  # fmt: skip
        self.app.push_screen(modal, lambda value: self._run_decide(ws, "approve", d, value))

    def ask_reject(self, ws: Workspace, d: Decision) -> None:
        """Confirm and reject a pending proposal with a comment (approvers only)."""
        from ..screens.confirm_decision import ConfirmDecision

        if not self._allowed(ws, "reject", "Reject refused"):
            return
        modal = ConfirmDecision(f"Reject proposal #{d.id}", f"[b]#{d.id} {d.title}[/b]", "Reject",
                                require_comment=True, placeholder="why it is rejected",
                                variant="error")  # fmt: skip
        self.app.push_screen(modal, lambda value: self._run_decide(ws, "reject", d, value))

    def ask_rollback(self, ws: Workspace, name: str, summary: str) -> None:
        """Confirm a rollback of ``name``'s champion (approvers now; developers propose it)."""
        from ..screens.confirm_decision import ConfirmDecision

        direct = ws.can("rollback")
        if not direct and not self._allowed(ws, "propose", "Rollback refused"):
            return
        if not direct:
            summary += (f"\n[yellow]You are {ws.actor} ({ws.role}): this files a rollback "
                        "proposal for an approver.[/]")  # fmt: skip
        modal = ConfirmDecision(f"Roll back {name}", summary,
                                "Roll back" if direct else "Propose rollback",
                                require_comment=True, placeholder="reason (recorded)",
                                variant="warning")  # fmt: skip
        self.app.push_screen(modal, lambda value: self._run_rollback(ws, name, value))

    def _allowed(self, ws: Workspace, action: str, title: str) -> bool:
        why = refusal(ws, action)
        if why is not None:
            self.app.notify(why, title=title, severity="error", timeout=10)
        return why is None

    # -- acting ------------------------------------------------------------------------------

    def _run_decide(self, ws: Workspace, verb: str, d: Decision, value: DecisionInput | None):
        if value is None:
            return
        if verb == "approve":
            post = self.post_message
            self.action_cancel = token = CancelToken()
            self.refresh_bindings()
            progress = posting_progress(
                post, RegistryActionProgress, lambda amount: RegistryActionProgress(None, None, amount),
                token,
            )  # fmt: skip
            call = lambda: _decided("approved", ws.approve(d.id, value.comment or None,  # noqa: E731
                                                           override=value.override,
                                                           progress=progress))  # fmt: skip
        else:
            call = lambda: _decided("rejected", ws.reject(d.id, value.comment))  # noqa: E731
        self.registry_action(ws, f"{verb.capitalize()} #{d.id}", call)

    def _run_rollback(self, ws: Workspace, name: str, value: DecisionInput | None) -> None:
        if value is None:
            return

        def call() -> str:
            d = ws.rollback(name, value.comment)
            if d.status == "approved":
                return f"{name}: champion is v{d.version} again (decision #{d.id})."
            return f"Filed rollback proposal #{d.id} for an approver: {d.title}."

        self.registry_action(ws, f"Roll back {name}", call)

    @work(thread=True, exclusive=False, exit_on_error=False, group="registry-action",
          description="changing the registry")  # fmt: skip
    def registry_action(self, ws: Workspace, title: str, call: Callable[[], str]) -> None:
        """Run one core call that changes the registry; post what happened."""
        try:
            message = call()
        except Exception as exc:  # WorkbenchError or a bug: shown, the app keeps running
            self.post_message(RegistryActionFailed(title, error_text(exc)))
            return
        self.post_message(RegistryActionDone(title, message, ws.change_token()))

    # named handlers, not @on: Textual collects @on handlers only from MessagePump classes
    def on_registry_action_progress(self, event: RegistryActionProgress) -> None:
        """Show a long action's progress in the screen's ``#registry-progress`` bar, if any."""
        found = self.query("#registry-progress")
        if not found:
            return
        box = found.first()
        box.display = True
        bar = box.query_one(ProgressBar)
        if event.task is not None:
            box.query_one(Static).update(f"{event.task}  (c cancels)")
            bar.update(total=event.total, progress=0)
        elif event.advance:
            bar.advance(event.advance)

    def _action_ended(self) -> None:
        self.action_cancel = None
        for box in self.query("#registry-progress"):
            box.display = False
        self.refresh_bindings()

    def on_registry_action_failed(self, event: RegistryActionFailed) -> None:
        """Say why nothing changed."""
        self._action_ended()
        self.app.notify(event.error, title=f"{event.title} failed", severity="error", timeout=10)

    def on_registry_action_done(self, event: RegistryActionDone) -> None:
        """Say what changed and reload."""
        self._action_ended()
        self.app.notify(event.message, title=event.title)
        self.workbench.change_token = event.token
        self.reload()
