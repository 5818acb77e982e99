"""The sync queue, the side that fills it: accepted events, manual syncs and retries; and
what an operator sees of it (counts) and its housekeeping.

An incident moves idle -> pending -> (claimed) -> idle | failed. This module makes
incidents pending; `claims.py` is the worker's side (claim, record, finish, fail).
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..domain.incident import COMMENT_EVENTS, WebhookEvent
from .db import json_dumps, write
from .incidents import IncidentRecord
from .notify import wake_workers
from .sqlite_rows import ManyRows
from .tables import comments, events, exchanges, incidents, integrations, jira_events


def insert_for(dialect: str):  # type: ignore[no-untyped-def]
    """The dialect's INSERT, which has ON CONFLICT (same syntax on SQLite and PostgreSQL)."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


# ------------------------------------------------------------------ accepting events
@dataclass(frozen=True, slots=True)
class Accepted:
    duplicate: bool
    queued: bool
    incident_row_id: int | None


@dataclass(frozen=True, slots=True)
class Incoming:
    """One accepted delivery, with the trigger's decision, waiting to be written."""

    integration_id: int
    event: WebhookEvent
    activate: bool
    outcome: str


@functools.cache
def _ingest_statements(dialect: str) -> tuple[Any, Any]:
    """The statements of an ingest, built once per dialect.

    Webhooks are the hot path: building an upsert (its `excluded` proxies, the CASEs) costs
    more than running it, so they are built once with bind parameters and SQLAlchemy's
    compiled cache does the rest. Both run as multi-row statements for a batch.
    """
    insert = insert_for(dialect)
    if dialect == "postgresql":
        # one statement shape whatever the batch size: each column travels as one array,
        # unnested in order (key order: no deadlock). As multi-row VALUES every batch size
        # was another statement for asyncpg to prepare, a round trip, on each connection.
        new_events = insert(events).from_select(EVENT_COLUMNS, _unnest(events, EVENT_COLUMNS))
        up = insert(incidents).from_select(INCIDENT_COLUMNS, _unnest(incidents, INCIDENT_COLUMNS))
    else:
        new_events = insert(events)
        up = insert(incidents)
    new_events = new_events.on_conflict_do_nothing().returning(events.c.integration_id, events.c.event_id)
    old, new = incidents.c, up.excluded
    # "now" is the row's own updated_at: a bound parameter outside VALUES would make
    # SQLAlchemy send the upsert once per row instead of as one multi-row statement
    now = new.updated_at
    newer = new.snapshot_time >= old.snapshot_time
    active = sa.or_(old.activated, new.activated)
    wakes = sa.and_(active, old.state == "idle")
    upsert = up.on_conflict_do_update(
        index_elements=[old.integration_id, old.incident_id],
        set_={
            "snapshot": sa.case((newer, new.snapshot), else_=old.snapshot),
            "title": sa.case((newer, new.title), else_=old.title),
            "severity": sa.case((newer, new.severity), else_=old.severity),
            "progress": sa.case((newer, new.progress), else_=old.progress),
            "snapshot_time": sa.case((newer, new.snapshot_time), else_=old.snapshot_time),
            "activated": active,
            # excluded.change_seq / comment_seq carry how many changes this batch brings
            "change_seq": old.change_seq + new.change_seq,
            "comment_seq": old.comment_seq + new.comment_seq,
            "state": sa.case((wakes, "pending"), else_=old.state),
            "pending_since": sa.case((wakes, now), else_=old.pending_since),
            "due_at": sa.case((wakes, now), else_=old.due_at),
            "updated_at": now,
        },
    ).returning(incidents.c.id, incidents.c.state, incidents.c.integration_id, incidents.c.incident_id)
    return new_events, upsert


EVENT_COLUMNS = ["integration_id", "event_id", "incident_id", "event_type", "event_time", "received_at", "outcome"]
INCIDENT_COLUMNS = ["integration_id", "incident_id", "snapshot", "snapshot_time", "title", "severity", "progress",
                    "activated", "change_seq", "comment_seq", "state", "pending_since", "due_at", "created_at",
                    "updated_at"]


def _unnest(table: sa.Table, names: list[str]) -> sa.Select:
    """SELECT from unnest($1::t1[], $2::t2[], ...): one array parameter per column (JSON
    travels as text, written by `_fold`, and is cast back)."""
    arrays = [sa.bindparam(f"a_{n}", type_=postgresql.ARRAY(
        sa.Text if isinstance(table.c[n].type, sa.JSON) else table.c[n].type)) for n in names]
    rows = sa.func.unnest(*arrays).table_valued(*names).render_derived()
    return sa.select(*[sa.cast(rows.c[n], sa.JSON) if isinstance(table.c[n].type, sa.JSON) else rows.c[n]
                       for n in names])


