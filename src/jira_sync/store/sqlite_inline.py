"""SQLite without thread hops: SQLAlchemy's synchronous driver, run inline on the event loop.

aiosqlite runs every cursor call on a helper thread; measured here, one statement cost
~400 us of CPU and a transaction ~700 us, almost all of it hand-offs between threads.
The same work inline costs 14 us and 43 us. SQLite statements finish in microseconds, so
running them on the loop is cheaper than any hand-off, and so are most commits (below).

`InlineEngine` offers the part of `AsyncEngine` this project uses (`begin`, `connect`,
`dispose`, `dialect`, `url`), so the store code is the same for SQLite and PostgreSQL.
Its one connection is guarded by an asyncio lock: a transaction is never interleaved with
another, and SQLite never sees two writers from this process.
"""
from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import sqlite3
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable

import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from .compiled import compiled


class InlineConnection:
    """The `AsyncConnection` methods the store uses, over a synchronous connection."""

    def __init__(self, sync: sa.Connection) -> None:
        self._sync = sync
        self.dialect = sync.dialect

    async def execute(self, statement: Any, parameters: Any = None) -> Any:
        return self._sync.execute(statement, parameters)

    async def exec_driver_sql(self, sql: str, parameters: Any = None) -> Any:
        return self._sync.exec_driver_sql(sql, parameters)

    async def scalar(self, statement: Any, parameters: Any = None) -> Any:
        return self._sync.scalar(statement, parameters)

    async def run_sync(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return fn(self._sync, *args, **kwargs)

    async def direct(self, statement: Any, parameters: dict[str, Any]) -> DriverResult:
        """`statement` compiled once and run on the sqlite3 cursor, in this transaction
        (`store/compiled.py`): for the worker's writes (claim, record, finish, fail), a few for
        every event. A one-row UPDATE cost 10.4-11.0 µs of CPU through `execute` and 2.1-2.2 µs
        here; with the claim's rows and the reconcile's exchanges, `serve`'s CPU per event in
        automatic mode fell from ~2,900 µs to ~2,660 (`bench/storm.py`'s service, alternating
        runs). A constraint violation is SQLAlchemy's IntegrityError, as through `execute`."""
        c = compiled(statement, self.dialect)
        cursor = self._sync.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(c.sql, c.arguments(parameters))
            rows = c.rows(cursor.fetchall()) if c.columns else []
            return DriverResult(rows, cursor.rowcount)
        except sqlite3.IntegrityError as exc:
            raise sa.exc.IntegrityError(c.sql, None, exc) from exc
        finally:
            cursor.close()


@dataclass(frozen=True, slots=True)
class DriverResult:
    rows: list[dict[str, Any]]
    rowcount: int


class InlineEngine:
    def __init__(self, url: str, *, busy_timeout_s: float, **engine_options: Any) -> None:
        self.sync_engine = sa.create_engine(
            url,
            **engine_options,
            poolclass=StaticPool,  # one connection, used only from the event loop's thread
            connect_args={"check_same_thread": False, "timeout": busy_timeout_s},
        )
        self.dialect = self.sync_engine.dialect
        self.url = self.sync_engine.url
        self._lock = _PriorityLock()
        # one thread: commits never overlap (the lock is held across each)
        self._committer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="sqlite-commit")

    @contextlib.asynccontextmanager
    async def begin(self, *, urgent: bool = False) -> AsyncIterator[InlineConnection]:
        """A transaction. `urgent` ones (webhooks waiting for their 200) take the connection
        before any other waiting transaction (the worker's, the API's).

        Every commit waits for the disk (synchronous=FULL, ~0.2-0.5 ms here). An urgent one
        waits on the committer thread: meanwhile the loop reads and parses the next deliveries,
        which would otherwise wait in their sockets. Closed loop, 32 connections: 1,630-1,650
        webhooks/s with the commit inline, 1,990-2,030 on the thread, the same CPU per webhook
        (a hand-off costs ~50 us per batch, not per webhook).
        Other commits stay on the loop. The worker's used to run on a helper thread; under a
        storm of new incidents the thread's answer reached the loop 60-180 ms late every half
        second or so (the commit itself had taken under a millisecond), and the connection
        stayed held all that time, so every webhook behind it waited too: automatic mode's
        p99 was 60-160 ms. Inline, it was 15-17 ms (`bench/run.py --storm`)."""
        async with self._lock.held(urgent):
            with self.sync_engine.connect() as sync:
                transaction = sync.begin()
                try:
                    yield InlineConnection(sync)
                except BaseException:
                    transaction.rollback()
                    raise
                if urgent:
                    await self._commit_on_thread(transaction)
                else:
                    transaction.commit()

    async def _commit_on_thread(self, transaction: sa.RootTransaction) -> None:
        """Commit on the committer thread. The connection (and the lock) stay ours until the
        commit has returned, even if our caller is cancelled meanwhile: nobody else may use
        the connection while the thread does."""
        done = asyncio.get_running_loop().run_in_executor(self._committer, transaction.commit)
        cancelled = False
        while not done.done():
            try:
                await asyncio.wait([done])
            except asyncio.CancelledError:
                cancelled = True
        if cancelled:
            raise asyncio.CancelledError
        done.result()

    @contextlib.asynccontextmanager
    async def connect(self) -> AsyncIterator[InlineConnection]:
        async with self._lock.held(False):
            with self.sync_engine.connect() as sync:
                yield InlineConnection(sync)

    async def dispose(self) -> None:
        self.sync_engine.dispose()
        self._committer.shutdown(wait=False)


class _PriorityLock:
    """An asyncio lock whose urgent waiters go before the others (each kind in FIFO order)."""

    def __init__(self) -> None:
        self._locked = False
        self._urgent: collections.deque[asyncio.Future[None]] = collections.deque()
        self._others: collections.deque[asyncio.Future[None]] = collections.deque()

    @contextlib.asynccontextmanager
    async def held(self, urgent: bool) -> AsyncIterator[None]:
        await self._acquire(urgent)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, urgent: bool) -> None:
        if not self._locked and not self._urgent and not self._others:
            self._locked = True
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._urgent if urgent else self._others
        queue.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self._release()  # handed over just as we were cancelled: pass it on
            else:
                queue.remove(waiter)
            raise

    def _release(self) -> None:
        for queue in (self._urgent, self._others):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # stays locked: ownership passes to the waiter
                    return
        self._locked = False
