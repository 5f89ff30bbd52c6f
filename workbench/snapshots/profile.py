"""Column profiles: what each column of a snapshot holds, computed in one Polars pass."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

__all__ = ["ColumnProfile", "profile_frame", "kind_of", "QUANTILES", "HIST_BINS"]

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
HIST_BINS = 20
#: rows above which quantiles are estimated from a seeded sample of this size
QUANTILE_SAMPLE = 200_000
TOP_VALUES = 10
#: a text column whose values are numbers but for at most this share is reported
NUMERIC_TEXT_MAX_OTHER = 0.05
#: values looked at first to decide whether a text column could be numbers at all
NUMERIC_TEXT_PROBE = 1_000


def kind_of(dtype: pl.DataType) -> str:
    """'numeric', 'boolean', 'temporal', 'categorical' or 'other' for a Polars dtype.

    'other' is what a profile does not summarise: nested values (List, Array, Struct), bytes
    (Binary) and Python objects. Their profile holds the null share and, where Polars can
    count them, the number of distinct values; nothing else.
    """
    import polars as pl

    if dtype.is_numeric():
        return "numeric"
    if dtype == pl.Boolean:
        return "boolean"
    if dtype.is_temporal():
        return "temporal"
    if dtype.base_type() in (pl.String, pl.Categorical, pl.Enum, pl.Null):
        return "categorical"
    return "other"


@dataclass
class ColumnProfile:
    """Summary of one column."""

    name: str
    dtype: str
    kind: str
    null_share: float
    distinct: int
    min: float | str | None = None
    max: float | str | None = None
    mean: float | None = None
    std: float | None = None
    quantiles: dict[str, float | None] = field(default_factory=dict)
    hist_edges: list[float] = field(default_factory=list)
    hist_counts: list[int] = field(default_factory=list)
    top_values: list[tuple[str, int]] = field(default_factory=list)
    #: a text column of numbers but for a few values (a blank, "n/a"): how many are not
    #: numbers and the most frequent of them, which is why the column was read as text
    not_numbers: int | None = None
    not_number_values: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Plain JSON-ready dict."""
        # not dataclasses.asdict: its deep copy was a third of `data add` at 10,000 columns
        out = {f.name: getattr(self, f.name) for f in _FIELDS}
        out["quantiles"] = dict(self.quantiles)
        out["top_values"] = [tuple(v) for v in self.top_values]
        for name in ("hist_edges", "hist_counts", "not_number_values"):
            out[name] = list(out[name])
        return out

    @classmethod
    def from_dict(cls, data: dict) -> ColumnProfile:
        """Inverse of ``to_dict`` (keys this version does not know are ignored)."""
        data = {k: v for k, v in data.items() if k in _FIELD_NAMES}
        data["top_values"] = [tuple(v) for v in data.get("top_values", [])]
        return cls(**data)

    @property
    def summarised(self) -> bool:
        """Whether the values are summarised (False for nested, binary and object columns)."""
        return self.kind != "other"

    def numeric_text_note(self) -> str | None:
        """One line for a text column that holds numbers but for a few values, else None."""
        if not self.not_numbers:
            return None
        shown = ", ".join(repr(v) for v in self.not_number_values)
        return (
            f"{self.name} is stored as text because {self.not_numbers:,} of its values are not "
            f"numbers ({shown}); the rest are. If it is a number column, fix those values (or "
            "leave them empty) and add the file again."
        )

    def all_distinct(self, n_rows: int) -> bool:
        """Every non-null value differs from the others (a key), and there are at least two."""
        present = round(n_rows * (1 - self.null_share))
        return present > 1 and self.distinct >= present


_FIELDS = fields(ColumnProfile)
_FIELD_NAMES = frozenset(f.name for f in _FIELDS)


