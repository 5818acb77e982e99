"""Where each `jira-sync serve` listens (`tables.http_listeners`): a row while it runs."""
from __future__ import annotations

from typing import Callable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from .db import read, write
from .tables import http_listeners


async def announce(engine: AsyncEngine, listener_id: str, base_url: str, host: str, pid: int, now: float) -> None:
    async with write(engine) as conn:
        await conn.execute(http_listeners.insert().values(
            id=listener_id, base_url=base_url[:500], host=host[:255], pid=pid, started_at=now))


async def forget_dead(engine: AsyncEngine, host: str, alive: Callable[[int], bool]) -> int:
    """Drop the rows of servers on `host` whose process is gone (killed without withdrawing)."""
    async with write(engine) as conn:
        rows = (await conn.execute(sa.select(http_listeners.c.id, http_listeners.c.pid)
                                   .where(http_listeners.c.host == host))).all()
        dead = [r.id for r in rows if not alive(r.pid)]
        if dead:
            await conn.execute(http_listeners.delete().where(http_listeners.c.id.in_(dead)))
        return len(dead)


async def withdraw(engine: AsyncEngine, listener_id: str) -> None:
    async with write(engine) as conn:
        await conn.execute(http_listeners.delete().where(http_listeners.c.id == listener_id))


async def newest_first(engine: AsyncEngine, limit: int = 5) -> list[str]:
    """Base URLs of the servers that announced themselves, newest first (some may have died
    without withdrawing: the caller checks that one answers)."""
    async with read(engine) as conn:
        rows = await conn.execute(sa.select(http_listeners.c.base_url)
                                  .order_by(http_listeners.c.started_at.desc()).limit(limit))
        return [r.base_url for r in rows]
