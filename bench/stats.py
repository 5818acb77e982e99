"""Percentiles and number formatting for the report."""
from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear between closest ranks; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    lo, hi = math.floor(rank), math.ceil(rank)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)


def ms_triplet(values: Sequence[float], qs: tuple[float, ...] = (50, 99), with_max: bool = True) -> str:
    """"1.2 / 3.4 / 9.9" for p50 / p99 / max (or whichever percentiles are asked for)."""
    parts = [percentile(values, q) for q in qs]
    if with_max:
        parts.append(max(values) if values else math.nan)
    return " / ".join(fmt_ms(v) for v in parts)


def fmt_ms(v: float) -> str:
    if math.isnan(v):
        return "n/a"
    return f"{v:.1f}" if v < 100 else f"{v:,.0f}"


def fmt_int(v: float) -> str:
    return f"{v:,.0f}"


def ratio(value: float, base: float | None) -> str:
    return f"{value / base:.2f}× bare" if base else "n/a"
