"""Number and value formatting shared by the detail pane and the diff view."""

from __future__ import annotations

__all__ = ["fmt_value", "fmt_share", "fmt_count"]


def fmt_value(value: float | int | str | None) -> str:
    """A short, readable rendering of a statistic."""
    if value is None:
        return "-"
    if isinstance(value, bool | str):
        return str(value)
    if isinstance(value, int) or (
        isinstance(value, float) and value.is_integer() and abs(value) < 1e12
    ):
        return f"{int(value):,}"
    if abs(value) >= 1e5 or abs(value) < 1e-3:
        return f"{value:.3g}"
    return f"{value:,.4g}" if abs(value) >= 1 else f"{value:.3f}"


def fmt_share(value: float | None) -> str:
    """A share as a percentage."""
    return "-" if value is None else f"{value:.1%}"


def fmt_count(value: int | None) -> str:
    """A count with thousands separators."""
    return "-" if value is None else f"{value:,}"
