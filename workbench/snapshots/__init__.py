"""Versioned, content-addressed data snapshots: import, profile, diff, contracts.

Exports are lazy so that recognising an unchanged file does not import Polars.
"""

from __future__ import annotations

from importlib import import_module

_EXPORTS = {
    "AddResult": "importer",
    "ColumnChange": "diff",
    "ColumnProfile": "profile",
    "ColumnRule": "contract",
    "Contract": "contract",
    "RowChanges": "diff",
    "Snapshot": "catalog",
    "SnapshotDiff": "diff",
    "Violation": "contract",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(name)
