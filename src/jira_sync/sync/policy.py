"""When to try again: a pure function of (error, attempts), tested by a table."""
from __future__ import annotations

import random

BASE_DELAY = 1.0
MAX_DELAY = 300.0


def retry_in(error: BaseException, attempts: int, max_attempts: int, *, rand: float | None = None) -> float | None:
    """Seconds until the next attempt, or None to fail the incident now.

    `attempts` counts the failures before this one. Errors say themselves whether
    retrying can help (`retryable`, set at the Jira / Flashduty boundary); errors that
    say nothing (our own bugs, a database hiccup) are treated as transient.
    Retry-After from Jira is a floor, never shortened by the backoff.
    """
    if getattr(error, "retryable", True) is False:
        return None
    if attempts + 1 >= max_attempts:
        return None
    backoff = min(MAX_DELAY, BASE_DELAY * 2**attempts)
    jitter = 0.5 + (random.random() if rand is None else rand) / 2  # 50-100%: spread a thundering herd
    floor = getattr(error, "retry_after", None) or 0.0
    return max(floor, backoff * jitter)
