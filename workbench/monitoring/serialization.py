"""Fitted estimators as bytes: zlib-compressed JSON with NumPy arrays inlined as base64.

The bytes depend only on the fitted state (sorted keys, fixed compression level, no
timestamps), so one fit stored twice is one content-addressed object. Floats keep their
exact value (JSON numbers use Python's round-trip ``repr``; arrays keep their raw bytes).
"""

from __future__ import annotations

import base64
import json
import math
import zlib
from dataclasses import fields, is_dataclass
from datetime import datetime
from typing import Any

import numpy as np

from ..errors import InputError

__all__ = [
    "dumps",
    "from_kind",
    "load_fitted",
    "loads",
    "records_from_json",
    "records_to_json",
]

_MAGIC = b"WBMON1"


def _encode(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        data = np.ascontiguousarray(value)
        return {
            "__ndarray__": base64.b64encode(data.tobytes()).decode("ascii"),
            "dtype": data.dtype.str,
            "shape": list(data.shape),
        }
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return {"__float__": "nan"}
    if isinstance(value, np.floating | np.integer | np.bool_):
        return _encode(value.item())
    if isinstance(value, datetime):
        return {"__datetime__": value.isoformat()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "__ndarray__" in value:
            raw = base64.b64decode(value["__ndarray__"])
            return np.frombuffer(raw, dtype=np.dtype(value["dtype"])).reshape(value["shape"]).copy()
        if "__float__" in value:
            return float(value["__float__"])
        if "__datetime__" in value:
            return datetime.fromisoformat(value["__datetime__"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def dumps(kind: str, state: dict[str, Any]) -> bytes:
    """Serialise ``state`` (JSON types, NumPy arrays, datetimes) tagged with ``kind``."""
    doc = {"kind": kind, "state": _encode(state)}
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return _MAGIC + zlib.compress(text.encode("utf-8"), 6)


def loads(kind: str, data: bytes) -> dict[str, Any]:
    """The state written by ``dumps(kind, ...)``; refuses other kinds and foreign bytes."""
    if not data.startswith(_MAGIC):
        raise InputError("not a serialised workbench estimator")
    try:
        doc = json.loads(zlib.decompress(data[len(_MAGIC) :]).decode("utf-8"))
    except (zlib.error, ValueError) as exc:
        raise InputError(f"damaged serialised estimator: {exc}") from None
    if doc.get("kind") != kind:
        raise InputError(f"these bytes hold a {doc.get('kind')!r}, not a {kind!r}")
    return _decode(doc["state"])


def from_kind(kinds: dict[str, Any], spec: dict[str, Any], what: str) -> Any:
    """Build ``kinds[spec["kind"]](**rest)``: a chunker or threshold from its ``to_dict()``."""
    spec = dict(spec)
    kind = spec.pop("kind", None)
    if kind not in kinds:
        raise InputError(f"unknown {what} kind {kind!r}")
    return kinds[kind](**spec)


def records_to_json(records: Any) -> list[dict[str, Any]]:
    """Dataclass records as plain dicts (field order kept)."""
    return [{f.name: getattr(r, f.name) for f in fields(r)} for r in records]


def records_from_json(cls: type, rows: list[dict[str, Any]]) -> tuple[Any, ...]:
    """Inverse of ``records_to_json`` for dataclass ``cls``."""
    assert is_dataclass(cls)
    return tuple(cls(**row) for row in rows)


def load_fitted(data: bytes) -> Any:
    """A ``FittedCBPE`` or ``FittedDLE`` from its ``to_bytes()``, whichever the bytes hold."""
    from .cbpe import FittedCBPE
    from .dle import FittedDLE

    if not data.startswith(_MAGIC):
        raise InputError("not a serialised workbench estimator")
    kind = json.loads(zlib.decompress(data[len(_MAGIC) :]).decode("utf-8")).get("kind")
    for cls in (FittedCBPE, FittedDLE):
        if kind == f"workbench.monitoring.{cls.__name__}":
            return cls.from_bytes(data)
    raise InputError(f"unknown estimator kind {kind!r}")
