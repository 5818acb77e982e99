"""SQLite's one connection: a webhook's transaction goes before the worker's that are already
waiting (store/sqlite_inline.py), and a waiter cancelled in line does not keep the lock."""
from __future__ import annotations

import asyncio

from jira_sync.store.sqlite_inline import _PriorityLock


async def test_urgent_waiters_go_first_each_kind_in_arrival_order() -> None:
    lock = _PriorityLock()
    order: list[str] = []
    gate = asyncio.Event()

    async def holder() -> None:
        async with lock.held(False):
            await gate.wait()

    async def waiter(name: str, urgent: bool) -> None:
        async with lock.held(urgent):
            order.append(name)

    first = asyncio.create_task(holder())
    await asyncio.sleep(0)
    tasks = [asyncio.create_task(waiter(n, u)) for n, u in
             [("worker-1", False), ("webhook-1", True), ("worker-2", False), ("webhook-2", True)]]
    await asyncio.sleep(0)
    gate.set()
    await asyncio.gather(first, *tasks)
    assert order == ["webhook-1", "webhook-2", "worker-1", "worker-2"]


async def test_a_cancelled_waiter_leaves_the_lock_to_the_next() -> None:
    lock = _PriorityLock()
    gate = asyncio.Event()
    got: list[str] = []

    async def holder() -> None:
        async with lock.held(False):
            await gate.wait()

    async def waiter(name: str) -> None:
        async with lock.held(True):
            got.append(name)

    first = asyncio.create_task(holder())
    await asyncio.sleep(0)
    doomed = asyncio.create_task(waiter("cancelled"))
    after = asyncio.create_task(waiter("next"))
    await asyncio.sleep(0)
    doomed.cancel()
    gate.set()
    await asyncio.gather(first, after)
    assert got == ["next"]
    async with lock.held(False):  # free again afterwards
        got.append("later")
    assert got == ["next", "later"]
