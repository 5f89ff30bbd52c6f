"""The kinds of input column a model reads, from each column's type at training.

Scoring conforms raw values to these kinds (``serving.scorer``) and the MLflow signature
declares them (``mlflow_mirror``): one table, so the two never disagree.
"""

from __future__ import annotations

from ..errors import InputError

__all__ = [
    "INT", "FLOAT", "FLOAT32", "BOOL", "TEXT", "DATE", "DATETIME", "TIME", "DURATION",
    "column_kind",
]  # fmt: skip

INT, FLOAT, FLOAT32, BOOL, TEXT, DATE, DATETIME, TIME, DURATION = (
    "int", "float", "float32", "bool", "text", "date", "datetime", "time", "duration",
)  # fmt: skip


def column_kind(dtype: str) -> str:
    """The kind of an input column from its training type's text (``Int64``, ``String``...)."""
    name = dtype.split("(", 1)[0].strip()
    if name.startswith(("Int", "UInt")):
        return INT
    if name == "Float32":
        return FLOAT32
    if name.startswith(("Float", "Decimal")):
        return FLOAT
    if name == "Boolean":
        return BOOL
    if name.startswith(("String", "Utf8", "Categorical", "Enum")):
        return TEXT
    if name == "Date":
        return DATE
    if name == "Datetime":
        return DATETIME
    if name == "Time":
        return TIME
    if name == "Duration":
        return DURATION
    raise InputError(f"a model cannot take input columns of type {dtype}")
