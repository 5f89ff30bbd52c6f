"""Roles: who may do what, checked in the core (faces only hide what the core refuses).

The acting user is ``settings.actor`` (``WORKBENCH_ACTOR`` overrides it) or the OS user. Their
role comes from the ``[roles]`` table of ``workbench.toml``; users not listed get
``default_role`` (``developer``). Roles are ordered, each allowing what the ones before it do:

========== =============================================================================
viewer     read everything
developer  register model versions, propose promotions and rollbacks, retrain, edit cards,
           delete and restore runs (not one that backs a registered model version)
approver   approve and reject proposals, roll back directly, move aliases
admin      everything
========== =============================================================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import InputError, PermissionDenied

if TYPE_CHECKING:
    from ..config import Settings

__all__ = ["ROLES", "ACTIONS", "role_of", "allows", "require"]

ROLES = ("viewer", "developer", "approver", "admin")

#: action -> the least role that may perform it
ACTIONS = {
    "view": "viewer",
    "register": "developer",
    "propose": "developer",
    "retrain": "developer",
    "edit_card": "developer",
    "delete_run": "developer",
    "approve": "approver",
    "reject": "approver",
    "rollback": "approver",
    "move_alias": "approver",
}


def role_of(settings: Settings, actor: str) -> str:
    """The role of ``actor`` under ``settings``."""
    return settings.roles.get(actor, settings.default_role)


def allows(role: str, action: str) -> bool:
    """Whether ``role`` may perform ``action``."""
    if action not in ACTIONS:
        raise InputError(f"unknown action {action!r}")
    return ROLES.index(role) >= ROLES.index(ACTIONS[action])


def require(settings: Settings, actor: str, action: str) -> None:
    """Raise ``PermissionDenied`` (one clear line) unless ``actor`` may perform ``action``."""
    role = role_of(settings, actor)
    if not allows(role, action):
        needed = ACTIONS[action]
        raise PermissionDenied(
            f"{actor} has role {role}; {action.replace('_', ' ')} needs {needed}",
            hint=f'an admin can set [roles] {actor} = "{needed}" in .workbench/workbench.toml',
        )
