"""Versioned, content-addressed data snapshots: import, profile, diff, contracts."""

from .catalog import Snapshot
from .contract import ColumnRule, Contract, Violation
from .diff import ColumnChange, RowChanges, SnapshotDiff
from .importer import AddResult
from .profile import ColumnProfile

__all__ = [
    "AddResult",
    "ColumnChange",
    "ColumnProfile",
    "ColumnRule",
    "Contract",
    "RowChanges",
    "Snapshot",
    "SnapshotDiff",
    "Violation",
]
