"""The Experiments screen's command-palette entries."""

from __future__ import annotations

__all__ = ["EXPERIMENT_COMMANDS"]

EXPERIMENT_COMMANDS = (
    ("Train a model", "Open the launch form: snapshot, target, parameters", "train"),
    ("Cancel training", "Stop the running training (recorded as cancelled)", "cancel_training"),
    ("Compare marked runs", "Open Compare with the marked runs", "compare"),
    ("Mark run", "Mark or unmark the highlighted run for a comparison", "toggle_mark"),
    ("Clear run marks", "Unmark all runs", "clear_marks"),
    ("Filter runs", "Type a filter such as auc > 0.8 and num_leaves = 31", "focus_filter"),
    ("Sort runs by the next column", "Cycle the sort column", "next_sort"),
    ("Reverse the run order", "Flip the sort direction", "reverse_sort"),
    ("Refresh runs", "Reload the runs table from the workspace", "refresh"),
)
"""(title, help, action) of the Experiments screen's command-palette entries."""
