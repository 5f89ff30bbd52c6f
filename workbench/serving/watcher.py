"""Following alias moves: one thread notices a promotion or rollback and swaps without a gap.

``AliasWatcher`` polls the workspace's change token (one ``stat``) every ``interval``; when it
changed (and every ``recheck`` seconds anyway), it resolves each role's reference. A role whose
version changed is loaded and warmed up *off the request path* (``load``), the old deployment
answering meanwhile; then one new ``Deployment`` is published. One thread owns every swap, so
swaps never race. A version already loaded in another role (a canary promoted to champion) is
reused, not loaded again.

A reference that stops resolving (its alias was removed) keeps the champion serving what it
served, and drops a shadow or canary role; a load that fails keeps the old deployment and is tried again
``RETRY_AFTER`` seconds later; the problem is kept in ``last_error``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ..errors import WorkbenchError
from .deployment import CHAMPION, Deployment, DeploymentHolder, ServingModel
from .scorer import Scorer

__all__ = ["AliasWatcher", "Resolved", "Swap"]

_logger = logging.getLogger(__name__)
#: seconds before a failed load is tried again
RETRY_AFTER = 2.0


@dataclass(frozen=True)
class Resolved:
    """Where a reference points now."""

    name: str
    version: int


@dataclass(frozen=True)
class Swap:
    """One publication: role -> (old version, new version) (None: no model in that role)."""

    at: datetime
    changes: dict[str, tuple[int | None, int | None]]


class AliasWatcher:
    """Keeps a holder's deployment on the versions its references name (see the module doc).

    ``resolve(ref)`` says where a reference points now; ``load(name, version)`` loads and warms
    a scorer; ``token()`` changes whenever the workspace changes. All three are injected: the
    serving service passes the registry's, tests pass slow or failing fakes.
    """

    def __init__(
        self,
        holder: DeploymentHolder,
        refs: dict[str, str],
        *,
        resolve: Callable[[str], Resolved],
        load: Callable[[str, int], Scorer],
        token: Callable[[], int],
        interval: float = 0.25,
        recheck: float = 10.0,
    ) -> None:
        self.holder = holder
        self.refs = dict(refs)
        self._resolve = resolve
        self._load = load
        self._token = token
        self.interval = interval
        self.recheck = recheck
        self.swaps: list[Swap] = []
        self.last_error: str | None = None
        self.checks = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_token: int | None = None
        self._last_check = 0.0

    def start(self) -> AliasWatcher:
        """Start the watching thread (the current deployment is the starting point)."""
        try:
            self._last_token = self._token()
        except Exception:
            self._last_token = None
        self._last_check = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="alias-watcher", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop watching; a load in progress finishes first (up to ``timeout``)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                token = self._token()
            except Exception as exc:  # the workspace is briefly unreadable: try again
                self.last_error = f"cannot read the workspace: {exc}"
                continue
            due = time.monotonic() - self._last_check >= self.recheck
            if token == self._last_token and not due:
                continue
            self._last_token = token
            self.check()

    def check(self) -> Swap | None:
        """Resolve every reference now and swap what changed; the swap made, if any."""
        self.checks += 1
        self._last_check = time.monotonic()
        current = self.holder.current
        wanted: dict[str, Resolved | None] = {}
        for role, ref in self.refs.items():
            try:
                wanted[role] = self._resolve(ref)
            except WorkbenchError as exc:
                self.last_error = f"{role} {ref}: {exc}"
                wanted[role] = None if role != CHAMPION else _as_resolved(current.champion)
            except Exception as exc:  # the store is busy or being migrated: shortly
                self.last_error = f"{role} {ref}: {exc!r}"
                self._last_check = time.monotonic() - self.recheck + RETRY_AFTER
                return None
        changed = {
            role: target
            for role, target in wanted.items()
            if _version_of(current, role) != (target.version if target else None)
            or (target is not None and _name_of(current, role) != target.name)
        }
        if not changed:
            return None
        loaded = {(m.name, m.version): m.scorer for m in current.models()}
        now = datetime.now(UTC)
        replacements: dict[str, ServingModel | None] = {}
        for role, target in changed.items():
            if target is None:
                replacements[role] = None
                continue
            scorer = loaded.get((target.name, target.version))
            if scorer is None:
                try:
                    scorer = self._load(target.name, target.version)
                except Exception as exc:  # keep serving the old one; try again shortly
                    self.last_error = f"loading {target.name}@v{target.version}: {exc}"
                    _logger.error("serving: %s", self.last_error)
                    self._last_check = time.monotonic() - self.recheck + RETRY_AFTER
                    return None
                loaded[(target.name, target.version)] = scorer
            replacements[role] = ServingModel(
                role, self.refs[role], target.name, target.version, scorer, now
            )
        # the holder may only be changed here: read it again is not needed (one owner)
        self.holder.publish(current.with_models(replacements))
        swap = Swap(
            now,
            {r: (_version_of(current, r), t.version if t else None) for r, t in changed.items()},
        )
        self.swaps.append(swap)
        self.last_error = None
        _logger.info("serving: swapped %s", swap.changes)
        return swap


def _as_resolved(model: ServingModel) -> Resolved:
    return Resolved(model.name, model.version)


def _model(deployment: Deployment, role: str) -> ServingModel | None:
    return getattr(deployment, role, None)


def _version_of(deployment: Deployment, role: str) -> int | None:
    model = _model(deployment, role)
    return None if model is None else model.version


def _name_of(deployment: Deployment, role: str) -> str | None:
    model = _model(deployment, role)
    return None if model is None else model.name
