"""One exception hierarchy for every layer.

Faces catch ``WorkbenchError`` and show ``str(err)`` (and ``err.hint``) as one line;
anything else is a bug and shows a traceback only with ``--debug``.
"""

from __future__ import annotations

__all__ = [
    "WorkbenchError",
    "InputError",
    "NotFoundError",
    "WorkspaceNotFound",
    "WorkspaceBusy",
    "IntegrityError",
    "CheckFailed",
    "Cancelled",
    "PermissionDenied",
    "Conflict",
    "Unreachable",
]


class WorkbenchError(Exception):
    """A failure the user can understand and act on."""

    #: exit code the CLI uses for this kind of error
    exit_code: int = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class InputError(WorkbenchError):
    """Bad input: a path, a name, a file's content, an option."""


class NotFoundError(WorkbenchError):
    """A reference (snapshot, run, model) that does not exist."""


class WorkspaceNotFound(WorkbenchError):
    """No ``.workbench`` folder here or above, and none given."""


class WorkspaceBusy(WorkbenchError):
    """Another process held the store's write lock for longer than the timeout."""

    exit_code = 3


class IntegrityError(WorkbenchError):
    """Stored objects are missing or damaged."""

    exit_code = 1


class CheckFailed(WorkbenchError):
    """A check the user asked for did not pass (contract, gate, drift)."""

    exit_code = 1


class Cancelled(WorkbenchError):
    """The user cancelled a long operation; state is left consistent."""

    exit_code = 130


class PermissionDenied(WorkbenchError):
    """The acting user's role does not allow this action."""


class Conflict(WorkbenchError):
    """Two histories disagree: a push based on a stale pull, or a pull that would lose local
    work. Nothing was changed on either side."""

    exit_code = 4


class Unreachable(WorkbenchError):
    """A remote server did not answer (network down, wrong endpoint); try again later."""

    exit_code = 3
