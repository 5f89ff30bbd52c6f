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

Without a canary among its references, the watcher can follow the model's canary ramp
(``ramp``: the model's name -> ``RampCanary``, read at the same moments, never per request):
the version the ramp names is loaded, warmed and published as the canary with the ramp's
share; a step publishes the new share; a stopped ramp, a share of 0 or a canary that became
the champion removes the canary role.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from ..errors import WorkbenchError
from .deployment import (
    CANARY,
    CHAMPION,
    CanarySplit,
    Deployment,
    DeploymentHolder,
    RampCanary,
    ServingModel,
    route_key,
)
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
    #: the canary's share before and after, when it changed
    fraction: tuple[float | None, float | None] | None = None


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
        ramp: Callable[[str], RampCanary] | None = None,
        route_key: str | None = None,
    ) -> None:
        self.holder = holder
        self.refs = dict(refs)
        self._resolve = resolve
        self._load = load
        self._token = token
        #: follow the model's canary ramp (only when no canary reference is given)
        self._ramp = ramp if CANARY not in self.refs else None
        self.route_key = route_key
        #: the ramp as last read (None: not followed or not read yet)
        self.ramp: RampCanary | None = None
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
        if not self.checks:  # a check made before starting keeps its retry time
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

    @property
    def follows_ramp(self) -> bool:
        """Whether the canary comes from the model's canary ramp."""
        return self._ramp is not None

    def check(self) -> Swap | None:
        """Resolve every reference now and swap what changed; the swap made, if any."""
        self.checks += 1
        self._last_check = time.monotonic()
        current = self.holder.current
        refs = dict(self.refs)
        wanted: dict[str, Resolved | None] = {}
        for role, ref in refs.items():
            try:
                wanted[role] = self._resolve(ref)
            except WorkbenchError as exc:
                self.last_error = f"{role} {ref}: {exc}"
                wanted[role] = None if role != CHAMPION else _as_resolved(current.champion)
            except Exception as exc:  # the store is busy or being migrated: shortly
                self.last_error = f"{role} {ref}: {exc!r}"
                self._last_check = time.monotonic() - self.recheck + RETRY_AFTER
                return None
        ramp = None
        if self._ramp is not None:
            champion = wanted.get(CHAMPION) or _as_resolved(current.champion)
            try:
                ramp = self._ramp(champion.name)
            except Exception as exc:  # the store is busy or being migrated: shortly
                self.last_error = f"canary ramp of {champion.name}: {exc!r}"
                self._last_check = time.monotonic() - self.recheck + RETRY_AFTER
                return None
            target = None
            if ramp.serves and ramp.version is not None:
                target = Resolved(champion.name, ramp.version)
            if target is not None and target == champion:
                ramp = replace(ramp, fraction=0.0, version=None,
                               note="the canary version is the champion now")  # fmt: skip
                target = None
            self.ramp = ramp
            wanted[CANARY] = target
            refs[CANARY] = f"{champion.name}@canary"
        changed = {
            role: target
            for role, target in wanted.items()
            if _version_of(current, role) != (target.version if target else None)
            or (target is not None and _name_of(current, role) != target.name)
        }
        if not changed and (ramp is None or self._split(ramp, current) == current.split):
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
                role, refs[role], target.name, target.version, scorer, now
            )
        new = current.with_models(replacements)
        if ramp is not None:
            new = replace(new, split=self._split(ramp, new))
        # the holder may only be changed here: read it again is not needed (one owner)
        self.holder.publish(new)
        before, after = _fraction(current), _fraction(new)
        swap = Swap(
            now,
            {r: (_version_of(current, r), t.version if t else None) for r, t in changed.items()},
            (before, after) if before != after else None,
        )
        self.swaps.append(swap)
        self.last_error = None
        _logger.info("serving: swapped %s%s", swap.changes,
                     f", canary share {swap.fraction}" if swap.fraction else "")  # fmt: skip
        return swap

    def _split(self, ramp: RampCanary, deployment: Deployment) -> CanarySplit | None:
        """The split the ramp asks for on ``deployment``'s models (None: no canary)."""
        canary = deployment.canary
        if not ramp.serves or canary is None:
            return None
        key, source = route_key(self.route_key, canary, deployment.champion)
        return CanarySplit(ramp.fraction, key, ramp.salt, "ramp", source)


def _fraction(deployment: Deployment) -> float | None:
    split = deployment.split
    return None if split is None or deployment.canary is None else split.fraction


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
