"""Column profiles: what each column of a snapshot holds, computed in one Polars pass."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
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
    """'numeric', 'boolean', 'temporal' or 'categorical' for a Polars dtype."""
    import polars as pl

    if dtype.is_numeric():
        return "numeric"
    if dtype == pl.Boolean:
        return "boolean"
    if dtype.is_temporal():
        return "temporal"
    return "categorical"


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
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ColumnProfile:
        """Inverse of ``to_dict`` (keys this version does not know are ignored)."""
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in data.items() if k in known}
        data["top_values"] = [tuple(v) for v in data.get("top_values", [])]
        return cls(**data)

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


def _finite(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if value == value and value not in (float("inf"), float("-inf")) else None


def _finite_only(df: pl.DataFrame) -> pl.DataFrame:
    """Float columns with +-inf and NaN turned into nulls (profiles describe finite values)."""
    import polars as pl

    floats = [n for n, dt in df.schema.items() if dt.is_float()]
    if not floats:
        return df
    return df.with_columns(
        [pl.when(pl.col(c).is_finite()).then(pl.col(c)).alias(c) for c in floats]
    )


def _scalar_stats(df: pl.DataFrame, clean: pl.DataFrame, kinds: dict[str, str]) -> dict:
    import polars as pl

    # Separate small selects: Polars runs one select's expressions in parallel, and mixing
    # sorts (quantiles, distinct counts) with cheap reductions in one select was 2x slower.
    numeric = [c for c in df.columns if kinds[c] == "numeric"]
    temporal = [c for c in df.columns if kinds[c] == "temporal"]
    # Exact distinct counts of a million numbers cost more than the rest of the profile;
    # HyperLogLog is within a few percent there. Categories and few-valued numbers get exact
    # counts from the value counts their top values need anyway (see _column_profile).
    counts = [pl.col(c).null_count().alias(f"{c}\x00nulls") for c in df.columns] + [
        pl.col(c).approx_n_unique().alias(f"{c}\x00distinct") for c in numeric
    ]
    moments = [
        e
        for c in numeric
        for e in (
            pl.col(c).min().cast(pl.Float64).alias(f"{c}\x00min"),
            pl.col(c).max().cast(pl.Float64).alias(f"{c}\x00max"),
            pl.col(c).mean().alias(f"{c}\x00mean"),
            pl.col(c).std().alias(f"{c}\x00std"),
        )
    ] + [
        e
        for c in temporal
        for e in (
            pl.col(c).min().cast(pl.String).alias(f"{c}\x00min"),
            pl.col(c).max().cast(pl.String).alias(f"{c}\x00max"),
        )
    ]
    quantiles = [
        pl.col(c).quantile(q, "linear").alias(f"{c}\x00q{q}") for c in numeric for q in QUANTILES
    ]
    stats = df.select(counts).row(0, named=True)
    if moments:
        stats.update(clean.select(moments).row(0, named=True))
    if quantiles:
        # Quantiles need a selection per column; above QUANTILE_SAMPLE rows they come from a
        # seeded sample (rank error ~1/sqrt(n), well below a histogram bin): 3x faster on a
        # million rows, and the same numbers every time for the same data.
        sample = clean
        if clean.height > QUANTILE_SAMPLE:
            sample = clean.select(numeric).sample(QUANTILE_SAMPLE, seed=0)
        stats.update(sample.select(quantiles).row(0, named=True))
    return stats


def _histograms(clean: pl.DataFrame, columns: list[str]) -> dict[str, list[int]]:
    import polars as pl

    if not columns:
        return {}
    exprs = [pl.col(c).drop_nulls().hist(bin_count=HIST_BINS).alias(c) for c in columns]
    hists = clean.select(exprs)
    return {c: [int(n) for n in hists[c].to_list()] for c in columns}


def _top_values(series: pl.Series) -> tuple[list[tuple[str, int]], int]:
    """The most frequent non-null values and the exact number of distinct non-null values."""
    import polars as pl

    # renamed: value_counts names its count column "count", which a column may be called
    counts = series.drop_nulls().cast(pl.String).rename("value").value_counts(sort=True)
    top = [(str(v), int(n)) for v, n in counts.head(TOP_VALUES).iter_rows()]
    return top, counts.height


def profile_frame(df: pl.DataFrame) -> list[ColumnProfile]:
    """A profile for every column of ``df``."""
    kinds = {name: kind_of(dtype) for name, dtype in df.schema.items()}
    clean = _finite_only(df)
    stats = _scalar_stats(df, clean, kinds)
    spread = [
        c
        for c in df.columns
        if kinds[c] == "numeric"
        and stats[f"{c}\x00min"] is not None
        and stats[f"{c}\x00max"] is not None
        and stats[f"{c}\x00min"] < stats[f"{c}\x00max"]
    ]
    hists = _histograms(clean, spread)
    n = max(df.height, 1)
    return [_column_profile(df, name, kinds[name], stats, hists, n) for name in df.columns]


def _column_profile(
    df: pl.DataFrame, name: str, kind: str, stats: dict, hists: dict, n: int
) -> ColumnProfile:
    def get(key: str):
        return stats.get(f"{name}\x00{key}")

    prof = ColumnProfile(
        name=name,
        dtype=str(df.schema[name]),
        kind=kind,
        null_share=get("nulls") / n,
        distinct=int(get("distinct") or 0),
    )
    if kind == "numeric":
        prof.min, prof.max = _finite(get("min")), _finite(get("max"))
        prof.mean, prof.std = _finite(get("mean")), _finite(get("std"))
        prof.quantiles = {str(q): _finite(get(f"q{q}")) for q in QUANTILES}
        if name in hists:
            prof.hist_counts = hists[name]
            width = (prof.max - prof.min) / HIST_BINS
            prof.hist_edges = [prof.min + width * i for i in range(HIST_BINS)] + [prof.max]
        elif prof.min is not None:
            prof.hist_edges = [prof.min, prof.max]
            prof.hist_counts = [df.height - int(get("nulls"))]
        if prof.distinct <= TOP_VALUES * 3:  # approximate count: exact below this
            prof.top_values, prof.distinct = _top_values(df[name])
    elif kind == "temporal":
        prof.min, prof.max = get("min"), get("max")
        prof.distinct = df[name].drop_nulls().n_unique()
    else:
        prof.top_values, prof.distinct = _top_values(df[name])
        if str(df.schema[name]) == "String":
            prof.not_numbers, prof.not_number_values = _not_numbers(df[name])
    return prof


def _not_numbers(series: pl.Series) -> tuple[int | None, list[str]]:
    """In a text column that is numbers but for a few values: how many are not, and the
    commonest of them (``(None, [])`` for any other column).

    Real exports do this: the Telco churn data's ``TotalCharges`` has 11 blanks among 7,043
    amounts, so it is read as text and would be trained on as a category of 6,531 levels.
    A first look at ``NUMERIC_TEXT_PROBE`` values spares true text columns the full pass.
    """
    import polars as pl

    values = series.drop_nulls()
    if values.len() == 0:
        return None, []

    def numbers(part: pl.Series) -> pl.Series:
        return part.str.strip_chars().cast(pl.Float64, strict=False).is_not_null()

    # spread over the column: a file sorted as text puts its blanks first
    probe = numbers(values.gather_every(max(1, values.len() // NUMERIC_TEXT_PROBE)))
    if probe.sum() < (1 - NUMERIC_TEXT_MAX_OTHER) * probe.len() - 1:
        return None, []
    parsed = numbers(values)
    other = values.len() - int(parsed.sum())
    if other == 0 or other > NUMERIC_TEXT_MAX_OTHER * values.len():
        return None, []
    commonest = values.filter(~parsed).rename("value").value_counts(sort=True).head(3)
    return other, [str(v) for v in commonest["value"]]
