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

    def __init__(self, root: Path | str, actor: str | None = None) -> None:
        self.root = Path(root)
        #: a name this process claims to act under (checked against ``[accounts]``)
        self.claim = actor
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
        """The name acting: a claimed name (given to the context, or ``actor`` in the settings
        or ``WORKBENCH_ACTOR``) that this OS account may use, else the OS account itself (see
        ``workbench.identity``).

        Until the settings are loaded, read without validating the rest of them (pydantic's
        import is ~0.1 s of every recorded change); once they are loaded, taken from them, so
        the actor and the roles always come from the same reading.
        """
        from .identity import acting_name
        from .processes import os_account

        if "settings" in self.__dict__:
            settings = self.settings
            return acting_name(self.claim or settings.actor, settings.accounts, os_account())
        from .settings_file import read_settings

        raw = read_settings(self.dir)
        claimed = self.claim or raw.get("actor")
        if claimed is not None and not isinstance(claimed, str):
            claimed = self.settings.actor  # the full settings refuse it with one clear line
        return acting_name(claimed, raw.get("accounts") or {}, os_account())

    def check_settings(self) -> None:
        """Validate the whole settings file (and ``WORKBENCH_*`` variables) once per content.

        A workspace opening with a mistyped key or a wrong value says so at once, whatever the
        command, instead of when the setting is first used. The check costs pydantic's import
        (~0.1 s), so its outcome is remembered beside the file (``settings.checked``: a digest
        of the file and the variables) and repeated only when one of them changed.
        """
        import hashlib
        import os

        from .settings_file import SETTINGS_FILE

        path = self.dir / SETTINGS_FILE
        try:
            content = path.read_bytes()
        except FileNotFoundError:
            content = b""
        env = sorted((k, v) for k, v in os.environ.items() if k.startswith("WORKBENCH_"))
        digest = hashlib.blake2b(content + repr(env).encode(), digest_size=16).hexdigest()
        marker = self.dir / "settings.checked"
        try:
            if marker.read_text(encoding="ascii") == digest:
                return
        except (FileNotFoundError, UnicodeDecodeError):
            pass
        from .config import validate_settings

        self.__dict__["settings"] = validate_settings(self.dir)
        try:
            marker.write_text(digest, encoding="ascii")
        except OSError:  # a read-only workspace: check again next time
            pass

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
