"""Status files: what each running server process serves, for the TUI and ``serving_status``.

Each server process writes ``.workbench/serving/<pid>.json`` every ``interval`` seconds (under a
temporary name, then renamed): its address, start time, the models in their roles since when,
request and error counts and the request rate over the last interval. Readers keep the files
whose process is alive (pid and kernel start time, so a reused pid does not count) and that
were written recently; a file left by a killed server is removed by the next reader.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..processes import ProcessId, is_alive, this_process

__all__ = ["SERVING_DIR", "ServerStatus", "StatusWriter", "read_statuses", "status_dir"]

SERVING_DIR = "serving"
#: a status file older than this many intervals is stale even if its pid lives
_STALE_AFTER = 5
_logger = logging.getLogger(__name__)


def status_dir(workspace_dir: Path) -> Path:
    """``.workbench/serving`` of a workspace's ``.workbench`` folder."""
    return Path(workspace_dir) / SERVING_DIR


@dataclass(frozen=True)
class ServerStatus:
    """One running server process, as its status file says."""

    pid: int
    host: str
    address: str
    started_at: datetime
    updated_at: datetime
    #: one entry per role: role, ref, model, version, task, since
    models: list[dict[str, Any]]
    requests: int
    errors: int
    #: requests per second over the writer's last interval
    request_rate: float
    #: the canary's model, version, fraction, source (``flag`` or ``ramp``), route key, salt
    canary: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def roles(self) -> dict[str, str]:
        """Role -> ``name@vN``."""
        return {m["role"]: f"{m['model']}@v{m['version']}" for m in self.models}

    def summary(self) -> str:
        """One line: where, which versions in which roles since when (UTC), how busy."""
        parts = []
        for m in self.models:
            since = datetime.fromisoformat(m["since"]).astimezone(UTC)
            share = ""
            if m["role"] == "canary" and self.canary:
                share = f" {self.canary.get('fraction', 0):.0%}"
                if self.canary.get("source"):
                    share += f" ({self.canary['source']})"
            parts.append(f"{m['role']}{share} {m['model']}@v{m['version']} since {since:%H:%M:%S}")
        return (
            f"{self.address} (pid {self.pid}): {'; '.join(parts)}; "
            f"{self.request_rate:,.1f} req/s, {self.requests:,} requests, {self.errors:,} errors"
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ServerStatus:
        """Read back what ``StatusWriter`` wrote."""
        return cls(
            pid=int(data["pid"]),
            host=str(data["host"]),
            address=str(data.get("address", "")),
            started_at=datetime.fromisoformat(data["started_at"]),
            updated_at=datetime.fromisoformat(data["updated_at"]),
            models=list(data.get("models", [])),
            requests=int(data.get("requests", 0)),
            errors=int(data.get("errors", 0)),
            request_rate=float(data.get("request_rate", 0.0)),
            canary=data.get("canary"),
            extra=dict(data.get("extra", {})),
        )


class StatusWriter:
    """Writes this process's status file every ``interval`` seconds on a thread.

    ``describe()`` returns the deployment's description (``Deployment.describe``) and
    ``counters()`` (requests, errors) as running totals; both are read at each write.
    """

    def __init__(
        self,
        folder: Path,
        address: str,
        describe: Callable[[], dict[str, Any]],
        counters: Callable[[], tuple[int, int]],
        *,
        interval: float = 2.0,
        extra: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.address = address
        self.interval = interval
        self._describe = describe
        self._counters = counters
        self._extra = extra
        self._process: ProcessId = this_process()
        self._started = datetime.now(UTC)
        self.path = self.folder / f"{self._process.pid}.json"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last: tuple[float, int] | None = None

    def start(self) -> StatusWriter:
        """Write once now, then every interval on a thread."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.write()
        self._thread = threading.Thread(target=self._run, name="serving-status", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.write()
            except Exception as exc:  # a full disk must not stop the server
                _logger.warning("serving status not written: %r", exc)

    def write(self) -> None:
        """Write the status file now (temporary name, then rename)."""
        requests, errors = self._counters()
        now = time.monotonic()
        rate = 0.0
        if self._last is not None and now > self._last[0]:
            rate = (requests - self._last[1]) / (now - self._last[0])
        self._last = (now, requests)
        described = self._describe()
        data = {
            "pid": self._process.pid,
            "host": self._process.host,
            "process_started": self._process.started,
            "address": self.address,
            "started_at": self._started.isoformat(),
            "updated_at": datetime.now(UTC).isoformat(),
            "models": described.get("models", []),
            "canary": described.get("canary"),
            "requests": requests,
            "errors": errors,
            "request_rate": round(rate, 3),
            "interval": self.interval,
            "extra": self._extra() if self._extra else {},
        }
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, self.path)

    def stop(self) -> None:
        """Stop writing and remove the file (the server is no longer serving)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.path.unlink(missing_ok=True)


def read_statuses(folder: Path, *, now: datetime | None = None) -> list[ServerStatus]:
    """The live servers' statuses, by address then pid; dead processes' files are removed."""
    now = now or datetime.now(UTC)
    out = []
    try:
        paths = sorted(Path(folder).glob("*.json"))
    except OSError:
        return []
    for path in paths:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            status = ServerStatus.from_dict(data)
        except (OSError, ValueError, KeyError, TypeError):
            continue
        process = ProcessId(status.pid, status.host, data.get("process_started"))
        alive = is_alive(process)
        if alive is False:
            path.unlink(missing_ok=True)
            continue
        interval = float(data.get("interval", 2.0))
        if (now - status.updated_at).total_seconds() > _STALE_AFTER * interval:
            continue  # alive but silent (stopped, or another host's): not shown as serving
        out.append(status)
    return sorted(out, key=lambda s: (s.address, s.pid))
