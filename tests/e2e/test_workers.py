"""Several `jira-sync worker` processes on one PostgreSQL share the work, never the incident."""
from __future__ import annotations

import os
import time

import pytest

from e2e.conftest import make_stack, wait_until
from e2e.processes import start
from e2e.processes import stop as stop_processes


@pytest.mark.postgres
def test_worker_processes_share_the_queue(settings, database_url) -> None:  # type: ignore[no-untyped-def]
    if not database_url.startswith("postgresql"):
        pytest.skip("additional worker processes need PostgreSQL")
    # HTTP only; the workers sync. Over HTTP: the worker processes reach this Jira emulator
    stack, stop = make_stack(settings, "cloud", run_worker=False, over_http=True)
    workers = [start(settings, "worker", worker_concurrency=4) for _ in range(2)]
    try:
        _, hook = stack.integration()
        payloads = [stack.flashduty.open_incident() for _ in range(30)]
        for p in payloads:
            stack.send(hook, p)
        for p in payloads:  # and an update each, racing the creates
            stack.send(hook, stack.flashduty.ack(p["incident"]["incident_id"]))
        stack.synced(timeout=60)
        for p in payloads:
            assert stack.issue_for(p["incident"]["incident_id"]).status_name == "In Progress"
        assert stack.jira.count_requests("POST", r"/rest/api/\d/issue$") == 30
        assert all(w.poll() is None for w in workers)
        # each gave up CPU priority to `serve` (WORKER_NICE, 10 by default)
        mine = os.getpriority(os.PRIO_PROCESS, 0)
        assert [os.getpriority(os.PRIO_PROCESS, w.pid) for w in workers] == [min(19, mine + 10)] * 2
    finally:
        stop_processes(*workers)
        stop()


class TimedLog(list):  # type: ignore[type-arg]
    """The emulator's request log, with the moment each answer was sent."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def append(self, item: object) -> None:
        self.times.append(time.monotonic())
        super().append(item)


def _registered_workers(settings) -> int:  # type: ignore[no-untyped-def]
    """Worker processes that have registered (each does before its first claim)."""
    import asyncio

    import asyncpg

    async def count() -> int:
        conn = await asyncpg.connect(settings.database_url.replace("postgresql+asyncpg://", "postgresql://", 1))
        try:
            return int(await conn.fetchval("SELECT count(*) FROM workers"))
        finally:
            await conn.close()

    return asyncio.run(count())


@pytest.mark.postgres
def test_a_retry_after_seen_by_one_worker_holds_every_worker(settings, database_url) -> None:  # type: ignore[no-untyped-def]
    """One 429 with Retry-After: 3 reaches one process; no process sends Jira anything for 3 s."""
    if not database_url.startswith("postgresql"):
        pytest.skip("additional worker processes need PostgreSQL")
    stack, stop = make_stack(settings, "cloud", run_worker=False, over_http=True)
    workers = [start(settings, "worker", worker_concurrency=4) for _ in range(2)]
    try:
        _, hook = stack.integration()
        log = stack.jira.request_log = TimedLog()
        # both running before the 429: this is about the news reaching a worker at work (one that
        # starts during a pause is tests/store/test_worker_resilience.py's)
        wait_until(lambda: _registered_workers(settings) >= 2, what="both workers registered")
        payloads = [stack.flashduty.open_incident() for _ in range(150)]
        for p in payloads[:20]:
            stack.send(hook, p)
        wait_until(lambda: len(stack.jira.issues) >= 10, what="both workers at work")
        stack.jira.faults.add(method=None, path=r"/rest/api/", kind="429", times=1, retry_after=3)
        for p in payloads[20:]:  # plenty of work left for the worker that did not get the 429
            stack.send(hook, p)
        stack.synced(timeout=120)
        assert len(stack.jira.issues) == 150
        [limited] = [i for i, (_, _, status) in enumerate(log) if status == 429]
        at = log.times[limited]
        # a moment for the news to travel (NOTIFY), then silence until Retry-After has passed
        sent = [(t - at, entry) for t, entry in zip(log.times, log) if at + 0.5 < t < at + 2.8]
        assert sent == [], f"{len(sent)} requests during the pause, the first {sent[:3]}"
        assert all(w.poll() is None for w in workers)
    finally:
        stop_processes(*workers)
        stop()
