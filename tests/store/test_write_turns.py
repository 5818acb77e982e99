"""SQLite write turns: one writer at a time, webhooks first, cancellation never wedges it."""
from __future__ import annotations

import asyncio

from jira_sync.store.db import WriteTurns


async def test_one_writer_at_a_time_and_webhooks_first() -> None:
    turns = WriteTurns()
    order: list[str] = []
    inside = 0

    async def writer(name: str, first: bool) -> None:
        nonlocal inside
        async with turns.turn(first=first):
            inside += 1
            assert inside == 1, "two writers at once"
            order.append(name)
            await asyncio.sleep(0.001)
            inside -= 1

    holder = asyncio.create_task(writer("worker-1", False))
    await asyncio.sleep(0)  # worker-1 holds the turn
    waiting = [
        asyncio.create_task(writer("worker-2", False)),
        asyncio.create_task(writer("worker-3", False)),
        asyncio.create_task(writer("webhook-1", True)),
        asyncio.create_task(writer("webhook-2", True)),
    ]
    await asyncio.gather(holder, *waiting)
    assert order == ["worker-1", "webhook-1", "webhook-2", "worker-2", "worker-3"]


async def test_a_cancelled_waiter_does_not_block_the_others() -> None:
    turns = WriteTurns()
    release = asyncio.Event()
    done: list[str] = []

    async def hold() -> None:
        async with turns.turn(first=False):
            await release.wait()

    async def write(name: str) -> None:
        async with turns.turn(first=True):
            done.append(name)

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0)
    doomed = asyncio.create_task(write("doomed"))
    later = asyncio.create_task(write("later"))
    await asyncio.sleep(0)
    doomed.cancel()
    release.set()
    await asyncio.gather(holder, later)
    assert done == ["later"] and doomed.cancelled()
    async with turns.turn(first=False):  # and the turn is free again afterwards
        pass
