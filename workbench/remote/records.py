"""Records the remote service takes and returns."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..errors import IntegrityError

__all__ = ["RemoteInfo", "RemoteVersion", "Contents", "PushResult", "PullResult", "SyncState"]

_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_PART = re.compile(r"^[A-Za-z0-9_@=+-][A-Za-z0-9._@=+-]*$")


@dataclass(frozen=True)
class RemoteInfo:
    """A configured remote."""

    name: str
    url: str
    endpoint_url: str | None = None


@dataclass(frozen=True)
class RemoteVersion:
    """One push: the version file ``versions/NNNNNNNNNN.json`` on the remote."""

    version: int
    #: the version it was based on (None for the first)
    parent: int | None
    #: digest of the metadata bundle (``bundles/<digest>.tar``)
    bundle: str
    #: digest of the contents list (``bundles/<digest>.json``): objects and prediction files
    contents: str
    #: the audit log's newest entry, ``SEQ:HASH`` (None: an empty log)
    audit_head: str | None
    schema_version: int
    objects: int
    pushed_by: str
    os_account: str
    host: str
    pushed_at: str
    workbench: str

    def to_json(self) -> bytes:
        """The version file's bytes."""
        return json.dumps({"format": 1, **asdict(self)}, sort_keys=True, indent=1).encode()

    @classmethod
    def from_json(cls, data: bytes, key: str) -> RemoteVersion:
        """Parse a version file (one clear error when it is damaged)."""
        try:
            raw: dict[str, Any] = json.loads(data)
            known = {f.name for f in fields(cls)}
            version = cls(**{k: v for k, v in raw.items() if k in known})  # newer fields: kept out
        except (ValueError, TypeError) as exc:
            raise IntegrityError(f"the remote's {key} is damaged: {exc}") from None
        # the digests name files to fetch: nothing else may reach a path
        if not (_DIGEST.match(str(version.bundle)) and _DIGEST.match(str(version.contents))):
            raise IntegrityError(f"the remote's {key} names an invalid digest")
        return version

    @property
    def cache_key(self) -> str:
        """A key naming this version's content, for CI caches of the object store."""
        return f"v{self.version}-{self.bundle[:16]}"


@dataclass
class Contents:
    """What a version needs besides its metadata: the objects its records name, and the
    prediction log's files (``predictions/...``, immutable once named)."""

    #: digest -> size in bytes
    objects: dict[str, int] = field(default_factory=dict)
    #: path under ``.workbench`` -> (digest, size)
    predictions: dict[str, tuple[str, int]] = field(default_factory=dict)

    def to_json(self) -> bytes:
        """Canonical JSON bytes."""
        data = {"objects": self.objects, "predictions": self.predictions}
        return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Contents:
        """Parse and check a contents list (digests, and paths that stay under
        ``predictions/``: it comes from elsewhere)."""
        try:
            raw = json.loads(data)
            objects = {str(d): int(n) for d, n in raw["objects"].items()}
            predictions = {str(p): (str(v[0]), int(v[1])) for p, v in raw["predictions"].items()}
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise IntegrityError(f"the remote's contents list is damaged: {exc}") from None
        digests = [*objects, *(d for d, _ in predictions.values())]
        if not all(_DIGEST.match(d) for d in digests):
            raise IntegrityError("the remote's contents list names an invalid digest")
        for path in predictions:
            parts = path.split("/")
            if parts[0] != "predictions" or not all(_PART.match(p) for p in parts[1:]):
                raise IntegrityError(f"the remote's contents list names an odd path {path!r}")
        return cls(objects, predictions)


@dataclass(frozen=True)
class PushResult:
    """What a push did."""

    remote: str
    #: the version now on the remote (None: nothing was ever pushed)
    version: int | None
    up_to_date: bool
    objects_uploaded: int = 0
    objects_present: int = 0
    files_uploaded: int = 0
    bytes_uploaded: int = 0


@dataclass(frozen=True)
class PullResult:
    """What a pull did."""

    remote: str
    version: int
    up_to_date: bool
    #: whether the metadata was replaced by the remote's
    replaced: bool = False
    objects_downloaded: int = 0
    files_downloaded: int = 0
    bytes_downloaded: int = 0
    #: this workspace holds changes the remote lacks (the remote's history is part of ours)
    ahead: bool = False


@dataclass(frozen=True)
class SyncState:
    """What this workspace last exchanged with a remote (``.workbench/remotes.json``)."""

    version: int
    audit_head: str | None
    #: "push" or "pull"
    direction: str
    at: str
