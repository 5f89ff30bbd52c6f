"""Remote names and URLs: a folder (``/srv/wb``, ``file:///srv/wb``) or S3-compatible
storage (``s3://bucket/prefix``, with an endpoint URL for servers other than AWS).

Credentials never appear in a URL or in the workspace: S3 remotes use boto3's own chain
(``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``, ``~/.aws``, instance roles).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..errors import InputError

__all__ = ["RemoteURL", "parse_url", "validate_name", "validate_endpoint"]

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# S3 bucket naming rules (virtual-host safe subset): 3-63 of a-z 0-9 . -, alphanumeric ends.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_HINT = "use a folder path or s3://bucket/prefix"


@dataclass(frozen=True)
class RemoteURL:
    """A parsed remote location."""

    kind: str  # "folder" or "s3"
    #: the folder (kind folder)
    path: Path | None = None
    bucket: str | None = None
    #: key prefix inside the bucket, without leading or trailing slash ("" for the root)
    prefix: str = ""

    def __str__(self) -> str:
        if self.kind == "folder":
            return str(self.path)
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")


def validate_name(name: str) -> str:
    """A remote's name: lower-case letters, digits and ``_``, starting with a letter (it also
    names ``WORKBENCH_REMOTES__<NAME>__URL``)."""
    if not _NAME.match(name or ""):
        raise InputError(
            f"invalid remote name {name!r}",
            hint="lower-case letters, digits and _, starting with a letter (e.g. origin)",
        )
    return name


def parse_url(url: str, base: Path | None = None) -> RemoteURL:
    """Parse a remote URL; relative folders are taken from ``base`` (the project folder)."""
    text = (url or "").strip()
    if not text:
        raise InputError("empty remote URL", hint=_HINT)
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme == "s3":
        if parts.username or parts.password or "@" in parts.netloc:
            raise InputError(
                "credentials do not belong in a remote URL",
                hint="boto3 reads them from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                "AWS_PROFILE or ~/.aws",
            )
        bucket = parts.netloc
        if not bucket:
            raise InputError(f"no bucket in {text!r}", hint="s3://bucket/prefix")
        if not _BUCKET.match(bucket) or ".." in bucket:
            raise InputError(f"invalid S3 bucket name {bucket!r} in {text!r}")
        if parts.query or parts.fragment:
            raise InputError(f"unexpected ?query or #fragment in {text!r}", hint=_HINT)
        prefix = unquote(parts.path).strip("/")
        if any(seg in (".", "..") for seg in prefix.split("/")) or "//" in prefix:
            raise InputError(f"invalid key prefix in {text!r}")
        return RemoteURL("s3", bucket=bucket, prefix=prefix)
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise InputError(f"file URLs name a local folder: {text!r}", hint="file:///path")
        return RemoteURL("folder", path=Path(unquote(parts.path)).resolve())
    if scheme and len(scheme) > 1:  # "C:" style drive letters are not URLs
        raise InputError(f"unsupported remote URL {text!r}", hint=_HINT)
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = (base or Path.cwd()) / path
    return RemoteURL("folder", path=path.resolve())


def validate_endpoint(endpoint: str | None) -> str | None:
    """An S3 endpoint URL (``http(s)://host[:port]``), or None for boto3's default."""
    if endpoint is None or not endpoint.strip():
        return None
    parts = urlsplit(endpoint.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(
            f"invalid endpoint URL {endpoint!r}", hint="e.g. http://127.0.0.1:9000 for MinIO"
        )
    if parts.username or parts.password:
        raise InputError("credentials do not belong in an endpoint URL")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise InputError(f"invalid port in endpoint URL {endpoint!r}") from None
    return endpoint.strip().rstrip("/")
