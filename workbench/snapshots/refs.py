"""Snapshot names and references: ``churn``, ``churn@v2``, ``churn@latest``, a hash prefix."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InputError

__all__ = ["validate_name", "SnapshotRef", "parse_ref"]

# Names become parts of references and file names: a conservative alphabet, no separators,
# so a name can never make a path outside the workspace.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_HASH_PREFIX = re.compile(r"^[0-9a-f]{6,64}$")


def validate_name(name: str) -> str:
    """The name itself when it is a valid snapshot name, else an InputError."""
    if not name or not _NAME.match(name) or ".." in name:
        raise InputError(
            f"invalid name {name!r}",
            hint="use letters, digits, '.', '_' or '-', starting with a letter or digit, "
            "at most 64 characters",
        )
    return name


@dataclass(frozen=True)
class SnapshotRef:
    """A parsed reference: by name and version (None = latest) and/or by hash prefix."""

    name: str | None = None
    version: int | None = None
    hash_prefix: str | None = None

    def __str__(self) -> str:
        if self.hash_prefix:
            return self.hash_prefix
        return f"{self.name}@{'latest' if self.version is None else f'v{self.version}'}"


def parse_ref(text: str) -> SnapshotRef:
    """Parse a user's reference; InputError for malformed text."""
    text = (text or "").strip()
    if "@" in text:
        name, _, version = text.partition("@")
        validate_name(name)
        if version == "latest":
            return SnapshotRef(name=name)
        m = re.fullmatch(r"v?(\d{1,9})", version)
        if not m:
            raise InputError(f"invalid version {version!r} in {text!r}", hint="use @v2 or @latest")
        return SnapshotRef(name=name, version=int(m.group(1)))
    validate_name(text)
    # A bare word is a name (latest version) or, failing that, a content-hash prefix.
    return SnapshotRef(name=text, hash_prefix=text if _HASH_PREFIX.match(text) else None)
