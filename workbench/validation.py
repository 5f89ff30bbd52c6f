"""Files checked against a schema (pydantic models) say in one line what is wrong and where.

``FILE: KEY.PATH: what is wrong`` names the file, the key as it is written in the file
(``columns.tenure.nullable``) and the problem (``must be true or false, not "no"``); an
unknown key gets a hint naming the closest known one. Used for contracts and settings.
"""

from __future__ import annotations

import difflib
import json
import re
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .errors import InputError

__all__ = ["input_error", "unknown_key_error", "check_keys", "key_path"]

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def key_path(loc: tuple) -> str:
    """A location as a TOML key path: ``columns."a b".min``, ``allowed[2]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + (part if _BARE_KEY.match(part) else json.dumps(part))
    return out


def _toml(value) -> str:
    """A value as it reads in a TOML file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


def _model(annotation) -> type[BaseModel] | None:
    """The model an annotation holds (``Model``, ``Model | None``), else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if (found := _model(arg)) is not None:
                return found
    return None


def _child(annotation):
    """What a key below ``annotation`` holds: a model's field, or a table's values."""
    model = _model(annotation)
    if model is not None:
        return model
    if typing.get_origin(annotation) is dict:
        return typing.get_args(annotation)[1]
    return None


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """The keys the model accepts at ``loc`` (empty when it is not a table of known keys)."""
    node: Any = model
    for part in loc:
        holder = _model(node)
        if holder is not None:
            field = holder.model_fields.get(str(part))
            node = field.annotation if field is not None else None
        else:
            node = _child(node)
    holder = _model(node)
    return list(holder.model_fields) if holder is not None else []


def unknown_key_error(
    source: Path | str, loc: tuple, known: list[str], model: type[BaseModel] | None = None
) -> InputError:
    """The error for a key the schema does not know at ``loc``, with a hint: the closest
    known key there, or the section where a key of that name belongs (with ``model``)."""
    key = str(loc[-1])
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    home = _section_of(model, key) if model is not None else None
    if close:
        hint = f"did you mean {close[0]!r}?"
    elif home:
        hint = f"{key} belongs in [{home}]"
    elif known:
        closest = difflib.get_close_matches(key, known, n=1, cutoff=0)[0]
        hint = f"the closest known key is {closest!r}; known keys: {', '.join(known)}"
    else:
        hint = None
    return InputError(f"{source}: {key_path(loc)}: unknown key", hint=hint)


def _section_of(model: type[BaseModel], key: str, loc: tuple = ()) -> str | None:
    """The key path of the first section (nested model) below ``model`` that has ``key``."""
    for name, field in model.model_fields.items():
        inner = _model(field.annotation)
        if inner is None:
            continue
        if key in inner.model_fields:
            return key_path((*loc, name))
        if (found := _section_of(inner, key, (*loc, name))) is not None:
            return found
    return None


def check_keys(model: type[BaseModel], data: dict, source: Path | str) -> None:
    """Raise ``unknown_key_error`` for the first key of ``data`` that ``model`` does not know
    (nested models included; the keys of free tables, such as user names, are not checked)."""
    _check_keys(model, data, source, (), model)


def _check_keys(
    model: type[BaseModel], data: dict, source: Path | str, loc: tuple, root: type[BaseModel]
) -> None:
    for key, value in data.items():
        field = model.model_fields.get(key)
        if field is None:
            raise unknown_key_error(source, (*loc, key), list(model.model_fields), root)
        inner = _model(field.annotation)
        if inner is not None and isinstance(value, dict):
            _check_keys(inner, value, source, (*loc, key), root)


_LIMITS = {
    "greater_than_equal": ("at least", "ge"),
    "greater_than": ("more than", "gt"),
    "less_than_equal": ("at most", "le"),
    "less_than": ("less than", "lt"),
}


def _problem(error: dict) -> str:
    kind, value, msg = error["type"], error.get("input"), error["msg"]
    if kind == "missing":
        return "required key is missing"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"must be a table, not {_toml(value)}"
    if kind == "bool_type":
        return f"must be true or false, not {_toml(value)}"
    if kind == "string_type":
        return f"must be text, not {_toml(value)}"
    if kind in ("float_type", "float_parsing"):
        return f"must be a number, not {_toml(value)}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"must be a whole number, not {_toml(value)}"
    if kind in _LIMITS:
        side, bound = _LIMITS[kind]
        return f"must be {side} {error['ctx'][bound]:g}, not {_toml(value)}"
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    text = re.sub(r"^Input should be", "must be", msg)
    return f"{text}, not {_toml(value)}"


def input_error(exc: ValidationError, source: Path | str, model: type[BaseModel]) -> InputError:
    """One line for the first problem pydantic found: ``FILE: KEY.PATH: what is wrong``."""
    errors = exc.errors()
    first = errors[0]
    loc = tuple(first["loc"])
    if first["type"] == "extra_forbidden":
        error = unknown_key_error(source, loc, _fields_at(model, loc[:-1]), model)
    else:
        where = f"{key_path(loc)}: " if loc else ""
        error = InputError(f"{source}: {where}{_problem(dict(first))}")
    if len(errors) > 1:
        more = f"{len(errors) - 1} more problem{'s' if len(errors) > 2 else ''} after this one"
        error.hint = f"{error.hint}; {more}" if error.hint else more
    return error
