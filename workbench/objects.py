"""Content-addressed, immutable object files.

Objects live at ``objects/ab/cdef...`` where the name is the BLAKE3 hex digest of the bytes.
BLAKE3 because it is a cryptographic hash that runs several GB/s on two cores (memory-mapped,
multi-threaded), several times faster than SHA-256 or BLAKE2b, so hashing never dominates an
import. Files are written under ``tmp/``, fsynced, then renamed into place; the store records
an object only after the rename, so a crash leaves at worst an orphan that ``gc`` removes.

Writers and ``gc`` never overlap. Between renaming an object into place and recording it, the
object is unreferenced, so a ``gc`` scanning then would delete it (and a temp file under
``tmp/`` of a write in flight). So every unit of write work holds ``writing()`` (a shared
``flock`` on ``objects.lock``) from its first temp file until its record is committed, and
``gc`` holds ``collecting()`` (exclusive) from its scan to its last delete: it waits for writes
in flight, and new writes wait for it. A SIGKILLed writer releases its lock with its process.

Temp files are named after the writing process (``<pid>-<random>``): a write that was killed
leaves a file whose process is gone, which the next write removes (``sweep_temp``) and
``verify`` reports.
"""

from __future__ import annotations

import os
import shutil
import stat
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import blake3

from .filelock import backoff, hold, try_lock
from .processes import process_alive

__all__ = ["ObjectStore", "TempFile", "hash_file", "hash_bytes", "fsync_dir"]

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


@dataclass(frozen=True)
class TempFile:
    """A file under ``tmp/`` and whether the process that wrote it is gone."""

    path: Path
    size: int
    stale: bool


class ObjectStore:
    """A folder of immutable files named by their content hash."""

    def __init__(
        self, root: Path, tmp: Path, lock_timeout: float | Callable[[], float] = 15.0
    ) -> None:
        self.root = root
        self.tmp = tmp
        self.lockfile = root.parent / "objects.lock"
        self._lock_timeout = lock_timeout

    # -- writers and gc ----------------------------------------------------------------------

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold for a unit of write work: from the first temp file until the record of the
        objects it made is committed. ``gc`` waits for it (see the module doc).

        Writes come first: a writer that has to wait leaves a marker beside the lock, and
        ``gc`` does not start while a live process's marker is there (a ``gc`` run in a loop
        would otherwise keep a writer out forever).
        """
        fd = try_lock(self.lockfile, exclusive=False)
        if fd is not None:
            try:
                yield
            finally:
                os.close(fd)
            return
        # gc holds the lock now: queue up behind it
        marker = self.lockfile.with_name(f"objects.wait.{os.getpid()}.{uuid.uuid4().hex[:8]}")
        marker.touch()
        try:
            with hold(self.lockfile, False, self._lock_timeout, busy="gc is collecting objects"):
                marker.unlink(missing_ok=True)
                yield
        finally:
            marker.unlink(missing_ok=True)

    def _writers_waiting(self) -> bool:
        waiting = False
        for marker in self.lockfile.parent.glob("objects.wait.*"):
            pid = marker.name.split(".")[2]
            if pid.isdigit() and process_alive(int(pid)):
                waiting = True
            else:
                marker.unlink(missing_ok=True)  # left by a writer that was killed
        return waiting

    @contextmanager
    def collecting(self) -> Iterator[None]:
        """Hold while collecting garbage: no write is in flight meanwhile, and none waits."""
        limit = self._lock_timeout() if callable(self._lock_timeout) else self._lock_timeout
        waits = backoff(limit, 0.005, 0.1, busy="writes are in progress")
        while True:
            while self._writers_waiting():
                next(waits)
            fd = try_lock(self.lockfile, exclusive=True)
            if fd is not None:
                break
            next(waits)
        try:
            yield
        finally:
            os.close(fd)

    def temp_files(self) -> list[TempFile]:
        """Files under ``tmp/``; ``stale`` when the process that wrote them is gone."""
        if not self.tmp.is_dir():
            return []
        found = []
        for path in sorted(self.tmp.iterdir()):
            owner = path.name.partition("-")[0]
            stale = not (owner.isdigit() and process_alive(int(owner)))
            try:
                size = path.stat().st_size if path.is_file() else 0
            except FileNotFoundError:  # its writer just adopted or removed it
                continue
            found.append(TempFile(path, size, stale))
        return found

    def sweep_temp(self) -> list[TempFile]:
        """Remove temp files of processes that are gone (killed writes); returns them."""
        removed = []
        for temp in self.temp_files():
            if temp.stale:
                if temp.path.is_dir():
                    shutil.rmtree(temp.path, ignore_errors=True)
                else:
                    temp.path.unlink(missing_ok=True)
                removed.append(temp)
        return removed

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
        """A fresh path under ``tmp/``, named after this process; removed afterwards unless it
        was adopted. Hold ``writing()`` around it and the record that follows."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.sweep_temp()
        path = self.tmp / f"{os.getpid()}-{uuid.uuid4().hex}{suffix}"
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
        """Store bytes; returns their digest (hold ``writing()`` until it is recorded)."""
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
