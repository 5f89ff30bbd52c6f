"""The confirmation dialog for approve, reject and roll back: a comment and, if needed, override.

It only asks; the calling screen calls the core with what it returns. The core checks the same
rules again (role, comment on rejection and override, override for failed gates).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Static

__all__ = ["ConfirmDecision", "DecisionInput"]


@dataclass(frozen=True)
class DecisionInput:
    """What the person confirmed with: their comment (or reason) and whether they override."""

    comment: str
    override: bool = False


class ConfirmDecision(ModalScreen["DecisionInput | None"]):
    """Confirm a decision with a comment; escape cancels."""

    CSS_PATH = "confirm_decision.tcss"

    HELP = """\
## Confirm a decision

Say why in the comment: it is recorded with the decision and in the audit log.
A rejection, a rollback and an override need a comment.

When the proposal's gates failed, approving needs **override** ticked: you take
responsibility for promoting a version that did not pass, and the override is recorded.

**enter** confirms, **escape** cancels.
"""
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="confirm.cancel",
                tooltip="Close without deciding"),
    ]  # fmt: skip

    def __init__(
        self,
        title: str,
        summary: str,
        confirm_label: str,
        *,
        require_comment: bool = False,
        offer_override: bool = False,
        placeholder: str = "why",
        variant: str = "primary",
    ) -> None:
        super().__init__()
        self.dialog_title = title
        self.summary = summary
        self.confirm_label = confirm_label
        self.require_comment = require_comment
        self.offer_override = offer_override
        self.placeholder = placeholder
        self.variant = variant

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-form") as form:
            form.border_title = self.dialog_title
            yield Static(self.summary, id="confirm-summary")
            required = " (required)" if self.require_comment or self.offer_override else ""
            yield Label(f"Comment{required}")
            yield Input(placeholder=self.placeholder, id="confirm-comment")
            if self.offer_override:
                yield Static(
                    "[red]Gates failed.[/] Approving needs an override and a comment.",
                    id="confirm-gates-failed",
                )
                yield Checkbox("override failed gates", id="confirm-override")
            with Horizontal(id="confirm-buttons"):
                yield Button(self.confirm_label, variant=self.variant, id="confirm-ok")  # type: ignore[arg-type]
                yield Button("Cancel", id="confirm-cancel")

    def on_mount(self) -> None:
        self.query_one("#confirm-comment", Input).focus()

    def _value(self) -> DecisionInput | None:
        comment = self.query_one("#confirm-comment", Input).value.strip()
        override = self.offer_override and self.query_one("#confirm-override", Checkbox).value
        if self.offer_override and not override:
            self.notify("The gates failed: tick override to approve anyway.", severity="warning")
            return None
        if (self.require_comment or override) and not comment:
            self.notify("Write a comment saying why.", severity="warning")
            return None
        return DecisionInput(comment, override)

    @on(Button.Pressed, "#confirm-ok")
    @on(Input.Submitted)
    def _confirm(self) -> None:
        value = self._value()
        if value is not None:
            self.dismiss(value)

    @on(Button.Pressed, "#confirm-cancel")
    def action_cancel(self) -> None:
        """Close without deciding."""
        self.dismiss(None)
