"""The sync queue, the side that fills it: manual syncs and retries (webhook deliveries come in
through `intake.py`); and what an operator sees of it (counts) and its housekeeping.

An incident moves idle -> pending -> (claimed) -> idle | failed. This module makes
incidents pending; `claims.py` is the worker's side (claim, record, finish, fail).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .db import write
from .incidents import IncidentRecord
from .notify import wake_workers
from .tables import LINK_SHARDS, comments, events, exchanges, incidents, jira_events, link_counts


def insert_for(dialect: str):  # type: ignore[no-untyped-def]
    """The dialect's INSERT, which has ON CONFLICT (same syntax on SQLite and PostgreSQL)."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


async def request_sync(conn: AsyncConnection, integration_id: int, incident_id: str) -> IncidentRecord | None:
    """The manual trigger from the API: activate and queue an incident we have a snapshot of."""
    now = time.time()
    c = incidents.c
    idle = c.state == "idle"
    res = await conn.execute(
        incidents.update()
        .where(c.integration_id == integration_id, c.incident_id == incident_id)
        .values(
            activated=True,
            change_seq=c.change_seq + 1,
            state="pending",
            pending_since=sa.case((idle, now), else_=sa.func.coalesce(c.pending_since, now)),
            due_at=now,
            attempts=0,
            failing_since=None,
            updated_at=now,
        )
        .returning(*incidents.c)
    )
    row = res.first()
    if row is None:
        return None
    await wake_workers(conn)
    return IncidentRecord.of(row)


def _retry(integration_id: int, now: float, *where: Any) -> Any:
    """Failed incidents back in the queue, due now, their failures forgotten."""
    c = incidents.c
    return (
        incidents.update()
        .where(c.integration_id == integration_id, c.state == "failed", *where)
        .values(state="pending", due_at=now, pending_since=now, attempts=0, failing_since=None, updated_at=now)
    )


async def retry_failed(conn: AsyncConnection, integration_id: int, incident_id: str) -> IncidentRecord | None:
    res = await conn.execute(
        _retry(integration_id, time.time(), incidents.c.incident_id == incident_id).returning(*incidents.c))
    row = res.first()
    if row is None:
        return None
    await wake_workers(conn)
    return IncidentRecord.of(row)


async def replace_deleted_issue(conn: AsyncConnection, integration_id: int, incident_id: str) -> IncidentRecord | None:
    """A person asks for a new issue after the linked one was found deleted in Jira: forget the
    link and the comments copied there (they go to the new issue too), and queue the incident.
    Only from the "deleted" state, so a live issue is never replaced by mistake. None when the
    incident is not in that state. The new issue is created like any other (sync/adopt.py)."""
    now = time.time()
    c = incidents.c
    mine = sa.and_(c.integration_id == integration_id, c.incident_id == incident_id, c.create_state == "deleted")
    # it was counted as linked when its first issue was; the new issue's create counts it again
    shard = sa.select(c.id % LINK_SHARDS).where(mine).scalar_subquery()
    await conn.execute(link_counts.update().where(link_counts.c.integration_id == integration_id,
                                                  link_counts.c.shard == shard)
                       .values(linked=link_counts.c.linked - 1))
    res = await conn.execute(
        incidents.update().where(mine).values(
            create_state=None, jira_issue_id=None, jira_issue_key=None, jira_status_id=None, jira_status=None,
            jira_priority_id=None, create_floor=None, create_sent_at=None, jira_unverified=False, failing_since=None,
            jira_seen_status=None, jira_seen_priority=None,
            comment_synced_seq=0, activated=True, change_seq=c.change_seq + 1, state="pending", pending_since=now,
            due_at=now, attempts=0, last_error=None, updated_at=now,
        ).returning(*incidents.c)
    )
    row = res.first()
    if row is None:
        return None
    await conn.execute(comments.delete().where(comments.c.incident_row_id == row.id))
    await wake_workers(conn)
    return IncidentRecord.of(row)


async def retry_all_failed(conn: AsyncConnection, integration_id: int) -> int:
    """Every failed incident of the integration, back in the queue (after a fix, or an outage
    that outlasted GIVE_UP_HOURS). Returns how many."""
    res = await conn.execute(_retry(integration_id, time.time()))
    if res.rowcount:
        await wake_workers(conn)
    return res.rowcount


# ------------------------------------------------------------------ what an operator sees
@dataclass(frozen=True, slots=True)
class QueueStats:
    waiting: int  # due or backing off, not claimed
    in_flight: int  # claimed by a worker now
    failed: int  # waiting for a person (retry)
    linked: int  # incidents with a Jira issue
    oldest_waiting_age_seconds: float

    @property
    def all_synced(self) -> bool:
        return self.waiting == 0 and self.in_flight == 0 and self.failed == 0


async def queue_stats(conn: AsyncConnection, integration_id: int | None = None) -> QueueStats:
    """Waiting, in flight, failed, linked. /healthz runs this on every probe, so each count
    reads an index range (the pending and failed rows) or the kept counter (linked), not
    every incident: at 100k incidents one pass over the table took 40 ms of the event loop."""
    now = time.time()
    c = incidents.c
    scope = [c.integration_id == integration_id] if integration_id is not None else []
    leased = sa.and_(c.lease_until.is_not(None), c.lease_until >= now)
    pending = (
        await conn.execute(
            sa.select(
                sa.func.count().label("pending"),
                sa.func.count().filter(leased).label("in_flight"),
                sa.func.min(c.pending_since).label("oldest"),
            ).where(c.state == "pending", *scope)
        )
    ).one()
    failed = await conn.scalar(sa.select(sa.func.count()).where(c.state == "failed", *scope))
    # kept by record_jira as each incident is first linked: a few rows per integration to add up
    counted = sa.select(sa.func.coalesce(sa.func.sum(link_counts.c.linked), 0))
    if integration_id is not None:
        counted = counted.where(link_counts.c.integration_id == integration_id)
    linked = await conn.scalar(counted)
    return QueueStats(
        waiting=pending.pending - pending.in_flight,
        in_flight=pending.in_flight,
        failed=failed or 0,
        linked=linked or 0,
        oldest_waiting_age_seconds=round(now - pending.oldest, 3) if pending.oldest else 0.0,
    )



# ------------------------------------------------------------------ housekeeping
async def prune_history(engine: AsyncEngine, older_than: float) -> tuple[int, int]:
    """Delete deliveries and Jira exchanges recorded before `older_than` (unix seconds).

    Old deliveries are only needed to recognise a redelivery, which Flashduty makes within
    seconds; incidents, their links and comment records are kept whatever their age.
    """
    async with write(engine) as conn:
        gone_events = await conn.execute(events.delete().where(events.c.received_at < older_than))
        gone_exchanges = await conn.execute(exchanges.delete().where(exchanges.c.at < older_than))
        # two-way sync's Jira events and decisions: a Jira retry comes within ~30 minutes
        await conn.execute(jira_events.delete().where(jira_events.c.received_at < older_than))
        return gone_events.rowcount, gone_exchanges.rowcount
