"""Content-addressed, immutable object files.

Objects live at ``objects/ab/cdef...`` where the name is the BLAKE3 hex digest of the bytes.
BLAKE3 because it is a cryptographic hash that runs several GB/s on two cores (memory-mapped,
multi-threaded), several times faster than SHA-256 or BLAKE2b, so hashing never dominates an
import. Files are written under ``tmp/``, fsynced, then renamed into place; the store records
an object only after the rename, so a crash leaves at worst an orphan that ``gc`` removes.
"""

from __future__ import annotations

import os
import shutil
import stat
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import blake3

__all__ = ["ObjectStore", "hash_file", "hash_bytes", "fsync_dir"]

_CHUNK = 1 << 20


def hash_file(path: Path) -> str:
    """BLAKE3 hex digest of a file's bytes (memory-mapped, multi-threaded)."""
    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    if os.path.getsize(path) == 0:
        return hasher.hexdigest()
    hasher.update_mmap(str(path))
    return hasher.hexdigest()


def hash_bytes(data: bytes) -> str:
    """BLAKE3 hex digest of bytes."""
    return blake3.blake3(data, max_threads=blake3.blake3.AUTO).hexdigest()


def fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in the folder ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ObjectStore:
    """A folder of immutable files named by their content hash."""

    def __init__(self, root: Path, tmp: Path) -> None:
        self.root = root
        self.tmp = tmp

    def path(self, digest: str) -> Path:
        """Where the object with this digest lives (it may not exist)."""
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"not an object digest: {digest!r}")
        return self.root / digest[:2] / digest[2:]

    def exists(self, digest: str) -> bool:
        """Whether the object is present."""
        return self.path(digest).is_file()

    @contextmanager
    def temp_path(self, suffix: str = "") -> Iterator[Path]:
        """A fresh path under ``tmp/``; removed afterwards unless it was adopted."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        path = self.tmp / f"{uuid.uuid4().hex}{suffix}"
        try:
            yield path
        finally:
            path.unlink(missing_ok=True)

    def adopt(self, path: Path, digest: str | None = None) -> tuple[str, bool]:
        """Move a finished temp file into the store; returns (digest, newly_added)."""
        digest = digest or hash_file(path)
        dest = self.path(digest)
        if dest.is_file():
            path.unlink(missing_ok=True)
            return digest, False
        with open(path, "rb") as fh:
            os.fsync(fh.fileno())
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, dest)
        os.chmod(dest, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        fsync_dir(dest.parent)
        return digest, True

    def put_bytes(self, data: bytes) -> str:
        """Store bytes; returns their digest."""
        digest = hash_bytes(data)
        if self.exists(digest):
            return digest
        with self.temp_path() as tmp:
            tmp.write_bytes(data)
            self.adopt(tmp, digest)
        return digest

    def read_bytes(self, digest: str) -> bytes:
        """The bytes of an object."""
        return self.path(digest).read_bytes()

    def copy_to(self, digest: str, dest: Path) -> None:
        """Copy an object's exact bytes to ``dest`` atomically."""
        part = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.part")
        try:
            shutil.copyfile(self.path(digest), part)
            os.replace(part, dest)
        finally:
            part.unlink(missing_ok=True)

    def digests(self) -> Iterator[str]:
        """Every digest present on disk."""
        if not self.root.is_dir():
            return
        for sub in sorted(self.root.iterdir()):
            if sub.is_dir() and len(sub.name) == 2:
                for f in sorted(sub.iterdir()):
                    if f.is_file():
                        yield sub.name + f.name

    def check(self, digest: str) -> str:
        """'ok', 'missing' or 'damaged' for one object."""
        path = self.path(digest)
        if not path.is_file():
            return "missing"
        return "ok" if hash_file(path) == digest else "damaged"

    def remove(self, digest: str) -> None:
        """Delete an object (only ``gc`` does this)."""
        path = self.path(digest)
        if path.exists():
            os.chmod(path, stat.S_IWUSR | stat.S_IRUSR)
            path.unlink()
