"""Messages the Monitor screen's workers post (handled on the UI thread by the screen)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from ....api import Alert, DeploymentSetting, MonitorReport

__all__ = ["MonitorLoaded", "MonitorFailed", "MonitorActed", "MonitorView"]


@dataclass
class MonitorView:
    """Everything the screen shows for one model, read in one worker."""

    model: str | None
    report: MonitorReport | None
    alerts: list[Alert]
    verdicts: list[Any]
    canary: DeploymentSetting | None
    token: int


class MonitorLoaded(Message):
    """The model's windows, alerts and verdicts were read."""

    def __init__(self, view: MonitorView) -> None:
        super().__init__()
        self.view = view


class MonitorFailed(Message):
    """Reading or acting failed."""

    def __init__(self, what: str, error: str) -> None:
        super().__init__()
        self.what, self.error = what, error


class MonitorActed(Message):
    """An action finished (an alert acknowledged, a proposal filed, a check run)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
