"""Processes that run a worker, with their heartbeats (`tables.workers`), and the claims
they hold: renewed with each heartbeat, freed at once when the process is known dead."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .db import read, write
from .tables import incidents, workers


@dataclass(frozen=True, slots=True)
class WorkerRow:
    id: str  # the lease owner its claims carry
    host: str
    pid: int
    process: str | None  # pid namespace and start time: tells a reused pid apart
    started_at: float
    heartbeat_at: float


async def register(engine: AsyncEngine, me: WorkerRow) -> None:
    async with write(engine) as conn:
        await _insert(conn, me)


async def _insert(conn: AsyncConnection, me: WorkerRow) -> None:
    await conn.execute(workers.insert().values(
        id=me.id, host=me.host, pid=me.pid, process=me.process, started_at=me.started_at,
        heartbeat_at=me.heartbeat_at))


async def heartbeat(engine: AsyncEngine, me: WorkerRow, now: float, lease_until: float,
                    row_ids: Iterable[int]) -> set[int]:
    """One transaction: this worker is alive, and the claims of its reconciles in flight run
    until `lease_until`. Only claims still ours are renewed (a claim freed or taken over meanwhile
    stays lost: the reconcile's next write finds that out). Returns the rows renewed."""
    ids = sorted(row_ids)
    async with write(engine) as conn:
        beat = await conn.execute(workers.update().where(workers.c.id == me.id).values(heartbeat_at=now))
        if beat.rowcount == 0:  # our row was removed while our heartbeat lapsed: we are back
            await _insert(conn, WorkerRow(me.id, me.host, me.pid, me.process, me.started_at, now))
        if not ids:
            return set()
        c = incidents.c
        renewed = await conn.execute(
            incidents.update().where(c.id.in_(ids), c.lease_owner == me.id).values(lease_until=lease_until)
            .returning(c.id))
        return set(renewed.scalars())


async def all_workers(engine: AsyncEngine) -> list[WorkerRow]:
    async with read(engine) as conn:
        rows = await conn.execute(sa.select(workers))
        return [WorkerRow(**r._mapping) for r in rows]


async def release(engine: AsyncEngine, owners: list[str], *, forget: bool = True) -> int:
    """Free every claim these workers hold (they are pending again, due as they were), and
    forget the workers (`forget`). Returns the number of claims freed."""
    if not owners:
        return 0
    async with write(engine) as conn:
        freed = await conn.execute(_free(incidents.c.lease_owner.in_(owners)))
        if forget:
            await conn.execute(workers.delete().where(workers.c.id.in_(owners)))
        return freed.rowcount


async def release_unregistered(engine: AsyncEngine) -> int:
    """Free claims whose owner is not a registered worker (a process from before workers
    registered, or one forgotten as dead). Only safe where every live worker is registered
    before it claims, and none can be forgotten while alive: SQLite, one process."""
    c = incidents.c
    async with write(engine) as conn:
        freed = await conn.execute(_free(sa.and_(
            c.lease_owner.is_not(None), c.lease_owner.not_in(sa.select(workers.c.id)))))
        return freed.rowcount


def _free(where: Any) -> Any:
    # A claim freed from a dead worker was cut off mid-reconcile, like an expired lease taken
    # over (store/claims.py): what the row says about Jira may be stale, so the next reconcile
    # reads the issue first (A -> B -> A after a crash must end at A).
    return incidents.update().where(where).values(lease_owner=None, lease_until=None, jira_unverified=True)
