"""The context every domain service is built with: where the workspace is, its store and
objects, its settings and who is acting.

A service receives the context and the lower services it uses, typed, in its constructor
(``ExperimentService(ctx, snapshots)``), so every dependency between domains is visible to the
import contracts and the type checker. A long-lived process (the scoring server, a monitoring
watcher) builds one context and only the services it needs.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InputError
from .locate import WORKBENCH_DIR
from .objects import ObjectStore
from .store import Store

if TYPE_CHECKING:
    import duckdb

    from .config import Settings

__all__ = ["Context", "read_audit_key"]


def read_audit_key(path: Path, project: Path) -> bytes:
    """The bytes of an audit key file; one clear error when it is missing, empty or inside
    the project folder."""
    resolved = path.resolve()
    if resolved.is_relative_to(project.resolve()):
        raise InputError(
            f"the audit key {path} lies inside the project folder",
            hint="keep it outside, e.g. ~/.config/workbench/audit.key",
        )
    try:
        key = resolved.read_bytes().strip()
    except OSError as exc:
        raise InputError(f"cannot read the audit key {path}: {exc.strerror}") from None
    if len(key) < 16:
        raise InputError(f"the audit key {path} is too short (at least 16 bytes)")
    return key


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

    @functools.cached_property
    def audit_key(self) -> bytes | None:
        """The key that signs audit entries, read from ``[audit] key_file`` (or
        ``WORKBENCH_AUDIT__KEY_FILE``), or None. The file must lie outside the project: a key
        beside the log it protects protects nothing."""
        from .settings_file import read_settings

        section = read_settings(self.dir).get("audit") or {}
        configured = section.get("key_file") if isinstance(section, dict) else None
        if not configured:
            return None
        return read_audit_key(Path(str(configured)).expanduser(), self.root)

    def audit(
        self,
        con: duckdb.DuckDBPyConnection,
        action: str,
        subject: str | None = None,
        details: dict[str, Any] | None = None,
        *,
        rows: Iterable[tuple[str, int]] = (),
        actor: str | None = None,
    ) -> int:
        """Append an audit entry in the caller's write transaction: the acting user (or
        ``actor``), this process's OS account, the governed ``rows`` (table, id) the change
        wrote, signed when the workspace has an audit key."""
        from . import audit
        from .processes import os_account

        return audit.append(
            con, actor or self.actor, action, subject, details, rows=rows,
            os_account=os_account(), key=self.audit_key,
        )  # fmt: skip

    def change_token(self) -> int:
        """Changes whenever any process writes to this workspace (cheap: one stat)."""
        return self.store.change_token()
