"""A serving session: everything one scoring process runs, started and stopped in order.

The live deployment (``DeploymentHolder``), the data plane that scores requests on it, the
alias watcher that swaps it, the prediction log with its periodic compaction, and the status
file. ``close()`` stops them in the order that loses nothing: stop swapping, score what the
shadow has queued (its rows go to the log), close the log (every row written), stop compacting,
remove the status file. A web server calls ``close()`` in its lifespan teardown, after the last
in-flight request has answered and emitted its rows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .dataplane import DataPlane
    from .deployment import Deployment, DeploymentHolder
    from .predlog import PredictionLog
    from .predlog_compact import PeriodicCompaction
    from .status import StatusWriter
    from .watcher import AliasWatcher

__all__ = ["ServingSession"]

_logger = logging.getLogger(__name__)


class ServingSession:
    """The parts of a running scoring process (see the module doc)."""

    def __init__(
        self,
        holder: DeploymentHolder,
        plane: DataPlane,
        watcher: AliasWatcher | None,
        log: PredictionLog | None,
        compaction: Callable[[], PeriodicCompaction] | None,
        status: Callable[[str, Callable[[], tuple[int, int]]], StatusWriter] | None = None,
    ) -> None:
        self.holder = holder
        self.plane = plane
        self.watcher = watcher
        self.log = log
        self._compaction_factory = compaction
        self.compaction: PeriodicCompaction | None = None
        self._status_factory = status
        self.status: StatusWriter | None = None
        self.closed = False

    def __repr__(self) -> str:
        roles = ", ".join(f"{m.role} {m.name}@v{m.version}" for m in self.deployment.models())
        return f"ServingSession({roles})"

    @property
    def deployment(self) -> Deployment:
        """The live deployment."""
        return self.holder.current

    def start(self) -> ServingSession:
        """Start watching aliases and compacting the log."""
        if self.watcher is not None:
            self.watcher.start()
        if self._compaction_factory is not None and self.compaction is None:
            self.compaction = self._compaction_factory()
        return self

    def publish_status(self, address: str, counters: Callable[[], tuple[int, int]]) -> None:
        """Start writing this process's status file (``address``: where it listens)."""
        if self._status_factory is not None and self.status is None:
            self.status = self._status_factory(address, counters).start()

    def describe(self) -> dict[str, Any]:
        """Which versions serve, in which roles, since when; the canary split; the watcher."""
        out = self.deployment.describe()
        watcher = self.watcher
        if watcher is not None and watcher.follows_ramp:
            ramp = watcher.ramp.describe() if watcher.ramp is not None else {}
            out["canary_ramp"] = {"followed": True, **ramp}
        elif self.deployment.split is not None:
            out["canary_ramp"] = {
                "followed": False,
                "note": "a canary set when the server started (--canary) wins over the "
                "model's canary ramp",
            }
        if self.watcher is not None:
            out["watching"] = dict(self.watcher.refs)
            out["swaps"] = len(self.watcher.swaps)
            if self.watcher.last_error:
                out["watch_error"] = self.watcher.last_error
        return out

    def close(self, timeout: float = 30.0) -> None:
        """Stop in the order that loses nothing (see the module doc)."""
        if self.closed:
            return
        self.closed = True
        if self.watcher is not None:
            self.watcher.stop()
        self.plane.close(timeout)
        if self.log is not None and not self.log.close(timeout):
            _logger.error("serving: the prediction log did not finish writing in %ss", timeout)
        if self.compaction is not None:
            self.compaction.stop()
        if self.status is not None:
            self.status.stop()

    def __enter__(self) -> ServingSession:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
