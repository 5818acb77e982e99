"""Incidents as the application reads them: pages, one incident with its timeline, channels seen.

An incident row is the latest snapshot, its place in the queue and its link to a Jira
issue (`tables.incidents`). `IncidentRecord` is that row, typed; `JiraLink` is the Jira side
of it, which a reconcile updates as Jira confirms each write.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from .tables import events, exchanges, incidents


@dataclass(slots=True)
class JiraLink:
    """What Jira holds for an incident, as far as we know: written back with every outcome."""

    create_state: str | None = None  # None -> "creating" (outcome may be unknown) -> "created" | "deleted"
    jira_issue_id: str | None = None
    jira_issue_key: str | None = None
    jira_status_id: str | None = None
    jira_status: str | None = None
    jira_priority_id: str | None = None
    create_floor: int | None = None  # while "creating": the issue it made is numbered above this
    create_sent_at: float | None = None
    jira_unverified: bool = False  # the values above may be stale: read the issue first
    # two-way sync: what the last inbound look found in Jira (one change is acted on once), and
    # what we last wrote to Flashduty
    jira_seen_status: str | None = None
    jira_seen_priority: str | None = None
    fd_written_progress: str | None = None
    fd_written_severity: str | None = None

    def values(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


LINK_COLUMNS = tuple(f.name for f in dataclasses.fields(JiraLink))


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    id: int
    integration_id: int
    incident_id: str
    snapshot: dict[str, Any]
    snapshot_time: int
    title: str
    severity: str
    progress: str
    activated: bool
    change_seq: int
    synced_seq: int
    comment_seq: int
    comment_synced_seq: int
    state: str  # idle | pending | failed
    pending_since: float | None
    due_at: float | None
    lease_owner: str | None
    lease_until: float | None
    attempts: int
    last_error: str | None
    failing_since: float | None
    create_state: str | None
    jira_issue_id: str | None
    jira_issue_key: str | None
    jira_status_id: str | None
    jira_status: str | None
    jira_priority_id: str | None
    create_floor: int | None
    create_sent_at: float | None
    jira_unverified: bool
    last_synced_at: float | None
    created_at: float
    updated_at: float
    jira_seq: int = 0  # Jira events (hints) accepted; jira_synced_seq: those a reconcile has read
    jira_synced_seq: int = 0
    jira_seen_status: str | None = None
    jira_seen_priority: str | None = None
    fd_written_progress: str | None = None
    fd_written_severity: str | None = None

    @classmethod
    def of(cls, row: Any) -> "IncidentRecord":
        return cls(**dict(row._mapping if hasattr(row, "_mapping") else row))

    @property
    def in_flight(self) -> bool:
        return self.state == "pending" and self.lease_until is not None

    def link(self) -> JiraLink:
        return JiraLink(**{col: getattr(self, col) for col in LINK_COLUMNS})


@dataclass(frozen=True, slots=True)
class EventRecord:
    event_id: str
    event_type: str
    event_time: int
    received_at: float
    outcome: str


@dataclass(frozen=True, slots=True)
class ExchangeRecord:
    id: int
    at: float
    method: str
    path: str
    request_body: Any
    status: int | None
    response_body: Any
    duration_ms: float


async def page(
    conn: AsyncConnection, integration_id: int, *, state: str | None = None, before: int | None = None,
    limit: int = 50, incident_id: str | None = None,
) -> list[IncidentRecord]:
    """One page of an integration's incidents, newest first (keyset: fast at any depth)."""
    c = incidents.c
    q = sa.select(incidents).where(c.integration_id == integration_id)
    if state:
        q = q.where(c.state == state)
    if incident_id:
        q = q.where(c.incident_id == incident_id)
    if before:
        q = q.where(c.id < before)
    q = q.order_by(c.id.desc()).limit(limit)
    return [IncidentRecord.of(r) for r in await conn.execute(q)]


async def get(conn: AsyncConnection, integration_id: int, incident_id: str) -> IncidentRecord | None:
    c = incidents.c
    found = (await conn.execute(
        sa.select(incidents).where(c.integration_id == integration_id, c.incident_id == incident_id)
    )).first()
    return IncidentRecord.of(found) if found else None


async def events_of(conn: AsyncConnection, integration_id: int, incident_id: str) -> list[EventRecord]:
    e = events.c
    rows = await conn.execute(
        sa.select(e.event_id, e.event_type, e.event_time, e.received_at, e.outcome)
        .where(e.integration_id == integration_id, e.incident_id == incident_id)
        .order_by(e.id)
    )
    return [EventRecord(*r) for r in rows]


async def exchanges_of(conn: AsyncConnection, incident_row_id: int) -> list[ExchangeRecord]:
    x = exchanges.c
    rows = await conn.execute(
        sa.select(x.id, x.at, x.method, x.path, x.request_body, x.status, x.response_body, x.duration_ms)
        .where(x.incident_row_id == incident_row_id)
        .order_by(x.id)
    )
    return [ExchangeRecord(*r) for r in rows]


async def count(conn: AsyncConnection, integration_id: int) -> int:
    return int(await conn.scalar(sa.select(sa.func.count()).where(incidents.c.integration_id == integration_id)) or 0)


async def recent_channels(conn: AsyncConnection, integration_id: int | None, scan: int = 500) -> dict[int, str]:
    """Channel id -> name from the `scan` most recent incidents' snapshots (of one integration, or of all)."""
    c = incidents.c
    q = sa.select(c.snapshot).order_by(c.id.desc()).limit(scan)
    if integration_id is not None:
        q = q.where(c.integration_id == integration_id)
    found: dict[int, str] = {}
    for snap in (await conn.execute(q)).scalars():
        channel = snap.get("channel_id") if isinstance(snap, dict) else None
        if channel and channel not in found:
            found[channel] = str(snap.get("channel_name") or channel)
    return found
