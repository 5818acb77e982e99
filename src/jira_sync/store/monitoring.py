"""What `/metrics` reads at scrape time: each integration's queue and the Jira sites' pauses.

One read: a count grouped by integration and state over the pending and failed rows (an
index range, `ix_incidents_state_list`, never the whole table), the integrations' Jira sites,
and the few pause rows. Idle incidents are never read.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from .sites import SiteRow, integration_sites, load_on
from .tables import incidents


@dataclass(frozen=True, slots=True)
class QueueCounts:
    pending: int = 0
    oldest_pending_since: float | None = None
    failed: int = 0


@dataclass(frozen=True, slots=True)
class MonitoringRead:
    queues: dict[int, QueueCounts]  # every integration, zeros included
    sites: dict[int, str]  # integration -> its Jira site URL as configured
    pauses: list[SiteRow]


async def read_monitoring(conn: AsyncConnection) -> MonitoringRead:
    c = incidents.c
    grouped = await conn.execute(
        sa.select(c.integration_id, c.state, sa.func.count(), sa.func.min(c.pending_since))
        .where(c.state.in_(("pending", "failed")))
        .group_by(c.integration_id, c.state)
    )
    found: dict[int, dict[str, tuple[int, float | None]]] = {}
    for iid, state, count, oldest in grouped:
        found.setdefault(iid, {})[state] = (count, oldest)
    configured = await integration_sites(conn)
    queues = {}
    for iid, _ in configured:
        states = found.get(iid, {})
        pending, oldest = states.get("pending", (0, None))
        queues[iid] = QueueCounts(pending=pending, oldest_pending_since=oldest, failed=states.get("failed", (0, None))[0])
    sites = {iid: str(jira.get("url") or "") for iid, jira in configured}
    return MonitoringRead(queues=queues, sites=sites, pauses=await load_on(conn))
