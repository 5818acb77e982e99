"""The integration-row cache of the webhook path and the worker (sync/changes.py)."""
from __future__ import annotations

import asyncio

import pytest

from jira_sync.store import integrations as integration_store
from jira_sync.sync import changes
from jira_sync.sync.changes import IntegrationRows


class Engine:  # `read` needs only a connection it can hand over
    def connect(self):  # type: ignore[no-untyped-def]
        class Conn:
            async def __aenter__(self):  # type: ignore[no-untyped-def]
                return self

            async def __aexit__(self, *exc):  # type: ignore[no-untyped-def]
                return False
        return Conn()


class Store:
    """get_rows as the database answers it: the current version of each row, each read
    counted, held until `release` is set when `hold` is on."""

    def __init__(self) -> None:
        self.version = 1
        self.reads: list[set[int]] = []
        self.hold = False
        self.release = asyncio.Event()
        self.fail = False

    async def get_rows(self, conn, ids):  # type: ignore[no-untyped-def]
        self.reads.append(set(ids))
        seen = self.version
        if self.hold:
            await self.release.wait()
        if self.fail:
            raise ConnectionError("database away")
        return {i: f"row {i} v{seen}" for i in ids}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def store(monkeypatch):  # type: ignore[no-untyped-def]
    s = Store()
    monkeypatch.setattr(integration_store, "get_rows", s.get_rows)
    return s


@pytest.fixture
def clock(monkeypatch):  # type: ignore[no-untyped-def]
    c = Clock()
    monkeypatch.setattr(changes, "time", c)
    return c


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_callers_asking_for_a_row_not_cached_share_one_read(store, clock) -> None:  # type: ignore[no-untyped-def]
    """At 300 webhooks a second, a read per caller took every pooled connection."""
    rows = IntegrationRows(Engine(), ttl=2)  # type: ignore[arg-type]
    store.hold = True
    callers = [asyncio.create_task(rows.get(7)) for _ in range(20)]
    await settle()
    callers[0].cancel()  # its client went away: the others still get the read
    await settle()
    store.release.set()
    assert await asyncio.gather(*callers[1:]) == ["row 7 v1"] * 19
    assert store.reads == [{7}]


async def test_a_row_past_its_ttl_is_answered_while_one_read_replaces_it(store, clock) -> None:  # type: ignore[no-untyped-def]
    rows = IntegrationRows(Engine(), ttl=2)  # type: ignore[arg-type]
    assert await rows.get(7) == "row 7 v1"
    store.version = 2  # changed by another process: no notice
    clock.now += 2.5
    store.hold = True
    answers = [await rows.get(7) for _ in range(20)]
    assert answers == ["row 7 v1"] * 20  # nobody waited for the re-read...
    await settle()
    assert store.reads == [{7}, {7}]  # ...and there was one
    store.release.set()
    await settle()
    assert await rows.get(7) == "row 7 v2"
    assert len(store.reads) == 2  # fresh again: no read


async def test_a_row_whose_refreshes_keep_failing_is_not_answered_for_long(store, clock) -> None:  # type: ignore[no-untyped-def]
    rows = IntegrationRows(Engine(), ttl=2)  # type: ignore[arg-type]
    assert await rows.get(7) == "row 7 v1"
    store.fail = True
    clock.now += 3
    assert await rows.get(7) == "row 7 v1"  # the background read fails: logged, row kept
    await settle()
    clock.now += 2 * IntegrationRows.STALE_FOR
    with pytest.raises(ConnectionError):  # too old to answer unread: the caller sees the failure
        await rows.get(7)


async def test_after_a_change_no_caller_takes_a_read_begun_before_it(store, clock) -> None:  # type: ignore[no-untyped-def]
    """A rotated secret: deliveries after the change must not share a read of the old row."""
    rows = IntegrationRows(Engine(), ttl=2)  # type: ignore[arg-type]
    store.hold = True
    before = asyncio.create_task(rows.get(7))
    await settle()
    store.version = 2
    rows.forget(7)
    store.hold = False
    after = await asyncio.wait_for(rows.get(7), 5)
    store.release.set()
    assert await before == "row 7 v1" and after == "row 7 v2"
    assert await rows.get(7) == "row 7 v2" and len(store.reads) == 2


async def test_a_row_read_while_a_change_is_heard_is_not_kept(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A read begun before a change committed (a rotated webhook secret, say) ends after the
    change was heard: its caller gets what it read, but the cache does not keep it, so the
    next delivery reads the new row instead of accepting the old secret until the TTL."""
    reads: list[set[int]] = []
    release = asyncio.Event()
    version = {"n": 1}

    async def get_rows(conn, ids):  # type: ignore[no-untyped-def]
        reads.append(set(ids))
        seen = version["n"]
        if len(reads) == 1:
            await release.wait()  # the slow read: the change commits and is heard meanwhile
        return {i: f"row v{seen}" for i in ids}

    monkeypatch.setattr(integration_store, "get_rows", get_rows)
    rows = IntegrationRows(Engine(), ttl=60)  # type: ignore[arg-type]
    slow = asyncio.create_task(rows.get(7))
    while not reads:  # the slow read has begun
        await asyncio.sleep(0)
    version["n"] = 2
    rows.forget(7)  # the change is heard while the slow read is under way
    release.set()
    assert await slow == "row v1"  # what that caller read
    assert await rows.get(7) == "row v2"  # read again: the old row was not kept
    assert await rows.get(7) == "row v2" and len(reads) == 2  # and this one is kept
