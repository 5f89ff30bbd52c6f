"""Who is acting: the operating-system account, and the name it acts under.

A process runs as an OS account (``processes.os_account``, from the uid: ``USER`` and
``LOGNAME`` can be set by anyone). It acts under that account's name unless a name is claimed
(``actor`` in the settings file, ``WORKBENCH_ACTOR``, ``workbench --as NAME``, or
``Workspace(root, actor=NAME)``), and a claim is honoured only when the settings file's
``[accounts]`` table lets the account use that name (``ana = ["alice"]``, or ``["*"]``).
Roles belong to names, so without that check anyone could become an approver by typing one.
The audit log records both: the name acted under and the OS account.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import InputError, PermissionDenied

__all__ = ["acting_name", "may_act_as"]


def may_act_as(accounts: Mapping[str, Any], account: str, name: str) -> bool:
    """Whether OS ``account`` may act under ``name`` given the ``[accounts]`` table."""
    if name == account:
        return True
    allowed = accounts.get(account, [])
    if isinstance(allowed, str):
        allowed = [allowed]
    return "*" in allowed or name in allowed


def acting_name(claimed: object, accounts: object, account: str) -> str:
    """The name to act under: ``claimed`` when allowed, the OS ``account`` when none is
    claimed; PermissionDenied (one clear line) for a claim the account may not make."""
    if claimed is None or claimed == "":
        return account
    if not isinstance(claimed, str):
        raise InputError(f"actor must be a name, not {claimed!r}")
    table = accounts if isinstance(accounts, Mapping) else {}
    if may_act_as(table, account, claimed):
        return claimed
    raise PermissionDenied(
        f"OS account {account} may not act as {claimed}",
        hint=f'an admin can add [accounts] {account} = ["{claimed}"] to .workbench/workbench.toml',
    )
