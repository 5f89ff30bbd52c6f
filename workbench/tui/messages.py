"""Messages the app posts about the workspace (from worker threads; handled on the UI thread)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from ..api import Workspace

__all__ = ["WorkspaceOpened", "WorkspaceFailed"]


class WorkspaceOpened(Message):
    """The workspace (and the heavy libraries behind it) finished loading."""

    def __init__(self, workspace: Workspace, token: int) -> None:
        super().__init__()
        self.workspace = workspace
        self.token = token


class WorkspaceFailed(Message):
    """The workspace could not be opened."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error
