"""Deployments: which model versions answer, in which roles, and how requests are routed.

A ``Deployment`` is immutable: the champion, an optional shadow, an optional canary with its
split, and when each started serving. The server holds the live one in a ``DeploymentHolder``
and replaces it with a single attribute assignment (``publish``); each request reads
``holder.current`` once and uses that object for routing, scoring and its log row, so the log
always names the version that answered, and a request in flight finishes on the version that
took it. Old models are dropped by reference, never unloaded under a request.

The canary split is deterministic and sticky: a row goes to the canary when the salted hash of
its route key falls below the fraction (``CanarySplit.picks``). The salt is new for each
canary set-up (``new_salt``), so the same customers are not always the canaries; every worker
of one server shares it.

A canary comes from the server's options (``--canary REF:FRACTION``, source ``flag``) or, when
none is given, from the model's canary ramp (source ``ramp``): the newest ``canary`` deployment
setting, read by the alias watcher when the workspace changes (``RampCanary``, ``ramp_canary``).
The route key is the one given, else the model's key column, else the record's request id.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..errors import InputError

if TYPE_CHECKING:
    from .scorer import EncodingPolicy, Scorer

__all__ = [
    "CHAMPION",
    "SHADOW",
    "CANARY",
    "BATCH",
    "CanarySplit",
    "Deployment",
    "DeploymentHolder",
    "DeploymentSpec",
    "RampCanary",
    "ServingModel",
    "new_salt",
    "parse_canary",
    "ramp_canary",
    "ramp_salt",
    "route_key",
]

CHAMPION, SHADOW, CANARY, BATCH = "champion", "shadow", "canary", "batch"
_SCALE = float(1 << 64)


def new_salt() -> str:
    """A fresh salt for a canary set-up (16 hex digits)."""
    return secrets.token_hex(8)


def parse_canary(text: str) -> tuple[str, float]:
    """``REF:FRACTION`` (``churn@challenger:0.1`` or ``...:10%``) as (ref, fraction)."""
    ref, sep, share = str(text).rpartition(":")
    if not sep or not ref:
        raise InputError(
            f"canary {text!r} needs a fraction", hint="REF:FRACTION, e.g. churn@challenger:0.1"
        )
    try:
        fraction = float(share[:-1]) / 100 if share.endswith("%") else float(share)
    except ValueError:
        raise InputError(f"canary fraction {share!r} is not a number") from None
    check_fraction(fraction)
    return ref, fraction


def check_fraction(fraction: float) -> float:
    """``fraction`` if it is in (0, 1), else InputError."""
    if not 0 < fraction < 1:
        raise InputError(f"canary fraction must be between 0 and 1 (exclusive), got {fraction}")
    return fraction


@dataclass(frozen=True)
class DeploymentSpec:
    """What to serve: references (aliases are followed as they move), canary and policy.

    ``champion`` answers every request not routed to the canary; ``shadow`` also scores each
    request off the response path; ``canary`` answers the rows whose ``route_key`` value hashes
    below ``canary_fraction`` (no route key: the model's key column, else the request id).
    ``salt`` defaults to a new one. Without ``canary``, a scoring server follows the model's
    canary ramp (``route_key`` and ``salt`` apply to it).
    """

    champion: str
    shadow: str | None = None
    canary: str | None = None
    canary_fraction: float = 0.0
    route_key: str | None = None
    salt: str | None = None
    policy: EncodingPolicy | None = None

    def __post_init__(self) -> None:
        if self.canary is not None:
            check_fraction(self.canary_fraction)
        if self.canary is not None and self.salt is None:
            object.__setattr__(self, "salt", new_salt())

    @classmethod
    def from_options(
        cls,
        champion: str,
        shadow: str | None = None,
        canary: str | None = None,
        route_key: str | None = None,
        salt: str | None = None,
        policy: EncodingPolicy | None = None,
    ) -> DeploymentSpec:
        """The spec as the faces name it: ``canary`` is ``REF:FRACTION`` (``parse_canary``)."""
        ref, fraction = parse_canary(canary) if canary else (None, 0.0)
        return cls(champion, shadow, ref, fraction, route_key, salt, policy)

    def refs(self) -> dict[str, str]:
        """Role -> reference, for the roles this spec fills."""
        out = {CHAMPION: self.champion}
        if self.shadow:
            out[SHADOW] = self.shadow
        if self.canary:
            out[CANARY] = self.canary
        return out


@dataclass(frozen=True)
class CanarySplit:
    """A deterministic, sticky split of rows by the salted hash of a route key's value.

    ``route_key`` None routes by the record's request id (its id in the log). ``source`` says
    where the canary came from: ``flag`` (the server's options) or ``ramp`` (the model's canary
    deployment setting); ``route_key_from`` why this route key (``option``, ``key column``,
    ``request id``).
    """

    fraction: float
    route_key: str | None
    salt: str
    source: str = "flag"
    route_key_from: str = "option"

    def key_of(self, record: Mapping[str, Any], request_id: str | None) -> Any:
        """The value that routes ``record``: its route key's, or its request id."""
        return record.get(self.route_key) if self.route_key else request_id

    def picks(self, key: Any) -> bool:
        """Whether the row whose route key is ``key`` goes to the canary (never for None)."""
        if key is None:
            return False
        digest = hashlib.blake2b(f"{key}".encode(), key=self.salt.encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / _SCALE < self.fraction

    @property
    def route(self) -> str:
        """The route label a canary row is logged with (``canary 10%``)."""
        return f"canary {self.fraction:.4g}"


@dataclass(frozen=True)
class ServingModel:
    """A loaded model version in one role: what answers, since when (UTC)."""

    role: str
    #: the reference it was asked for (``churn@champion``): followed as aliases move
    ref: str
    name: str
    version: int
    scorer: Scorer
    since: datetime = field(default_factory=lambda: datetime.now(UTC))

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary (``GET /model``)."""
        return {
            "role": self.role,
            "ref": self.ref,
            "model": self.name,
            "version": self.version,
            "task": self.scorer.task,
            "since": self.since.isoformat(),
        }


@dataclass(frozen=True)
class Deployment:
    """The models answering now, immutable (see the module doc)."""

    champion: ServingModel
    shadow: ServingModel | None = None
    canary: ServingModel | None = None
    split: CanarySplit | None = None
    #: counts publications in this process
    generation: int = 0

    def models(self) -> list[ServingModel]:
        """The models in their roles: champion, then canary and shadow when present."""
        return [m for m in (self.champion, self.canary, self.shadow) if m is not None]

    def route(
        self, record: Mapping[str, Any], request_id: str | None = None
    ) -> tuple[ServingModel, str | None]:
        """Who answers ``record`` (logged as ``request_id``) and the route it is logged with."""
        split = self.split
        if split is None or self.canary is None:
            return self.champion, None
        if split.picks(split.key_of(record, request_id)):
            return self.canary, split.route
        return self.champion, "champion"

    def describe(self) -> dict[str, Any]:
        """Which versions serve, in which roles, since when (``GET /model``)."""
        out: dict[str, Any] = {"models": [m.describe() for m in self.models()]}
        if self.split is not None and self.canary is not None:
            out["canary"] = {
                "model": self.canary.name,
                "version": self.canary.version,
                "fraction": self.split.fraction,
                "source": self.split.source,
                "route_key": self.split.route_key,
                "route_key_from": self.split.route_key_from,
                "salt": self.split.salt,
            }
        return out

    def with_models(self, changed: Mapping[str, ServingModel | None]) -> Deployment:
        """A new deployment with some roles replaced (``None`` removes a role)."""
        return replace(
            self,
            champion=changed.get(CHAMPION) or self.champion,
            shadow=changed.get(SHADOW, self.shadow),
            canary=changed.get(CANARY, self.canary),
            generation=self.generation + 1,
        )


def route_key(
    given: str | None, canary: ServingModel, champion: ServingModel
) -> tuple[str | None, str]:
    """The canary's route key and why: the one given (``option``), else the model's key column
    (``key column``: the training data's, which the log keeps as ``entity_key``), else None:
    each record's request id (``request id``)."""
    if given:
        return given, "option"
    key = canary.scorer.key_column or champion.scorer.key_column
    return (key, "key column") if key else (None, "request id")


def ramp_salt(model: str, value: Mapping[str, Any], setting_id: int | None) -> str:
    """The canary salt of a ramp: the same for every step, worker and restart of one ramp
    (``canary start``), new for the next one."""
    started = value.get("started_at") or setting_id
    text = f"{model}|{value.get('canary')}|{started}"
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


@dataclass(frozen=True)
class RampCanary:
    """The model's canary ramp as a scoring server follows it (see ``ramp_canary``).

    ``version`` is what to serve as the canary with ``fraction`` (0-1) of the traffic, or None
    (no canary now; ``note`` says why when it is not plain).
    """

    model: str
    setting_id: int | None
    state: str | None
    step: int | None
    fraction: float
    version: int | None
    salt: str
    note: str | None = None

    @property
    def serves(self) -> bool:
        """Whether the ramp asks for a canary now."""
        return self.version is not None and 0 < self.fraction < 1

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary (``GET /model`` under ``canary_ramp``)."""
        out: dict[str, Any] = {
            "model": self.model, "setting_id": self.setting_id, "state": self.state,
            "step": self.step, "fraction": self.fraction, "version": self.version,
        }  # fmt: skip
        if self.note:
            out["note"] = self.note
        return out


def ramp_canary(
    model: str,
    setting_id: int | None,
    value: Mapping[str, Any] | None,
    alias_version: int | None,
    *,
    salt: str | None = None,
) -> RampCanary:
    """What the newest ``canary`` setting of ``model`` (``value``, None: never set) asks a
    server to serve, given the version the ``canary`` alias holds now.

    A canary serves when the state is ``ramping`` or ``completed`` (a completed ramp keeps its
    last share while its promotion waits for an approver) with a ``canary_fraction`` strictly
    between 0 and 1, and the ``canary`` alias still holds the setting's version: a removed or
    moved alias stops it (the ramp describes a version the alias no longer names). ``salt``
    (``--salt``) replaces the ramp's own (``ramp_salt``).
    """
    value = dict(value or {})
    state = value.get("state")
    step = value.get("step")
    raw_version = value.get("version")
    version = int(raw_version) if raw_version is not None else None
    try:
        fraction = float(value.get("canary_fraction") or 0.0)
    except (TypeError, ValueError):
        fraction = 0.0
    note = None
    served: int | None = None
    if state not in ("ramping", "completed"):
        fraction = 0.0
    elif not 0 < fraction < 1:
        note = f"canary_fraction {fraction:g} is not a canary share"
        fraction = 0.0
    elif version is None:
        note = "the setting names no version"
        fraction = 0.0
    elif alias_version != version:
        held = "no version" if alias_version is None else f"v{alias_version}"
        note = f"the canary alias holds {held}, not v{version}: not served"
        fraction = 0.0
    else:
        served = version
    return RampCanary(
        model, setting_id, None if state is None else str(state),
        None if step is None else int(step), fraction, served,
        salt or ramp_salt(model, value, setting_id), note,
    )  # fmt: skip


class DeploymentHolder:
    """The live deployment; ``publish`` swaps it with one attribute assignment.

    Readers take ``holder.current`` once per request and keep that object; a swap never
    changes what a running request sees (the pattern MLServer's rolling reload follows).
    """

    def __init__(self, deployment: Deployment) -> None:
        self.current = deployment

    def publish(self, deployment: Deployment) -> None:
        """Make ``deployment`` the live one (atomic: one attribute assignment)."""
        self.current = deployment
