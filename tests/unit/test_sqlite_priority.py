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


async def test_a_webhook_commit_on_the_thread_keeps_the_connection_until_it_returns(tmp_path) -> None:
    """An urgent transaction commits on the committer thread while the loop goes on; if its
    task is cancelled meanwhile, nobody else may use the one connection until the commit is
    over (SQLite's connection is not safe to share with a commit in progress)."""
    import threading

    import sqlalchemy as sa

    from jira_sync.store.sqlite_inline import InlineEngine

    engine = InlineEngine(f"sqlite:///{tmp_path / 'db.sqlite'}", busy_timeout_s=1)
    async with engine.begin() as conn:
        await conn.exec_driver_sql("CREATE TABLE t (v INTEGER)")
    committing, finish = threading.Event(), threading.Event()

    @sa.event.listens_for(engine.sync_engine, "commit")
    def _slow_commit(_conn) -> None:  # type: ignore[no-untyped-def]
        if threading.current_thread() is not threading.main_thread():
            committing.set()
            finish.wait(10)

    async def webhook() -> None:
        async with engine.begin(urgent=True) as conn:
            await conn.exec_driver_sql("INSERT INTO t VALUES (1)")

    task = asyncio.create_task(webhook())
    assert await asyncio.to_thread(committing.wait, 10)  # the commit is under way on the thread
    task.cancel()
    seen: list[int] = []

    async def other() -> None:
        async with engine.connect() as conn:
            seen.append((await conn.exec_driver_sql("SELECT count(*) FROM t")).scalar())

    reader = asyncio.create_task(other())
    await asyncio.sleep(0.2)
    assert not seen and not reader.done()  # still waiting for the connection
    finish.set()
    try:
        await task
        raise AssertionError("the cancellation was swallowed")
    except asyncio.CancelledError:
        pass
    await reader
    assert seen == [1]  # the commit went through, and the reader came after it
    await engine.dispose()
