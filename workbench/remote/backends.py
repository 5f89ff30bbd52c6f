"""Where a remote keeps its files: the operations push and pull need, for a folder and (in
``s3``) for S3-compatible storage.

Keys are ``/``-separated and relative to the remote's root (``objects/ab/cdef...``,
``bundles/<digest>.tar``, ``versions/0000000001.json``). Every write is atomic: a reader sees
a whole file or none. ``create`` is the one conditional write, "create if absent": the commit
point of a push (see ``service``).
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from ..errors import InputError, WorkbenchError
from ..objects import fsync_dir
from .url import RemoteURL, parse_url, validate_endpoint

__all__ = ["Backend", "FolderBackend", "open_backend", "Report", "CHUNK"]

#: called with the bytes moved since the last call; raises ``Cancelled`` to stop a transfer
Report = Callable[[int], None]
CHUNK = 1 << 20
#: temp files of a folder remote older than this are left by killed pushes and removed
_STALE_TEMP_S = 24 * 3600


class Backend(Protocol):
    """The storage operations of a remote."""

    url: RemoteURL

    def describe(self) -> str:
        """The remote's location, for messages."""

    def get_bytes(self, key: str) -> bytes | None:
        """A small file's bytes, or None when absent."""

    def put_bytes(self, key: str, data: bytes) -> None:
        """Write a small file (atomically; replaces an existing one)."""

    def create(self, key: str, data: bytes) -> bool:
        """Write a small file only if ``key`` is absent; False when it exists (nothing written)."""

    def list(self, prefix: str) -> list[str]:
        """Every key under ``prefix`` (a folder, ``objects/``), sorted."""

    def upload(self, key: str, path: Path, report: Report) -> None:
        """Copy a local file to ``key`` (atomically), reporting bytes as they go."""

    def download(self, key: str, dest: Path, report: Report) -> None:
        """Copy ``key`` to the local file ``dest``, reporting bytes as they go."""

    def delete(self, key: str) -> None:
        """Remove a key (only probes are ever removed)."""

    def check_writable(self) -> None:
        """Raise a clear error unless pushes can commit safely here (S3: the server honours
        conditional writes)."""


def open_backend(url: str, endpoint_url: str | None = None, base: Path | None = None) -> Backend:
    """The backend for a remote URL (boto3 loads only for ``s3://`` remotes)."""
    parsed = parse_url(url, base)
    if parsed.kind == "s3":
        from .s3 import S3Backend

        return S3Backend(parsed, validate_endpoint(endpoint_url))
    return FolderBackend(parsed)


class FolderBackend:
    """A remote in a local or mounted folder.

    Writes go to ``tmp/`` first and are fsynced; ``os.replace`` moves them into place. The
    commit (``create``) uses ``os.link`` instead of a rename: a rename silently replaces an
    existing file, a link refuses to, atomically, on local file systems and NFS alike.
    """

    def __init__(self, url: RemoteURL) -> None:
        assert url.path is not None
        self.url = url
        self.root = url.path

    def describe(self) -> str:
        return str(self.root)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*key.split("/"))

    def _ready(self, writing: bool) -> None:
        if self.root.is_dir():
            return
        if self.root.exists():
            raise InputError(f"remote {self.root} is not a folder")
        if not writing:
            raise InputError(f"remote folder {self.root} does not exist")
        if not self.root.parent.is_dir():
            raise InputError(f"cannot create the remote: folder {self.root.parent} does not exist")
        try:
            self.root.mkdir(exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create the remote {self.root}: {exc.strerror}") from None

    def _temp(self) -> Path:
        tmp = self.root / "tmp"
        tmp.mkdir(exist_ok=True)
        now = time.time()
        for old in tmp.iterdir():  # left by pushes that were killed
            try:
                if now - old.stat().st_mtime > _STALE_TEMP_S:
                    old.unlink()
            except OSError:
                pass
        return tmp / f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex}"

    def _write(self, key: str, fill: Callable[[Path], object], exclusive: bool) -> bool:
        self._ready(writing=True)
        temp = self._temp()
        dest = self._path(key)
        try:
            fill(temp)
            with open(temp, "rb") as fh:
                os.fsync(fh.fileno())
            dest.parent.mkdir(parents=True, exist_ok=True)
            if exclusive:
                try:
                    os.link(temp, dest)
                except FileExistsError:
                    return False
            else:
                os.replace(temp, dest)
            fsync_dir(dest.parent)
            return True
        except OSError as exc:
            raise WorkbenchError(f"cannot write {key} to the remote {self.root}: {exc}") from exc
        finally:
            temp.unlink(missing_ok=True)

    def get_bytes(self, key: str) -> bytes | None:
        self._ready(writing=False)
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise WorkbenchError(f"cannot read {key} from the remote {self.root}: {exc}") from exc

    def put_bytes(self, key: str, data: bytes) -> None:
        self._write(key, lambda p: p.write_bytes(data), exclusive=False)

    def create(self, key: str, data: bytes) -> bool:
        return self._write(key, lambda p: p.write_bytes(data), exclusive=True)

    def list(self, prefix: str) -> list[str]:
        self._ready(writing=False)
        top = self._path(prefix.rstrip("/"))
        if not top.is_dir():
            return []
        keys = []
        for folder, dirs, files in os.walk(top):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            rel = Path(folder).relative_to(self.root).as_posix()
            keys += [f"{rel}/{f}" for f in files if not f.startswith(".")]
        return sorted(keys)

    def upload(self, key: str, path: Path, report: Report) -> None:
        self._write(key, lambda p: _copy(path, p, report), exclusive=False)

    def download(self, key: str, dest: Path, report: Report) -> None:
        self._ready(writing=False)
        source = self._path(key)
        if not source.is_file():
            raise WorkbenchError(f"the remote {self.root} lacks {key} (damaged remote)")
        try:
            _copy(source, dest, report)
        except OSError as exc:
            raise WorkbenchError(f"cannot read {key} from the remote {self.root}: {exc}") from exc

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def check_writable(self) -> None:
        self._ready(writing=True)


def _copy(source: Path, dest: Path, report: Report) -> None:
    with open(source, "rb") as src, open(dest, "wb") as out:
        while chunk := src.read(CHUNK):
            out.write(chunk)
            report(len(chunk))
