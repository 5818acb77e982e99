"""The integration-row cache of the webhook path and the worker (sync/changes.py)."""
from __future__ import annotations

import asyncio

from jira_sync.store import integrations as integration_store
from jira_sync.sync.changes import IntegrationRows


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

    class Engine:  # `read` needs only a connection it can hand over
        def connect(self):  # type: ignore[no-untyped-def]
            class Conn:
                async def __aenter__(self):  # type: ignore[no-untyped-def]
                    return self

                async def __aexit__(self, *exc):  # type: ignore[no-untyped-def]
                    return False
            return Conn()

    monkeypatch.setattr(integration_store, "get_rows", get_rows)
    rows = IntegrationRows(Engine(), ttl=60)  # type: ignore[arg-type]
    slow = asyncio.create_task(rows.get(7))
    await asyncio.sleep(0)
    version["n"] = 2
    rows.forget(7)  # the change is heard while the slow read is under way
    release.set()
    assert await slow == "row v1"  # what that caller read
    assert await rows.get(7) == "row v2"  # read again: the old row was not kept
    assert await rows.get(7) == "row v2" and len(reads) == 2  # and this one is kept
