"""Thread workers of the Monitor screen: each calls the Workspace and posts one message."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.worker import get_current_worker

from ...widgets.registry_actions import error_text
from ..base import ScreenMixin
from .messages import MonitorActed, MonitorFailed, MonitorLoaded, MonitorView

if TYPE_CHECKING:
    from ....api import Workspace

__all__ = ["MonitorWorkers", "served_model"]


def served_model(ws: Workspace) -> str | None:
    """The model the screen follows: the first (by name) that has a champion."""
    for name in ws.model_names():
        if "champion" in ws.aliases(name):
            return name
    return None


class MonitorWorkers(ScreenMixin):
    """The screen's workers (mixed into ``MonitorScreen``)."""

    @work(thread=True, exclusive=True, exit_on_error=False, group="monitor",
          description="reading the prediction log's windows")  # fmt: skip
    def load_monitor(self, ws: Workspace, token: int) -> None:
        try:
            model = served_model(ws)
            if model is None:
                view = MonitorView(None, None, [], [], None, token)
            else:
                view = MonitorView(
                    model, ws.monitor_report(model), ws.alerts("firing", model),
                    ws.verdicts(model), ws.deployment(model), token,
                )  # fmt: skip
        except Exception as exc:  # WorkbenchError or a bug: shown, never raised
            self.post_message(MonitorFailed("the monitor", error_text(exc)))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(MonitorLoaded(view))

    @work(thread=True, exit_on_error=False, group="monitor-act", description="acknowledging")
    def acknowledge(self, ws: Workspace, alert_id: int) -> None:
        try:
            alert = ws.acknowledge_alert(alert_id, "acknowledged in the Monitor screen")
        except Exception as exc:
            self.post_message(MonitorFailed("acknowledge", error_text(exc)))
            return
        self.post_message(MonitorActed(f"acknowledged alert {alert.id}"))

    @work(thread=True, exit_on_error=False, group="monitor-act",
          description="filing a retraining proposal")  # fmt: skip
    def propose(self, ws: Workspace, model: str, reason: str) -> None:
        try:
            decision = ws.propose_retrain(f"{model}@champion", reason)
        except Exception as exc:
            self.post_message(MonitorFailed("the proposal", error_text(exc)))
            return
        self.post_message(MonitorActed(f"filed decision {decision.id}: {decision.title}"))

    @work(thread=True, exclusive=True, exit_on_error=False, group="monitor-act",
          description="running a monitoring check")  # fmt: skip
    def check(self, ws: Workspace, model: str) -> None:
        try:
            result = ws.monitor_check(model)
        except Exception as exc:
            self.post_message(MonitorFailed("the check", error_text(exc)))
            return
        text = (f"check: {result.judged} window(s) judged, {len(result.fired)} fired, "
                f"{len(result.resolved)} resolved")  # fmt: skip
        if result.proposal_id:
            text += f", proposal {result.proposal_id} filed"
        self.post_message(MonitorActed(text))
