"""A window's detail: its drift view (every feature's score against the training data, nulls,
unseen categories) and its performance, in a modal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

if TYPE_CHECKING:
    from ....api import Breach

__all__ = ["WindowDetail"]


def _num(value: Any, fmt: str = ".3f") -> str:
    return "-" if value is None else format(value, fmt)


class WindowDetail(ModalScreen[None]):
    """One window of one version and role: drift per feature, data quality, performance."""

    CSS_PATH = "monitor.tcss"
    BINDINGS = [Binding("escape", "dismiss", "Close", id="monitor-detail.close",
                        tooltip="Back to the timeline")]  # fmt: skip

    def __init__(self, figures: Any, breaches: list[Breach]) -> None:
        super().__init__()
        self.figures = figures
        self.breaches = breaches

    def compose(self) -> ComposeResult:
        w = self.figures
        with Vertical(id="monitor-detail"):
            yield Static(
                f"[b]{w.model}@v{w.version} ({w.role}), window {w.window_key}[/b]  "
                f"{w.rows:,} rows, {w.labelled:,} labelled; drift share "
                f"{_num(w.drift_share, '.2f')} ({w.n_drifted}/{w.n_tested}); prediction "
                f"drift {_num(w.prediction_drift)}",
                id="monitor-detail-title",
            )
            yield DataTable(id="monitor-detail-table", cursor_type="row")
            lines = [f"{m}: realized {_num(w.realized.get(m))}, estimated "
                     f"{_num((e or {}).get('value'))} [{_num((e or {}).get('lower_band'))} .. "
                     f"{_num((e or {}).get('upper_band'))}]" for m, e in w.estimated.items()]  # fmt: skip
            lines += [f"[red]breach[/] {b.policy}: {b.message}" for b in self.breaches]
            yield Static("\n".join(lines) or "no performance figures", id="monitor-detail-perf")

    def on_mount(self) -> None:
        w = self.figures
        table = self.query_one("#monitor-detail-table", DataTable)
        table.add_columns("feature", "drift score", "drifted", "nulls", "training nulls",
                          "unseen categories")  # fmt: skip
        ranked = sorted(w.feature_scores.items(), key=lambda kv: -(kv[1] or 0))
        for name, score in ranked:
            table.add_row(
                name, _num(score), "yes" if name in w.drifted_features else "",
                _num(w.null_shares.get(name), ".0%"),
                _num(w.reference_null_shares.get(name), ".0%"),
                ", ".join(w.new_categories.get(name, [])),
            )  # fmt: skip
        table.focus()