def _finite(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if value == value and value not in (float("inf"), float("-inf")) else None


# Statistics are computed with one multi-column expression per statistic (``_cols(names)``),
# which Polars expands itself: one Python expression per column and statistic made profiling
# 10,000 columns cost seconds before any data was read, and reading ``df.schema`` once per
# column (Polars rebuilds it on every access) made it quadratic (96 s for 10,000 columns).
# ``by_name`` takes names literally: ``pl.col("^a.*$")`` would be a regular expression.


def _cols(names: list[str]) -> pl.Expr:
    import polars.selectors as cs

    return cs.by_name(names, require_all=True).as_expr()


def _row(df: pl.DataFrame, exprs: list[pl.Expr]) -> dict:
    return df.select(exprs).row(0, named=True) if exprs else {}


def _finite_only(df: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    """Float columns with +-inf and NaN turned into nulls (profiles describe finite values),
    decimals as floats (Polars' histogram takes only integers and floats)."""
    import polars as pl

    floats = [n for n, dt in schema.items() if dt.is_float()]
    decimals = [n for n, dt in schema.items() if dt.is_decimal()]
    if not floats and not decimals:
        return df
    values = _cols(floats)
    return df.with_columns(
        *([pl.when(values.is_finite()).then(values)] if floats else []),
        *([_cols(decimals).cast(pl.Float64)] if decimals else []),
    )


def _scalar_stats(
    df: pl.DataFrame, clean: pl.DataFrame, numeric: list[str], temporal: list[str]
) -> dict:
    import polars as pl

    # Separate small selects: Polars runs one select's expressions in parallel, and mixing
    # sorts (quantiles, distinct counts) with cheap reductions in one select was 2x slower.
    # Exact distinct counts of a million numbers cost more than the rest of the profile;
    # HyperLogLog is within a few percent there. Categories and few-valued numbers get exact
    # counts from the value counts their top values need anyway (see _top_values).
    num, tim = _cols(numeric), _cols(temporal)
    stats = _row(df, [pl.all().null_count().name.suffix("\x00nulls")])
    if numeric:
        stats |= _row(df, [num.approx_n_unique().name.suffix("\x00distinct")])
        stats |= _row(clean, [
            num.min().cast(pl.Float64).name.suffix("\x00min"),
            num.max().cast(pl.Float64).name.suffix("\x00max"),
            num.mean().name.suffix("\x00mean"),
            num.std().name.suffix("\x00std"),
        ])  # fmt: skip
        # Above QUANTILE_SAMPLE rows quantiles come from a seeded sample (rank error
        # ~1/sqrt(n), well below a histogram bin): 3x faster on a million rows, and the same
        # numbers every time for the same data. All five from one sort per column.
        sample = clean.select(num)
        if clean.height > QUANTILE_SAMPLE:
            sample = sample.sample(QUANTILE_SAMPLE, seed=0)
        quantiles = _row(sample, [num.quantile(list(QUANTILES), "linear").name.suffix("\x00q")])
        for name, values in quantiles.items():
            column = name.removesuffix("\x00q")
            for q, v in zip(QUANTILES, values or [None] * len(QUANTILES), strict=True):
                stats[f"{column}\x00q{q}"] = v
    if temporal:
        stats |= _row(clean, [tim.drop_nulls().n_unique().name.suffix("\x00distinct")])
        # durations have no cast to text: Polars' own spelling ("1d 2h")
        schema = clean.schema  # once: Polars builds it anew on every access
        durations = [c for c in temporal if schema[c] == pl.Duration]
        dates = [c for c in temporal if c not in set(durations)]
        for names, text in ((dates, _as_text), (durations, _duration_text)):
            if names:
                stats |= _row(clean, [
                    text(_cols(names).min()).name.suffix("\x00min"),
                    text(_cols(names).max()).name.suffix("\x00max"),
                ])  # fmt: skip
    return stats


def _as_text(values: pl.Expr) -> pl.Expr:
    import polars as pl

    return values.cast(pl.String)


def _duration_text(values: pl.Expr) -> pl.Expr:
    return values.dt.to_string("polars")


def _distinct_other(df: pl.DataFrame, columns: list[str]) -> dict[str, int]:
    """Distinct non-null values of columns the profile does not summarise, where Polars can
    count them (not Python objects); one at a time, so one that cannot be counted is skipped."""
    import polars as pl

    out = {}
    for c in columns:
        try:
            out[c] = int(df.get_column(c).drop_nulls().n_unique())
        except pl.exceptions.PolarsError:
            pass
    return out


def _histograms(clean: pl.DataFrame, columns: list[str]) -> dict[str, list[int]]:
    if not columns:
        return {}
    hists = clean.select(_cols(columns).drop_nulls().hist(bin_count=HIST_BINS))
    return {c: [int(n) for n in hists.get_column(c).to_list()] for c in columns}


#: field name of value counts' count column: a user's column may be called "count"
_COUNT = "\x00n"


def _top_values(df: pl.DataFrame, columns: list[str]) -> dict[str, tuple[list, int]]:
    """Per column: the most frequent non-null values (as text) with their counts, and the
    exact number of distinct non-null values."""
    import polars as pl

    if not columns:
        return {}
    text = _cols(columns).drop_nulls().cast(pl.String)
    row = _row(df, [
        text.value_counts(sort=True, name=_COUNT).head(TOP_VALUES).implode()
        .name.suffix("\x00top"),
        text.n_unique().name.suffix("\x00distinct"),
    ])  # fmt: skip
    out = {}
    for c in columns:
        top = [(str(v[c]), int(v[_COUNT])) for v in row[f"{c}\x00top"]]
        out[c] = (top, int(row[f"{c}\x00distinct"]))
    return out


def profile_frame(df: pl.DataFrame) -> list[ColumnProfile]:
    """A profile for every column of ``df``."""
    schema = df.schema  # built anew by Polars on every access: read it once
    kinds = {name: kind_of(dtype) for name, dtype in schema.items()}
    numeric = [c for c, k in kinds.items() if k == "numeric"]
    temporal = [c for c, k in kinds.items() if k == "temporal"]
    clean = _finite_only(df, schema)
    stats = _scalar_stats(df, clean, numeric, temporal)
    spread = [
        c
        for c in numeric
        if stats[f"{c}\x00min"] is not None
        and stats[f"{c}\x00max"] is not None
        and stats[f"{c}\x00min"] < stats[f"{c}\x00max"]
    ]
    hists = _histograms(clean, spread)
    # Value counts for categories, and for numbers with few values (approximate counts are
    # exact below TOP_VALUES * 3).
    counted = [
        c
        for c, k in kinds.items()
        if k in ("categorical", "boolean")
        or (k == "numeric" and int(stats[f"{c}\x00distinct"] or 0) <= TOP_VALUES * 3)
    ]
    tops = _top_values(df, counted)
    stats |= {
        f"{c}\x00distinct": n
        for c, n in _distinct_other(df, [c for c, k in kinds.items() if k == "other"]).items()
    }
    text = [c for c, dtype in schema.items() if str(dtype) == "String"]
    nulls = {c: stats[f"{c}\x00nulls"] for c in text}
    not_numbers = _not_numbers(df, text, nulls)
    n = max(df.height, 1)
    return [
        _column_profile(df, name, schema[name], kinds[name], stats, hists, tops, not_numbers, n)
        for name in df.columns
    ]


def _column_profile(
    df: pl.DataFrame,
    name: str,
    dtype: pl.DataType,
    kind: str,
    stats: dict,
    hists: dict,
    tops: dict,
    not_numbers: dict,
    n: int,
) -> ColumnProfile:
    def get(key: str):
        return stats.get(f"{name}\x00{key}")

    prof = ColumnProfile(
        name=name,
        dtype=str(dtype),
        kind=kind,
        null_share=get("nulls") / n,
        distinct=int(get("distinct") or 0),
    )
    if name in tops:
        prof.top_values, prof.distinct = tops[name]
    if kind == "numeric":
        prof.min, prof.max = _finite(get("min")), _finite(get("max"))
        prof.mean, prof.std = _finite(get("mean")), _finite(get("std"))
        prof.quantiles = {str(q): _finite(get(f"q{q}")) for q in QUANTILES}
        if name in hists and prof.min is not None and prof.max is not None:
            low, high = prof.min, prof.max
            prof.hist_counts = hists[name]
            width = (high - low) / HIST_BINS
            prof.hist_edges = [low + width * i for i in range(HIST_BINS)] + [high]
        elif prof.min is not None:
            prof.hist_edges = [prof.min, prof.max if prof.max is not None else prof.min]
            prof.hist_counts = [df.height - int(get("nulls"))]
    elif kind == "temporal":
        prof.min, prof.max = get("min"), get("max")
    elif name in not_numbers:
        prof.not_numbers, prof.not_number_values = not_numbers[name]
    return prof


def _numbers(values: pl.Expr) -> pl.Expr:
    """Which text values read as numbers (surrounding blanks allowed)."""
    import polars as pl

    return values.str.strip_chars().cast(pl.Float64, strict=False).is_not_null()


def _not_numbers(
    df: pl.DataFrame, columns: list[str], nulls: dict[str, int]
) -> dict[str, tuple[int, list[str]]]:
    """The text columns that are numbers but for a few values: how many are not, and the
    commonest of them.

    Real exports do this: the Telco churn data's ``TotalCharges`` has 11 blanks among 7,043
    amounts, so it is read as text and would be trained on as a category of 6,531 levels.
    A first look at ``NUMERIC_TEXT_PROBE`` values spares true text columns the full pass.
    """
    present = {c: df.height - nulls[c] for c in columns if df.height > nulls[c]}
    # spread over the column (a file sorted as text puts its blanks first): one probe
    # expression per step between the values looked at
    steps: dict[int, list[str]] = {}
    for c, n in present.items():
        steps.setdefault(max(1, n // NUMERIC_TEXT_PROBE), []).append(c)
    probe: dict = {}
    for step, names in steps.items():
        looked = _cols(names).drop_nulls().gather_every(step)
        probe |= _row(df, [
            _numbers(looked).sum().name.suffix("\x00numbers"), looked.len().name.suffix("\x00n"),
        ])  # fmt: skip
    candidates = [
        c
        for c in present
        if probe[f"{c}\x00numbers"] >= (1 - NUMERIC_TEXT_MAX_OTHER) * probe[f"{c}\x00n"] - 1
    ]
    if not candidates:
        return {}
    parsed = _row(df, [_numbers(_cols(candidates).drop_nulls()).sum().name.suffix("\x00numbers")])
    out = {}
    for c in candidates:
        other = present[c] - int(parsed[f"{c}\x00numbers"])
        if 0 < other <= NUMERIC_TEXT_MAX_OTHER * present[c]:
            values = _cols([c]).drop_nulls()
            odd = df.select(values.filter(~_numbers(values)).alias("value")).get_column("value")
            out[c] = (other, [str(v) for v in odd.value_counts(sort=True).head(3)["value"]])
    return out
