"""Remotes: push a workspace to a folder or S3-compatible storage and pull it elsewhere
(see ``service`` for the layout and the concurrency rules, ``bundle`` for the metadata)."""

from __future__ import annotations

from .records import Contents, PullResult, PushResult, RemoteInfo, RemoteVersion, SyncState
from .service import RemoteService

__all__ = [
    "RemoteService",
    "RemoteInfo",
    "RemoteVersion",
    "Contents",
    "PushResult",
    "PullResult",
    "SyncState",
]
