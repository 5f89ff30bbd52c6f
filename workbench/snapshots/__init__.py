"""Versioned, content-addressed data snapshots: import, profile, diff, contracts.

Exports are lazy so that recognising an unchanged file does not import Polars.
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    "AddResult": "importer",
    "ColumnChange": "diff",
    "ColumnProfile": "profile",
    "ColumnRule": "contract",
    "Contract": "contract",
    "RowChanges": "diff",
    "Snapshot": "records",
    "SnapshotService": "service",
    "ImportRequest": "service",
    "ValidationReport": "service",
    "SnapshotDiff": "diff",
    "Violation": "contract",
}
__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports(__name__, _EXPORTS)
