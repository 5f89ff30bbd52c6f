"""Aliases (``champion``, ``challenger``, custom) and the full history of their moves.

MLflow's registry keeps only where an alias points now; here every move is a row
(time, actor, reason, from_version, to_version, decision), and an alias's current holder is its
newest row (SQL in ``repository``). So "which version held ``champion`` on date X" is one query,
and rollback knows the previous holder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from ..display import Schema, Tabular
from ..errors import InputError

__all__ = [
    "AliasMove",
    "CHAMPION",
    "CHALLENGER",
    "validate_alias",
    "previous_holder",
]

CHAMPION = "champion"
CHALLENGER = "challenger"
_ALIAS = re.compile(r"[a-z][a-z0-9_\-]*\Z")
_RESERVED = re.compile(r"(v\d+|latest)\Z")


@dataclass(frozen=True)
class AliasMove(Tabular):
    """One move of an alias: from one version (or none) to another (or none: removed).

    ``Workspace.alias_history`` returns them oldest first as a ``RecordList``: one table in a
    notebook, one frame with ``to_polars()``.
    """

    _SCHEMA: ClassVar[Schema] = {
        "moved_at": "Datetime", "model": "String", "alias": "String",
        "from_version": "Int64", "to_version": "Int64", "kind": "String", "actor": "String",
        "reason": "String", "decision_id": "Int64",
    }  # fmt: skip
    _NOUN: ClassVar[str] = "alias moves"
    _TAIL: ClassVar[bool] = True

    id: int
    name: str
    alias: str
    from_version: int | None
    to_version: int | None
    #: ``move`` or ``rollback``
    kind: str
    actor: str
    reason: str | None
    decision_id: int | None
    moved_at: datetime

    def __str__(self) -> str:
        src = f"v{self.from_version}" if self.from_version else "-"
        dst = f"v{self.to_version}" if self.to_version else "-"
        verb = " (rollback)" if self.kind == "rollback" else ""
        return f"{self.moved_at:%Y-%m-%d %H:%M} {self.alias}: {src} -> {dst}{verb} by {self.actor}"

    def _row(self) -> dict[str, Any]:
        return {
            "moved_at": self.moved_at, "model": self.name, "alias": self.alias,
            "from_version": self.from_version, "to_version": self.to_version, "kind": self.kind,
            "actor": self.actor, "reason": self.reason, "decision_id": self.decision_id,
        }  # fmt: skip


def validate_alias(alias: str) -> str:
    """``alias`` if valid (lowercase letters, digits, '_', '-'; not ``vN`` or ``latest``)."""
    if not isinstance(alias, str) or not _ALIAS.match(alias) or _RESERVED.match(alias):
        raise InputError(
            f"invalid alias {alias!r}",
            hint="lowercase letters, digits, '_' or '-', starting with a letter; not vN or latest",
        )
    return alias


def previous_holder(moves: list[AliasMove]) -> int | None:
    """Where a rollback of this alias goes: the holder before the current one was promoted.

    ``moves`` is one alias's history, oldest first. Rollbacks are skipped when looking for the
    promotion of the current holder, so rolling back twice goes further back in time
    (v1 -> v2 -> v3, rollback to v2, rollback to v1) instead of toggling.
    """
    if not moves or moves[-1].to_version is None:
        return None
    current = moves[-1].to_version
    for move in reversed(moves):
        if move.to_version == current and move.kind != "rollback":
            return move.from_version
    return None
