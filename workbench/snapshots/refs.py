"""Snapshot names and references: ``churn``, ``churn@v2``, ``churn@latest``, ``hash:9318e0``.

A bare word is a name first and, when no snapshot has that name, a content-hash prefix; the
``hash:`` form is a hash prefix only, so no name can shadow it. New names that could be read as
a hash prefix (6-64 lowercase hex digits, ``9318e0``) are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InputError

__all__ = ["validate_name", "SnapshotRef", "parse_ref", "HASH_REF"]

# Names become parts of references and file names: a conservative alphabet, no separators,
# so a name can never make a path outside the workspace.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_HASH_PREFIX = re.compile(r"^[0-9a-f]{6,64}$")


#: how a reference names a content hash (prefix) and nothing else
HASH_REF = "hash:"


def _check_name(name: str) -> str:
    if not name or not _NAME.match(name) or ".." in name:
        raise InputError(
            f"invalid name {name!r}",
            hint="use letters, digits, '.', '_' or '-', starting with a letter or digit, "
            "at most 64 characters",
        )
    return name


def validate_name(name: str) -> str:
    """The name itself when it is a valid name for a new snapshot, else an InputError.

    Names made only of 6-64 lowercase hex digits are refused: a bare ``9318e0`` would shadow
    the snapshot whose content hash starts so (names resolve before hash prefixes).
    """
    _check_name(name)
    if _HASH_PREFIX.match(name):
        raise InputError(
            f"invalid name {name!r}: it reads as a content-hash prefix",
            hint="use a letter from g to z or a separator too, e.g. 'batch-" + name + "'",
        )
    return name


@dataclass(frozen=True)
class SnapshotRef:
    """A parsed reference: by name and version (None = latest) and/or by hash prefix."""

    name: str | None = None
    version: int | None = None
    hash_prefix: str | None = None

    def __str__(self) -> str:
        if self.name is None:
            return f"{HASH_REF}{self.hash_prefix}"
        if self.hash_prefix:
            return self.hash_prefix  # a bare word, as typed
        return f"{self.name}@{'latest' if self.version is None else f'v{self.version}'}"


def parse_ref(text: str) -> SnapshotRef:
    """Parse a user's reference; InputError for malformed text."""
    text = (text or "").strip()
    if text.startswith(HASH_REF):
        prefix = text.removeprefix(HASH_REF).lower()
        if not _HASH_PREFIX.match(prefix):
            raise InputError(
                f"invalid hash prefix {text!r}", hint="use 6 to 64 hex digits, e.g. hash:9318e0"
            )
        return SnapshotRef(hash_prefix=prefix)
    if "@" in text:
        name, _, version = text.partition("@")
        _check_name(name)
        if version == "latest":
            return SnapshotRef(name=name)
        m = re.fullmatch(r"v?(\d{1,9})", version)
        if not m:
            raise InputError(f"invalid version {version!r} in {text!r}", hint="use @v2 or @latest")
        return SnapshotRef(name=name, version=int(m.group(1)))
    _check_name(text)  # an existing name may predate the rule against hex names
    # A bare word is a name (latest version) or, failing that, a content-hash prefix.
    return SnapshotRef(name=text, hash_prefix=text if _HASH_PREFIX.match(text) else None)
