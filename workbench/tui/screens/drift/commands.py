"""The Drift screen's command-palette entries."""

from __future__ import annotations

__all__ = ["DRIFT_COMMANDS"]

DRIFT_COMMANDS = (
    ("Compare again", "Recompute drift for the chosen reference and current", "recompute"),
    ("Drift by batch (months)", "Compare the reference with every prod-* batch", "batches"),
    ("Export Evidently HTML", "Write Evidently's drift report for the chosen pair", "export"),
    ("Save drift report", "Store the shown report in the workspace", "save"),
    ("Cancel drift computation", "Stop the running computation", "cancel"),
)
"""(title, help, action) of the Drift screen's command-palette entries."""
