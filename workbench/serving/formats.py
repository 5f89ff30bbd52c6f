"""Request bodies as records: ours (``/predict``) and MLflow's (``/invocations``).

Plain functions from a parsed body to a list of records (or a Polars frame for CSV), raising
``FormatError`` (a 400: the body is not one of the formats) or letting the scorer raise
``FieldError`` (a 422: a field cannot be scored). MLflow's scoring server accepts, and so do we:

* ``{"dataframe_split": {"columns": [...], "data": [[...], ...]}}`` (pandas ``orient="split"``);
* ``{"dataframe_records": [{...}, ...]}``;
* ``{"instances": [{...}, ...]}`` and ``{"inputs": [{...}, ...]}`` or ``{"inputs": {col: [...]}}``;
* ``text/csv`` bodies with a header row.

A client written for ``mlflow models serve`` therefore works unchanged; the answer has MLflow's
shape too: ``{"predictions": [...]}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import InputError

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "FormatError",
    "MLFLOW_FORMATS",
    "records_of_predict",
    "records_of_invocation",
    "frame_of_csv",
]

MLFLOW_FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")


class FormatError(InputError):
    """The body is not one of the accepted formats (HTTP 400)."""


def records_of_predict(payload: Any) -> tuple[list[Mapping[str, Any]], bool]:
    """``/predict``: one record (an object) or a list of them; (records, was_single).

    MLflow's wrapped formats are accepted here too, so a client may post either body anywhere.
    """
    if isinstance(payload, dict):
        if len(payload) == 1 and next(iter(payload)) in MLFLOW_FORMATS:
            return records_of_invocation(payload), False
        return [payload], True
    if isinstance(payload, list):
        _check_records(payload, "the body")
        return payload, False
    raise FormatError("the body must be a JSON object (one record) or a list of objects")


def records_of_invocation(payload: Any) -> list[Mapping[str, Any]]:
    """``/invocations``: records from one of MLflow's JSON formats (see the module doc)."""
    if not isinstance(payload, dict):
        raise FormatError(
            "the body must be a JSON object with one of the keys " + ", ".join(MLFLOW_FORMATS)
        )
    keys = [k for k in payload if k in MLFLOW_FORMATS]
    if len(keys) != 1:
        raise FormatError(
            "the body must have exactly one of the keys " + ", ".join(MLFLOW_FORMATS),
            hint='as for `mlflow models serve`, e.g. {"dataframe_records": [{...}]}',
        )
    key = keys[0]
    body = payload[key]
    if key == "dataframe_split":
        return _split_records(body)
    if key == "inputs" and isinstance(body, dict):
        return _column_records(body)
    if not isinstance(body, list):
        raise FormatError(f"{key} must be a list of records")
    _check_records(body, key)
    return body


def _check_records(items: list[Any], what: str) -> None:
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise FormatError(f"{what}: item {i} is not an object of field values")


def _split_records(body: Any) -> list[Mapping[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise FormatError("dataframe_split needs 'columns' and 'data' (pandas orient='split')")
    columns = body.get("columns")
    data = body["data"]
    out: list[Mapping[str, Any]] = []
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise FormatError("dataframe_split needs 'columns': a list of column names")
    for i, row in enumerate(data):
        if not isinstance(row, list) or len(row) != len(columns):
            raise FormatError(f"dataframe_split: row {i} does not have {len(columns)} values")
        out.append(dict(zip(columns, row, strict=True)))
    return out


def _column_records(body: dict[str, Any]) -> list[Mapping[str, Any]]:
    lengths = {len(v) if isinstance(v, list) else -1 for v in body.values()}
    if -1 in lengths or len(lengths) > 1:
        raise FormatError("inputs as columns needs lists of one length: {column: [values]}")
    n = lengths.pop() if lengths else 0
    names = list(body)
    return [{name: body[name][i] for name in names} for i in range(n)]


def frame_of_csv(body: bytes) -> pl.DataFrame:
    """A ``text/csv`` body (with a header) as a frame, types inferred as ``data add`` does
    for the leading rows (dates parsed)."""
    import io

    import polars as pl

    try:
        return pl.read_csv(io.BytesIO(body), infer_schema_length=10_000, try_parse_dates=True)
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise FormatError(f"the CSV body cannot be read: {first}") from None
