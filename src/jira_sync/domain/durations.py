"""Durations in words for logs and lists: "0.9 s", "42 s", "3 min 5 s", "2 h 10 min", "3 d 4 h"."""
from __future__ import annotations

import math


def format_duration(seconds: float) -> str:
    """Rounded to what a reader needs: a tenth of a second under 10 s, then two units at most."""
    if not math.isfinite(seconds):
        return "forever" if seconds > 0 else "?"
    if seconds < 0:
        return "-" + format_duration(-seconds)
    if seconds < 10:
        text = f"{seconds:.1f}".rstrip("0").rstrip(".")
        return f"{text} s"
    whole = round(seconds)
    for size, unit, smaller, smaller_unit in ((86400, "d", 3600, "h"), (3600, "h", 60, "min"), (60, "min", 1, "s")):
        if whole >= size:
            big, rest = divmod(whole, size)
            small = rest // smaller
            return f"{big} {unit}" + (f" {small} {smaller_unit}" if small else "")
    return f"{whole} s"


def retry_phrase(retry_at: float | None, now: float) -> str:
    """"retry in 0.9 s", or "" when no retry is planned (a log line then says nothing about one)."""
    if retry_at is None:
        return ""
    return f"retry in {format_duration(max(0.0, retry_at - now))}"
