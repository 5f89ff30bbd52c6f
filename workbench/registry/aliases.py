"""Aliases (``champion``, ``challenger``, custom) and the full history of their moves.

MLflow's registry keeps only where an alias points now; here every move is a row
(time, actor, reason, from_version, to_version, decision), and an alias's current holder is its
newest row. So "which version held ``champion`` on date X" is one query, and rollback knows the
previous holder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from .. import audit
from ..errors import InputError

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "AliasMove",
    "CHAMPION",
    "CHALLENGER",
    "validate_alias",
    "holder",
    "current_aliases",
    "move_alias",
    "history",
    "holder_at",
    "previous_holder",
]

CHAMPION = "champion"
CHALLENGER = "challenger"
_ALIAS = re.compile(r"[a-z][a-z0-9_\-]*\Z")
_RESERVED = re.compile(r"(v\d+|latest)\Z")
_COLUMNS = "id, name, alias, from_version, to_version, kind, actor, reason, decision_id, moved_at"


@dataclass(frozen=True)
class AliasMove:
    """One move of an alias: from one version (or none) to another (or none: removed)."""

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


def validate_alias(alias: str) -> str:
    """``alias`` if valid (lowercase letters, digits, '_', '-'; not ``vN`` or ``latest``)."""
    if not isinstance(alias, str) or not _ALIAS.match(alias) or _RESERVED.match(alias):
        raise InputError(
            f"invalid alias {alias!r}",
            hint="lowercase letters, digits, '_' or '-', starting with a letter; not vN or latest",
        )
    return alias


def holder(con: duckdb.DuckDBPyConnection, name: str, alias: str) -> int | None:
    """The version holding ``alias`` now (None if unset)."""
    rows = con.execute(
        "select to_version from alias_moves where name = ? and alias = ? order by id desc limit 1",
        [name, alias],
    ).fetchall()
    return rows[0][0] if rows else None


def current_aliases(con: duckdb.DuckDBPyConnection, name: str | None = None) -> dict:
    """``{(name, alias): version}`` for every alias that is set now."""
    # the newest move per alias decides, including a removal (to_version null)
    sql = (
        "select name, alias, to_version from (select name, alias, to_version, row_number() "
        "over (partition by name, alias order by id desc) as newest from alias_moves"
        + (" where name = ?" if name is not None else "")
        + ") where newest = 1"
    )
    rows = con.execute(sql, [name] if name is not None else []).fetchall()
    return {(n, a): v for n, a, v in rows if v is not None}


def move_alias(
    con: duckdb.DuckDBPyConnection,
    name: str,
    alias: str,
    to_version: int | None,
    actor: str,
    reason: str | None,
    decision_id: int | None = None,
    rollback: bool = False,
) -> AliasMove:
    """Point ``alias`` at ``to_version`` (None removes it) and record the move and audit entry."""
    from_version = holder(con, name, alias)
    kind = "rollback" if rollback else "move"
    con.execute(
        "insert into alias_moves (name, alias, from_version, to_version, kind, actor, reason, "
        "decision_id, moved_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [name, alias, from_version, to_version, kind, actor, reason, decision_id, datetime.now()],
    )
    details = {"alias": alias, "from": from_version, "to": to_version, "reason": reason}
    if decision_id is not None:
        details["decision"] = decision_id
    audit.append(con, actor, "model.rolled_back" if rollback else "alias.moved", name, details)
    return history(con, name, alias)[-1]


def history(con: duckdb.DuckDBPyConnection, name: str, alias: str | None = None) -> list[AliasMove]:
    """Every move of a model's aliases (or one alias), oldest first."""
    sql = f"select {_COLUMNS} from alias_moves where name = ?"
    params: list = [name]
    if alias is not None:
        sql += " and alias = ?"
        params.append(alias)
    return [AliasMove(*r) for r in con.execute(sql + " order by id", params).fetchall()]


def holder_at(con: duckdb.DuckDBPyConnection, name: str, alias: str, when: datetime) -> int | None:
    """The version that held ``alias`` at ``when`` (None if it was unset)."""
    rows = con.execute(
        "select to_version from alias_moves where name = ? and alias = ? and moved_at <= ? "
        "order by id desc limit 1",
        [name, alias, when],
    ).fetchall()
    return rows[0][0] if rows else None


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
