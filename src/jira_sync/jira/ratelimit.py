"""Politeness towards one Jira site, and the pure retry policy.

Jira Cloud answers `429` (and some `503`s) with `Retry-After` when a site's budget is
spent; the budget is per site and user, not per request, so after one 429 every request
to that site should wait, not just the one that got it. `SiteGate` is that shared wait
plus a bound on requests in flight; `SiteGates.for_site()` hands out one gate per base URL.
A pause this process learns of is also told to `SiteGates.on_retry_after`, which shares it
with the other processes (`sync/sites.py`); theirs arrive through `SiteGate.hold()`.

`retry_delay()` decides *when* to try again: a pure function of (error, attempts), so the
queue that owns retries and the tests agree on one table.
"""
from __future__ import annotations

import asyncio
import functools
import random
import time
import weakref
from contextlib import asynccontextmanager
from typing import AsyncIterator, Awaitable, Callable

DEFAULT_LIMIT = 8


class SiteGate:
    """Bounds requests in flight to one Jira site and holds them during a Retry-After pause."""

    def __init__(
        self,
        limit: int = DEFAULT_LIMIT,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_pause: Callable[[float], None] | None = None,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self._on_pause = on_pause  # told of each Retry-After this process sees (seconds)
        self._clock = clock
        self._sleep = sleep
        self._resume_at = 0.0
        # asyncio primitives belong to one event loop; a process has one in production,
        # but tests and CLI helpers may run several loops against the same site.
        self._sems: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    def note_retry_after(self, seconds: float | None) -> None:
        """Jira said Retry-After: every request to this site waits until `seconds` from now
        (never shortens a pause), in this process and, through `on_pause`, in the others."""
        if seconds is None or seconds <= 0:
            return
        self.hold(seconds)
        if self._on_pause is not None:
            self._on_pause(seconds)

    def hold(self, seconds: float) -> None:
        """Pause for `seconds` from now, as another process asked (never shortens a pause)."""
        self._resume_at = max(self._resume_at, self._clock() + seconds)

    @property
    def paused_for(self) -> float:
        """Seconds left in the current Retry-After pause (0 when none)."""
        return max(0.0, self._resume_at - self._clock())

    async def _wait_pause(self) -> None:
        while (left := self.paused_for) > 0:
            await self._sleep(left)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the site's request slots, after any pause has passed."""
        loop = asyncio.get_running_loop()
        sem = self._sems.get(loop)
        if sem is None:
            sem = self._sems[loop] = asyncio.Semaphore(self.limit)
        await self._wait_pause()
        async with sem:
            # A 429 may have arrived while this request queued for a slot.
            await self._wait_pause()
            yield


def site_key(base_url: str) -> str:
    return base_url.strip().rstrip("/").lower()


class SiteGates:
    """One gate per Jira site for everything a process sends there: setup look-ups, the
    sync of every integration that points at the site, retries."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self._gates: dict[str, SiteGate] = {}
        # (site key, seconds): a Retry-After seen here, for the other processes to honour
        self.on_retry_after: Callable[[str, float], None] | None = None

    def for_site(self, base_url: str) -> SiteGate:
        key = site_key(base_url)
        gate = self._gates.get(key)
        if gate is None:
            gate = self._gates[key] = SiteGate(self.limit, on_pause=functools.partial(self._paused, key))
        return gate

    def _paused(self, key: str, seconds: float) -> None:
        if self.on_retry_after is not None:
            self.on_retry_after(key, seconds)


BACKOFF_CAP = 3600.0  # seconds: the longest an incident waits between two attempts


def retry_delay(
    error: BaseException,
    attempts: int,
    *,
    base: float = 1.0,
    cap: float = BACKOFF_CAP,
    rand: Callable[[], float] = random.random,
) -> float | None:
    """Seconds to wait before attempt `attempts + 1`, or None when retrying cannot help.

    `attempts` counts the attempts made so far, the failed one included. Permanent errors
    (400, 401/403, 404/410) never retry. Errors that do not say (`retryable`), such as our
    own bugs or a database hiccup, count as transient. Otherwise: exponential backoff with "equal jitter"
    (half fixed, half random, so retries from many incidents spread out but never collapse
    to zero), up to an hour, and never sooner than Jira's Retry-After. How long an incident
    keeps trying is the caller's rule (GIVE_UP_HOURS), not a count of attempts.
    """
    if getattr(error, "retryable", True) is False:
        return None
    backoff = min(cap, base * 2 ** min(max(0, attempts - 1), 32))
    jittered = backoff / 2 + rand() * backoff / 2
    return max(getattr(error, "retry_after", None) or 0.0, jittered)
