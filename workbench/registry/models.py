"""Model versions: ``name@vN`` linked to the run and snapshot they came from (SQL in ``repository``).

References: ``NAME@vN`` (a version), ``NAME@ALIAS`` (the version holding an alias now),
``NAME@latest`` or ``NAME`` (the newest version).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from ..display import Schema, Tabular, heading, key_values
from ..errors import InputError

__all__ = ["ModelVersion", "ModelRef", "parse_model_ref", "validate_model_name"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*\Z")
_VERSION = re.compile(r"v(\d+)\Z")


@dataclass
class ModelVersion(Tabular):
    """One registered version of a named model (one row of ``to_polars()``)."""

    _SCHEMA: ClassVar[Schema] = {
        "ref": "String", "name": "String", "version": "Int64", "aliases": "String",
        "run_id": "Int64", "snapshot": "String", "task": "String", "target": "String",
        "mlflow_version": "String", "author": "String", "created_at": "Datetime",
        "intended_use": "String", "model_hash": "String",
    }  # fmt: skip
    _NOUN: ClassVar[str] = "model versions"

    id: int
    name: str
    version: int
    run_id: int
    snapshot_ref: str | None
    snapshot_hash: str | None
    model_hash: str | None
    task: str | None
    target: str | None
    mlflow_version: str | None
    intended_use: str | None
    author: str
    created_at: datetime
    #: aliases this version holds now (filled by the facade)
    aliases: list[str] = field(default_factory=list)

    @property
    def ref(self) -> str:
        """How people name it: ``churn-model@v3``."""
        return f"{self.name}@v{self.version}"

    def __repr__(self) -> str:
        held = f" [{', '.join(self.aliases)}]" if self.aliases else ""
        return f"ModelVersion({self.ref}{held}, run {self.run_id}, {self.snapshot_ref})"

    def _row(self) -> dict[str, Any]:
        return {
            "ref": self.ref, "name": self.name, "version": self.version,
            "aliases": ", ".join(self.aliases), "run_id": self.run_id,
            "snapshot": self.snapshot_ref, "task": self.task, "target": self.target,
            "mlflow_version": self.mlflow_version, "author": self.author,
            "created_at": self.created_at, "intended_use": self.intended_use,
            "model_hash": self.model_hash[:12] if self.model_hash else None,
        }  # fmt: skip

    def _repr_html_(self) -> str:
        held = f"holds {', '.join(self.aliases)}" if self.aliases else "no alias"
        row = {k: v for k, v in self._row().items() if k not in ("ref", "name", "version")}
        return heading(self.ref, held) + key_values(row.items())


@dataclass(frozen=True)
class ModelRef:
    """A parsed model reference: a name and a version, an alias, or neither (latest)."""

    name: str
    version: int | None = None
    alias: str | None = None


def validate_model_name(name: str) -> str:
    """``name`` if it is a valid model name, else ``InputError``."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InputError(
            f"invalid model name {name!r}", hint="letters, digits, '_', '.', '-'; no '@'"
        )
    return name


def parse_model_ref(ref: str) -> ModelRef:
    """Parse ``NAME@vN``, ``NAME@ALIAS``, ``NAME@latest`` or ``NAME``."""
    name, _, suffix = str(ref).strip().partition("@")
    validate_model_name(name)
    if not suffix or suffix == "latest":
        return ModelRef(name)
    match = _VERSION.match(suffix)
    if match:
        return ModelRef(name, version=int(match.group(1)))
    from .aliases import validate_alias

    return ModelRef(name, alias=validate_alias(suffix))
