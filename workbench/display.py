"""How the facade's records show in a notebook: ``to_polars()`` and ``_repr_html_()``.

Every record the facade returns (snapshots, runs, run comparisons, drift reports, model
versions, alias moves, decisions, lineage trees, audit entries) has ``to_polars()``, a Polars
frame of what it holds (to filter, join and plot), and ``_repr_html_()``, what Jupyter shows
when the record ends a cell. Lists of records come back as ``RecordList``, which shows as one
table and turns into one frame with a fixed schema, even when empty.

This module imports only the standard library, so the record modules stay cheap to import;
Polars loads when a frame is asked for. Every value shown is HTML-escaped: names, messages and
comments are user text.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "Schema",
    "Tabular",
    "RecordList",
    "frame",
    "cell",
    "esc",
    "html_table",
    "key_values",
    "heading",
    "SHOWN_ROWS",
]

#: column name -> Polars dtype name (``Int64``, ``Float64``, ``String``, ``Boolean``, ``Datetime``)
Schema = Mapping[str, str]

#: rows a list shows in Jupyter before saying how many more ``to_polars()`` holds
SHOWN_ROWS = 30

_STYLE = "border-collapse:collapse;font-size:0.9em"


def frame(rows: Sequence[Mapping[str, Any]], schema: Schema) -> pl.DataFrame:
    """A frame of ``rows`` with ``schema``'s columns typed as given (first, in that order) and
    any other keys the rows hold after them, typed from their values; the schema's columns
    alone when there are no rows."""
    import polars as pl

    types = {name: getattr(pl, dtype) for name, dtype in schema.items()}
    if not rows:
        return pl.DataFrame(schema=types)
    extra = list(dict.fromkeys(k for row in rows for k in row if k not in types))
    data = [{**dict.fromkeys(types), **row} for row in rows]
    out = pl.from_dicts(data, schema_overrides=types, infer_schema_length=None)
    return out.select([*types, *extra])


def esc(value: Any) -> str:
    """``value`` as escaped HTML text."""
    return html.escape(str(value), quote=True)


def cell(value: Any) -> str:
    """A value as a table cell shows it (escaped): numbers to four decimals or three
    significant digits, times to the minute, booleans as yes/no, nothing as a dash."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e6):
            return esc(f"{value:.3g}")
        return esc(f"{value:,.4f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}")
    if isinstance(value, int):
        return esc(f"{value:,}" if abs(value) >= 10_000 else str(value))
    if isinstance(value, datetime):
        return esc(f"{value:%Y-%m-%d %H:%M}")
    if isinstance(value, date):
        return esc(value.isoformat())
    if isinstance(value, dict):
        return esc(", ".join(f"{k}={v}" for k, v in value.items()))
    if isinstance(value, list | tuple):
        return esc(", ".join(str(v) for v in value))
    return esc(value)


def html_table(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    total: int | None = None,
    tail: bool = False,
) -> str:
    """An HTML table; ``total``: how many rows there are in all when ``rows`` holds only the
    first (or, with ``tail``, the last) of them."""
    head = "".join(f"<th style='text-align:left'>{esc(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td style='text-align:left'>{cell(v)}</td>" for v in row) + "</tr>"
        for row in rows
    )
    out = f"<table style='{_STYLE}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    shown = body.count("<tr>")
    if total is not None and total > shown:
        which = "newest" if tail else "first"
        out += (
            f"<p><i>{which} {shown:,} of {total:,} shown; <code>to_polars()</code> has them "
            "all</i></p>"
        )
    return out


def key_values(pairs: Iterable[tuple[str, Any]]) -> str:
    """A two-column table of labelled values (None values are left out)."""
    rows = "".join(
        f"<tr><th style='text-align:left'>{esc(k)}</th><td style='text-align:left'>{cell(v)}</td></tr>"
        for k, v in pairs
        if v is not None
    )
    return f"<table style='{_STYLE}'><tbody>{rows}</tbody></table>"


def heading(title: str, *details: Any) -> str:
    """A bold title and, after it, the non-empty details separated by dots (all escaped)."""
    shown = " · ".join(esc(d) for d in details if d not in (None, ""))
    return f"<p><b>{esc(title)}</b>{' · ' + shown if shown else ''}</p>"


class Tabular:
    """A record that is one row of a table: ``to_polars()`` gives that row, ``_repr_html_()``
    shows its fields; lists of them are ``RecordList``.

    A record class sets ``_SCHEMA`` (its fixed columns) and ``_NOUN`` (what a list of them is
    called) and defines ``_row()``; richer records override ``_repr_html_`` (and
    ``to_polars``, when a frame of their parts says more than one row).
    """

    _SCHEMA: ClassVar[Schema] = {}
    _NOUN: ClassVar[str] = "records"
    #: lists of this record are oldest first: show the newest rows
    _TAIL: ClassVar[bool] = False

    def _row(self) -> dict[str, Any]:
        raise NotImplementedError

    def to_polars(self) -> pl.DataFrame:
        """This record as a one-row frame."""
        return frame([self._row()], self._SCHEMA)

    def _repr_html_(self) -> str:
        return key_values(self._row().items())


T = TypeVar("T", bound=Tabular)


class RecordList(list[T]):
    """A list of records (``ws.decisions()``, ``ws.alias_history(...)``, ``ws.audit_log()``...)
    that Jupyter shows as one table and ``to_polars()`` turns into one frame."""

    def __init__(self, kind: type[T], items: Iterable[T] = ()) -> None:
        super().__init__(items)
        self.kind = kind

    def to_polars(self) -> pl.DataFrame:
        """One row per record, with the record type's columns even when the list is empty."""
        return frame([r._row() for r in self], self.kind._SCHEMA)

    def _repr_html_(self) -> str:
        noun = self.kind._NOUN
        if not self:
            return f"<p><i>no {esc(noun)}</i></p>"
        rows = [r._row() for r in self]
        columns = list(dict.fromkeys(k for row in rows for k in row))
        shown = rows[-SHOWN_ROWS:] if self.kind._TAIL else rows[:SHOWN_ROWS]
        table = html_table(
            columns,
            ([row.get(c) for c in columns] for row in shown),
            total=len(rows),
            tail=self.kind._TAIL,
        )
        return f"<p><b>{len(rows):,} {esc(noun)}</b></p>{table}"
