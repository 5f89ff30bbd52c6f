"""The run filter and sort language, compiled to parameterized SQL.

    auc > 0.8 and num_leaves = 31 and snapshot = churn@v2
    (status = failed or status = cancelled) and not tag.owner = 'ana'
    sort: -auc, id

A hand-written tokenizer and recursive-descent parser turn the text into SQL over the ``runs``
table (alias ``r``). No user text reaches the SQL text: a field name maps to a fixed SQL fragment
(a run column, or a numbered slot column such as ``r.m3`` whose number comes from ``run_keys``),
an operator to a fixed operator, and every value is a bound parameter. Unknown names and syntax
errors raise ``InputError``.

Names resolve, in order, to a run column (``id``, ``status``, ``snapshot``, ``note``...), a
metric, a parameter; ``metric.x``, ``param.x`` and ``tag.x`` say which explicitly. A comparison
whose field is missing for a run is false for that run, so ``not`` is a plain complement.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..errors import InputError

__all__ = [
    "Fields",
    "FieldRef",
    "compile_filter",
    "compile_sort",
    "tokenize",
    "Token",
    "SLOT_PREFIX",
]

MAX_DEPTH = 50

#: run column -> (SQL fragment, value type)
COLUMNS: dict[str, tuple[str, str]] = {
    "id": ("r.id", "number"),
    "status": ("r.status", "text"),
    "snapshot": ("r.snapshot_ref", "snapshot"),
    "note": ("r.note", "text"),
    "target": ("r.target", "text"),
    "task": ("r.task", "text"),
    "seed": ("r.seed", "number"),
    "duration_s": ("r.duration_s", "number"),
    "best_iteration": ("r.best_iteration", "number"),
    "created_at": ("r.created_at", "time"),
    "mlflow_run_id": ("r.mlflow_run_id", "text"),
    "mlflow_state": ("r.mlflow_state", "text"),
    "reason": ("r.reason", "text"),
}

_OPS = {"=": "=", "==": "=", "!=": "<>", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_PREFIXES = {"metric": "metric", "metrics": "metric", "param": "param", "params": "param"}
_PREFIXES |= {"tag": "tag", "tags": "tag"}
_NAME = re.compile(r"[A-Za-z_][\w.\-]*\Z")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\Z")
_TOKEN = re.compile(
    r"""\s*(?:
    (?P<lp>\() | (?P<rp>\)) | (?P<comma>,)
    | (?P<op>!=|<>|<=|>=|==|=|<|>)
    | (?P<str>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
    | (?P<word>[^\s()=!<>'",]+)
    )""",
    re.X,
)


@dataclass(frozen=True)
class Token:
    """One lexical token; ``pos`` is its offset in the text."""

    kind: str  # lp rp comma op str num word and or not end
    text: str
    pos: int
    value: Any = None


@dataclass(frozen=True)
class FieldRef:
    """A resolved field: a run column, or a metric/param/tag name."""

    kind: str  # column | metric | param | tag
    name: str


#: slot column prefixes: metric -> double, param -> text and number, tag -> text
SLOT_PREFIX = {"metric": "m", "param": "p", "param_number": "n", "tag": "t"}


@dataclass
class Fields:
    """The names a filter may use: metric, param and tag names present in the store.

    ``slots`` maps ``(kind, key)`` to the key's slot number (its columns are ``m<slot>``,
    ``p<slot>``/``n<slot>``, ``t<slot>``); without it a key's slot is its sorted position.
    """

    metrics: set[str] = field(default_factory=set)
    params: set[str] = field(default_factory=set)
    tags: set[str] = field(default_factory=set)
    slots: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(self, kind: str, key: str, slot: int) -> None:
        """Make a key known with its slot."""
        {"metric": self.metrics, "param": self.params, "tag": self.tags}[kind].add(key)
        self.slots[(kind, key)] = int(slot)

    def column(self, kind: str, key: str, number: bool = False) -> str:
        """The SQL column of a key, built from its slot number (never from the key)."""
        slot = self.slots.get((kind, key))
        if slot is None:
            known = {"metric": self.metrics, "param": self.params, "tag": self.tags}[kind]
            slot = sorted(known).index(key)
        prefix = SLOT_PREFIX["param_number" if kind == "param" and number else kind]
        return f"r.{prefix}{int(slot)}"

    def resolve(self, name: str) -> FieldRef:
        """The field a name means, or InputError with a suggestion."""
        if not _NAME.match(name):
            raise InputError(f"'{name}' is not a field name")
        prefix, _, rest = name.partition(".")
        if rest and prefix.lower() in _PREFIXES:
            return self._resolve_prefixed(_PREFIXES[prefix.lower()], rest, name)
        if name in COLUMNS:
            return FieldRef("column", name)
        if name in self.metrics:
            return FieldRef("metric", name)
        if name in self.params:
            return FieldRef("param", name)
        raise InputError(f"unknown field '{name}'", hint=self._suggest(name))

    def _resolve_prefixed(self, kind: str, key: str, name: str) -> FieldRef:
        known = {"metric": self.metrics, "param": self.params, "tag": self.tags}[kind]
        if key not in known:
            raise InputError(f"unknown {kind} '{key}'", hint=self._suggest(name))
        return FieldRef(kind, key)

    def _suggest(self, name: str) -> str:
        names = [*COLUMNS, *self.metrics, *self.params, *(f"tag.{t}" for t in self.tags)]
        close = difflib.get_close_matches(name, names, n=1)
        return f"did you mean '{close[0]}'?" if close else "fields: " + ", ".join(sorted(names))


def _unquote(text: str) -> str:
    quote = text[0]
    body = text[1:-1].replace(quote * 2, quote)
    return re.sub(r"\\(.)", r"\1", body)


def _classify(match: re.Match, pos: int) -> Token:
    kind = match.lastgroup or ""
    text = match.group(kind)
    if kind == "str":
        return Token("str", text, pos, _unquote(text))
    if kind == "word":
        lowered = text.lower()
        if lowered in ("and", "or", "not"):
            return Token(lowered, text, pos)
        if _NUMBER.match(text):
            number = float(text)
            return Token("num", text, pos, int(number) if number.is_integer() else number)
    return Token(kind, text, pos, text)


def tokenize(text: str) -> list[Token]:
    """Split filter text into tokens; an unexpected character raises InputError."""
    tokens: list[Token] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return [*tokens, Token("end", "", pos)]
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise InputError(f"unexpected character {text[pos]!r} at position {pos + 1}")
        tokens.append(_classify(match, match.start(match.lastgroup or 0)))
        pos = match.end()


def _cmp_sql(fields: Fields, ref: FieldRef, op: str, token: Token) -> tuple[str, list[Any]]:
    """SQL for ``field op value``; fragments are fixed or slot columns, the value a parameter."""
    number = token.kind == "num"
    if ref.kind == "metric":
        if not number:
            raise InputError(f"metric '{ref.name}' compares with a number, not {token.text!r}")
        return f"{fields.column('metric', ref.name)} {op} ?", [token.value]
    if ref.kind == "param":
        column = fields.column("param", ref.name, number=number)
        return f"{column} {op} ?", [token.value if number else str(token.value)]
    if ref.kind == "tag":
        return f"{fields.column('tag', ref.name)} {op} ?", [_text(token)]
    return _column_sql(ref.name, op, token)


def _text(token: Token) -> str:
    return token.text if token.kind == "num" else str(token.value)


def _column_sql(name: str, op: str, token: Token) -> tuple[str, list[Any]]:
    sql, kind = COLUMNS[name]
    if kind == "number":
        if token.kind != "num":
            raise InputError(f"'{name}' compares with a number, not {token.text!r}")
        return f"{sql} {op} ?", [token.value]
    if kind == "time":
        try:
            when = datetime.fromisoformat(_text(token))
        except ValueError:
            raise InputError(f"'{name}' needs a date like 2024-05-01, not {token.text!r}") from None
        return f"{sql} {op} ?", [when]
    if kind == "snapshot":
        if op not in ("=", "<>"):
            raise InputError("snapshot compares with = or != only")
        match = (
            "(coalesce(r.snapshot_ref = ?, false)"
            " or coalesce(starts_with(r.snapshot_hash, ?), false))"
        )
        value = _text(token)
        return (match if op == "=" else f"not {match}"), [value, value]
    return f"{sql} {op} ?", [_text(token)]


class _Parser:
    """Recursive descent: or_expr := and_expr (OR and_expr)*, and so on down to comparisons."""

    def __init__(self, text: str, fields: Fields) -> None:
        self.tokens = tokenize(text)
        self.i = 0
        self.fields = fields
        self.params: list[Any] = []
        self.depth = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return token

    def fail(self, expected: str) -> InputError:
        token = self.peek()
        found = "the end" if token.kind == "end" else repr(token.text)
        return InputError(
            f"syntax error at position {token.pos + 1}: expected {expected}, found {found}"
        )

    def parse(self) -> str:
        sql = self.or_expr()
        if self.peek().kind != "end":
            raise self.fail("'and', 'or' or the end")
        return sql

    def or_expr(self) -> str:
        parts = [self.and_expr()]
        while self.peek().kind == "or":
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else "(" + " or ".join(parts) + ")"

    def and_expr(self) -> str:
        parts = [self.not_expr()]
        while self.peek().kind == "and":
            self.take()
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else "(" + " and ".join(parts) + ")"

    def not_expr(self) -> str:
        if self.peek().kind == "not":
            self.take()
            return f"(not {self.nested(self.not_expr)})"
        return self.primary()

    def nested(self, rule) -> str:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise InputError(f"filter nests deeper than {MAX_DEPTH} levels")
        try:
            return rule()
        finally:
            self.depth -= 1

    def primary(self) -> str:
        if self.peek().kind == "lp":
            self.take()
            sql = self.nested(self.or_expr)
            if self.take().kind != "rp":
                self.i -= 1
                raise self.fail("')'")
            return sql
        return self.comparison()

    def comparison(self) -> str:
        name = self.peek()
        if name.kind != "word":
            raise self.fail("a field name")
        ref = self.fields.resolve(self.take().text)
        if self.peek().kind != "op":
            raise self.fail(f"a comparison operator after '{name.text}'")
        op = _OPS[self.take().text]
        if self.peek().kind not in ("num", "str", "word"):
            raise self.fail("a value")
        sql, params = _cmp_sql(self.fields, ref, op, self.take())
        self.params.extend(params)
        return f"coalesce({sql}, false)"


def compile_filter(text: str, fields: Fields) -> tuple[str, list[Any]]:
    """(SQL boolean expression over ``runs r``, its parameters) for a filter."""
    if not text or not text.strip():
        return "true", []
    parser = _Parser(text, fields)
    return parser.parse(), parser.params


def _sort_sql(fields: Fields, ref: FieldRef, direction: str) -> str:
    if ref.kind == "param":
        number, text = (fields.column("param", ref.name, number=n) for n in (True, False))
        return f"{number} {direction} nulls last, {text} {direction} nulls last"
    if ref.kind in ("metric", "tag"):
        return f"{fields.column(ref.kind, ref.name)} {direction} nulls last"
    return f"{COLUMNS[ref.name][0]} {direction} nulls last"


def compile_sort(text: str, fields: Fields) -> tuple[str, list[Any]]:
    """(SQL ORDER BY list, parameters) for ``-auc, id`` (``-`` means descending).

    The parameter list is empty (every fragment is fixed); it is returned so callers treat
    filters and sorts alike.
    """
    fragments: list[str] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            raise InputError(f"empty sort key in {text!r}")
        direction = "desc" if item.startswith("-") else "asc"
        fragments.append(_sort_sql(fields, fields.resolve(item.lstrip("+-").strip()), direction))
    return ", ".join(fragments), []
