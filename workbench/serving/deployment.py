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
    "ServingModel",
    "new_salt",
    "parse_canary",
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
    below ``canary_fraction``. ``salt`` defaults to a new one.
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
            if not self.route_key:
                raise InputError(
                    "a canary needs a route key", hint="--route-key COL: the column whose value "
                    "decides, the same way every time, who gets the canary"
                )  # fmt: skip
        if self.canary is not None and self.salt is None:
            object.__setattr__(self, "salt", new_salt())

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
    """A deterministic, sticky split of rows by the salted hash of a route key's value."""

    fraction: float
    route_key: str
    salt: str

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

    def route(self, record: Mapping[str, Any]) -> tuple[ServingModel, str | None]:
        """Who answers ``record`` and the route it is logged with."""
        split = self.split
        if split is None or self.canary is None:
            return self.champion, None
        if split.picks(record.get(split.route_key)):
            return self.canary, split.route
        return self.champion, "champion"

    def describe(self) -> dict[str, Any]:
        """Which versions serve, in which roles, since when (``GET /model``)."""
        out: dict[str, Any] = {"models": [m.describe() for m in self.models()]}
        if self.split is not None and self.canary is not None:
            out["canary"] = {
                "fraction": self.split.fraction,
                "route_key": self.split.route_key,
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
