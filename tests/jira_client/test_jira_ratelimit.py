"""SiteGate (in-flight bound, shared Retry-After pause) and the pure retry policy."""
from __future__ import annotations

import asyncio

import pytest

from jira_sync.jira.port import (
    JiraAuthError,
    JiraConnectError,
    JiraPermanentError,
    JiraRetryableError,
)
from jira_sync.jira.ratelimit import SiteGate, SiteGates, retry_delay


async def test_gate_bounds_requests_in_flight():
    gate = SiteGate(2)
    running = peak = 0

    async def call() -> None:
        nonlocal running, peak
        async with gate.slot():
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.01)
            running -= 1

    await asyncio.gather(*(call() for _ in range(7)))
    assert peak == 2


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_retry_after_holds_every_request_to_the_site():
    clock = Clock()
    gate = SiteGate(8, clock=clock, sleep=clock.sleep)
    gate.note_retry_after(30)
    gate.note_retry_after(5)  # a shorter pause never shortens the current one
    assert gate.paused_for == 30
    async with gate.slot():
        pass
    assert clock.slept == [30] and gate.paused_for == 0
    async with gate.slot():  # no pause left: no wait
        pass
    assert clock.slept == [30]


async def test_pause_noted_while_queued_is_honoured():
    clock = Clock()
    gate = SiteGate(1, clock=clock, sleep=clock.sleep)
    order: list[str] = []

    async def first() -> None:
        async with gate.slot():
            await asyncio.sleep(0)  # let `second` queue for the slot
            gate.note_retry_after(10)  # this request got a 429
            order.append("first")

    async def second() -> None:
        async with gate.slot():
            order.append(f"second after {clock.slept}")

    await asyncio.gather(first(), second())
    assert order == ["first", "second after [10.0]"]


def test_a_retry_after_seen_here_is_told_to_the_other_processes_and_theirs_holds_here():
    told: list[tuple[str, float]] = []
    gates = SiteGates(4)
    gates.on_retry_after = lambda key, seconds: told.append((key, seconds))
    gate = gates.for_site("https://Acme.atlassian.net/")
    gate.note_retry_after(30)  # a 429 this process saw: shared
    assert told == [("https://acme.atlassian.net", 30)] and gate.paused_for > 29
    other = gates.for_site("https://other.atlassian.net")
    other.hold(12)  # another process's 429: held here, not told back
    assert told == [("https://acme.atlassian.net", 30)] and 11 < other.paused_for <= 12


def test_one_gate_per_site():
    gates = SiteGates(4)
    a = gates.for_site("https://Acme.atlassian.net/")
    assert gates.for_site("https://acme.atlassian.net") is a
    assert gates.for_site("https://other.atlassian.net") is not a
    assert a.limit == 4
    assert SiteGates(4).for_site("https://acme.atlassian.net") is not a  # per process wiring, not global


RETRYABLE = JiraRetryableError("boom")
RATE_LIMITED = JiraRetryableError("429", status=429, retry_after=120.0)
BIG_RETRY_AFTER = JiraRetryableError("429", status=429, retry_after=900.0)
UNREACHABLE = JiraConnectError("down", reason="unreachable")
PERMANENT = JiraPermanentError("400")
AUTH = JiraAuthError("401", reason="bad_credentials")


@pytest.mark.parametrize(
    "error, attempts, rand, kw, expected",
    [
        (PERMANENT, 1, 0.5, {}, None),
        (AUTH, 1, 0.5, {}, None),
        (RETRYABLE, 1, 0.0, {}, 0.5),  # equal jitter: half of base*2^0 ...
        (RETRYABLE, 1, 1.0, {}, 1.0),  # ... up to all of it
        (RETRYABLE, 3, 0.0, {}, 2.0),  # 4 s backoff, lower half
        (RETRYABLE, 7, 1.0, {}, 64.0),
        (RETRYABLE, 8, 1.0, {}, 128.0),  # no count of attempts gives up: GIVE_UP_HOURS does
        (RETRYABLE, 20, 1.0, {}, 3600.0),  # an hour at most between two attempts
        (RETRYABLE, 10_000, 1.0, {}, 3600.0),
        (RETRYABLE, 20, 1.0, {"cap": 300.0}, 300.0),
        (RETRYABLE, 2, 1.0, {"base": 10.0}, 20.0),
        (RATE_LIMITED, 1, 1.0, {}, 120.0),  # never sooner than Retry-After
        (RATE_LIMITED, 8, 1.0, {}, 128.0),
        (BIG_RETRY_AFTER, 2, 0.0, {}, 900.0),
        (JiraRetryableError("429", status=429, retry_after=7200.0), 2, 0.0, {}, 7200.0),  # Jira's word beats our cap
        (UNREACHABLE, 2, 0.0, {}, 1.0),
    ],
)
def test_retry_delay_table(error, attempts, rand, kw, expected):
    assert retry_delay(error, attempts, rand=lambda: rand, **kw) == expected


def test_retry_delay_jitter_stays_in_range():
    delays = {retry_delay(RETRYABLE, 4) for _ in range(50)}
    assert all(4.0 <= d <= 8.0 for d in delays) and len(delays) > 1
