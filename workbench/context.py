"""The context every domain service is built with: where the workspace is, its store and
objects, its settings and who is acting.

A service receives the context and the lower services it uses, typed, in its constructor
(``ExperimentService(ctx, snapshots)``), so every dependency between domains is visible to the
import contracts and the type checker. A long-lived process (the scoring server, a monitoring
watcher) builds one context and only the services it needs.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from .locate import WORKBENCH_DIR
from .objects import ObjectStore
from .store import Store

if TYPE_CHECKING:
    from .config import Settings

__all__ = ["Context"]


class Context:
    """One workspace's shared parts: folders, metadata store, object store, settings, actor."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.dir = self.root / WORKBENCH_DIR
        # Settings (pydantic, ~0.2 s of import) load on first use: the store asks for its lock
        # timeout only when another process holds the lock, so an unchanged `data add` or a
        # `data list` never pays for them.
        self.store = Store(
            self.dir / "meta.duckdb", lock_timeout=lambda: self.settings.lock_timeout
        )
        self.objects = ObjectStore(
            self.dir / "objects", self.dir / "tmp", lock_timeout=lambda: self.settings.lock_timeout
        )

    def __repr__(self) -> str:
        return f"Context({str(self.root)!r})"

    @functools.cached_property
    def settings(self) -> Settings:
        """The workspace's settings (``workbench.toml`` and ``WORKBENCH_*`` variables)."""
        from .config import load_settings

        return load_settings(self.dir)

    @property
    def actor(self) -> str:
        """Who is acting (settings or the OS user).

        Until the settings are loaded, read without validating the rest of them (pydantic's
        import is ~0.1 s of every recorded change); a value that is not a string goes through
        the full settings, which refuse it with one clear line. Once they are loaded, taken
        from them, so the actor and the roles always come from the same reading.
        """
        if "settings" in self.__dict__:
            return self.settings.actor_name
        from .settings_file import os_user, read_settings

        actor = read_settings(self.dir).get("actor")
        if actor is None or isinstance(actor, str):
            return actor or os_user()
        return self.settings.actor_name

    def change_token(self) -> int:
        """Changes whenever any process writes to this workspace (cheap: one stat)."""
        return self.store.change_token()