@functools.cache
def _sqlite_many(table_name: str) -> ManyRows:
    new_events, upsert = _ingest_statements("sqlite")
    if table_name == "events":
        return ManyRows(new_events, events, EVENT_COLUMNS)
    return ManyRows(upsert, incidents, INCIDENT_COLUMNS)


async def _run(conn: AsyncConnection, statement: Any, rows: list[dict[str, Any]], names: list[str]) -> Any:
    """A statement for a batch of rows (JSON columns in them already as text)."""
    if conn.dialect.name == "postgresql":
        return await conn.execute(statement, {f"a_{n}": [r[n] for r in rows] for n in names})
    many = _sqlite_many(statement.table.name)
    return await conn.exec_driver_sql(many.sql(len(rows)), many.parameters(rows))


async def accept_events(conn: AsyncConnection, batch: list[Incoming]) -> list[Accepted]:
    """Record deliveries and fold them into their incidents' rows, in the caller's transaction.

    The unique (integration_id, event_id) makes a redelivery a no-op (within the batch
    too). Each incident row keeps the newest snapshot by event_time (events arrive out of
    order) and becomes pending once the trigger has fired; later changes only add to
    change_seq, so ten changes while Jira is down coalesce into one reconcile. Rows are
    written in key order so concurrent batches on PostgreSQL cannot deadlock.
    """
    new_events, upsert = _ingest_statements(conn.dialect.name)
    now = time.time()
    first: dict[tuple[int, str], int] = {}  # (integration, event id) -> index of its first delivery
    for i, item in enumerate(batch):
        first.setdefault((item.integration_id, item.event.event_id), i)
    event_rows = [_event_row(batch[i], now) for _, i in sorted(first.items())]
    inserted = {(r.integration_id, r.event_id) for r in await _run(conn, new_events, event_rows, EVENT_COLUMNS)}
    fresh = {i for key, i in first.items() if key in inserted}

    merged: dict[tuple[int, str], dict[str, Any]] = {}
    for i in sorted(fresh):  # arrival order: on equal event_time the later one wins, as one by one
        _fold(merged, batch[i], now)
    states: dict[tuple[int, str], Any] = {}
    if merged:
        rows = [merged[k] for k in sorted(merged)]
        states = {(r.integration_id, r.incident_id): r
                  for r in await _run(conn, upsert, rows, INCIDENT_COLUMNS)}
    if any(r.state == "pending" for r in states.values()):
        await wake_workers(conn)

    results = []
    for i, item in enumerate(batch):
        if i not in fresh:
            results.append(Accepted(duplicate=True, queued=False, incident_row_id=None))
            continue
        row = states[(item.integration_id, item.event.incident.incident_id)]
        results.append(Accepted(duplicate=False, queued=row.state == "pending", incident_row_id=row.id))
    return results


def _event_row(item: Incoming, now: float) -> dict[str, Any]:
    return dict(
        integration_id=item.integration_id,
        event_id=item.event.event_id,
        incident_id=item.event.incident.incident_id,
        event_type=item.event.event_type[:32],
        event_time=item.event.event_time,
        received_at=now,
        outcome=item.outcome,
    )


def _fold(merged: dict[tuple[int, str], dict[str, Any]], item: Incoming, now: float) -> None:
    """Add one fresh event to its incident's upsert row."""
    event, snap = item.event, item.event.incident
    key = (item.integration_id, snap.incident_id)
    row = merged.get(key)
    is_comment = 1 if event.event_type in COMMENT_EVENTS else 0
    if row is None:
        row = merged[key] = dict(
            integration_id=item.integration_id, incident_id=snap.incident_id, activated=False,
            change_seq=0, comment_seq=0, snapshot_time=-1, created_at=now, updated_at=now,
        )
    row["change_seq"] += 1
    row["comment_seq"] += is_comment
    row["activated"] = row["activated"] or item.activate
    if "snapshot" not in row or event.event_time >= row["snapshot_time"]:
        row.update(
            snapshot=json_dumps(snap.to_json()), snapshot_time=event.event_time, title=snap.title[:1000],
            severity=snap.severity[:16], progress=snap.progress[:16],
        )
    active = row["activated"]
    row.update(state="pending" if active else "idle", pending_since=now if active else None, due_at=now if active else None)


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
    await conn.execute(integrations.update().where(integrations.c.id == integration_id, sa.exists().where(mine))
                       .values(synced_count=integrations.c.synced_count - 1))
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
    # kept by record_jira as each incident is first linked: one row per integration to add up
    counted = sa.select(sa.func.coalesce(sa.func.sum(integrations.c.synced_count), 0))
    if integration_id is not None:
        counted = counted.where(integrations.c.id == integration_id)
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
