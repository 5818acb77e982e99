"""Jira sites (or one account on a site) the sync waits for (`tables.jira_sites`).

A row exists only while something waits: an outage that a worker probes, credentials Jira
refused, or a Retry-After. Every change is told to the other processes (NOTIFY on
PostgreSQL) so they reload the table; nothing reads it per Jira request.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .db import read, write
from .notify import site_changed, wake_workers
from .queue import insert_for
from .tables import incidents, integrations, jira_sites

OUTAGE, RATE_LIMITED, CREDENTIALS = "unreachable", "rate_limited", "credentials"


@dataclass(frozen=True, slots=True)
class SiteRow:
    key: str
    url: str
    account: str | None
    integration_id: int | None
    reason: str  # OUTAGE | RATE_LIMITED | CREDENTIALS
    message: str
    since: float
    next_probe_at: float | None
    resume_at: float | None
    probes: int
    updated_at: float


async def load(engine: AsyncEngine) -> list[SiteRow]:
    async with read(engine) as conn:
        return await load_on(conn)


async def load_on(conn: AsyncConnection) -> list[SiteRow]:
    return [SiteRow(**r._mapping) for r in await conn.execute(sa.select(jira_sites))]


async def integration_sites(conn: AsyncConnection) -> list[tuple[int, dict[str, Any]]]:
    """(id, the jira part of its configuration) of every integration: which site, which account."""
    rows = await conn.execute(sa.select(integrations.c.id, integrations.c.config))
    return [(r.id, (r.config or {}).get("jira") or {}) for r in rows]


async def pause(engine: AsyncEngine, row: SiteRow) -> None:
    """Start waiting for a site or account, or say why again (keeps `since` and a later resume)."""
    async with write(engine) as conn:
        ins = insert_for(conn.dialect.name)(jira_sites).values(**_values(row))
        t = ins.excluded
        await conn.execute(ins.on_conflict_do_update(index_elements=[jira_sites.c.key], set_={
            "reason": t.reason, "message": t.message, "integration_id": t.integration_id,
            "next_probe_at": t.next_probe_at, "probes": t.probes, "updated_at": t.updated_at,
            "since": sa.case((jira_sites.c.reason == t.reason, jira_sites.c.since), else_=t.since),
            "resume_at": _later(jira_sites.c.resume_at, t.resume_at),
        }))
        await site_changed(conn)


async def note_rate_limit(engine: AsyncEngine, key: str, now: float, until: float, message: str) -> None:
    """Retry-After: nothing goes to the site before `until`. A pause for another reason keeps
    its reason and only gains the later resume time."""
    row = SiteRow(key, key, None, None, RATE_LIMITED, message, now, None, until, 0, now)
    async with write(engine) as conn:
        ins = insert_for(conn.dialect.name)(jira_sites).values(**_values(row))
        await conn.execute(ins.on_conflict_do_update(index_elements=[jira_sites.c.key], set_={
            "resume_at": _later(jira_sites.c.resume_at, ins.excluded.resume_at), "updated_at": now,
        }))
        await site_changed(conn)


def _later(old: Any, new: Any) -> Any:
    return sa.case((old.is_(None), new), (new.is_(None), old), (new > old, new), else_=old)


def _values(row: SiteRow) -> dict[str, Any]:
    return {f: getattr(row, f) for f in SiteRow.__slots__}


async def take_probe(engine: AsyncEngine, key: str, now: float, hold_until: float) -> bool:
    """Claim the probe that is due for `key`; False if another worker took it first."""
    c = jira_sites.c
    async with write(engine) as conn:
        res = await conn.execute(jira_sites.update().where(c.key == key, c.next_probe_at <= now)
                                 .values(next_probe_at=hold_until))
        return res.rowcount == 1


async def probe_failed(engine: AsyncEngine, key: str, message: str, next_probe_at: float | None, now: float) -> None:
    c = jira_sites.c
    async with write(engine) as conn:
        await conn.execute(jira_sites.update().where(c.key == key).values(
            message=message, next_probe_at=next_probe_at, probes=c.probes + 1, updated_at=now))
        await site_changed(conn)


async def resume(engine: AsyncEngine, keys: Iterable[str], integration_ids: Iterable[int], now: float) -> int:
    """The site (or account) answers again: forget the pauses `keys`, and every incident of
    `integration_ids` that waits is due now, its attempts forgotten (they were the site's
    fault). One transaction, so no incident is left waiting out a pause that has ended."""
    keys, ids = sorted(set(keys)), sorted(set(integration_ids))
    c = incidents.c
    async with write(engine) as conn:
        if keys:
            await conn.execute(jira_sites.delete().where(jira_sites.c.key.in_(keys)))
            await site_changed(conn)
        if not ids:
            return 0
        res = await conn.execute(incidents.update().where(
            c.integration_id.in_(ids), c.state == "pending", c.due_at > now,
        ).values(due_at=now, attempts=0))
        if res.rowcount:
            await wake_workers(conn)
        return res.rowcount


async def forget_expired(engine: AsyncEngine, now: float) -> None:
    """Rate limits whose Retry-After has passed end by themselves."""
    c = jira_sites.c
    async with write(engine) as conn:
        await conn.execute(jira_sites.delete().where(c.reason == RATE_LIMITED, c.resume_at < now))
