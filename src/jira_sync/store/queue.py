"""The sync queue: accepting events, claiming incidents, recording progress.

All SQL that moves an incident through idle -> pending -> (claimed) -> idle | failed
lives here. The one dialect branch is the claim (FOR UPDATE SKIP LOCKED on PostgreSQL;
SQLite serialises writers, so its plain UPDATE is already atomic).
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..domain.incident import WebhookEvent
from .db import write
from .tables import comments, events, exchanges, incidents, integrations

NOTIFY_CHANNEL = "jira_sync_wakeup"


def _insert_for(dialect: str):  # type: ignore[no-untyped-def]
    """The dialect's INSERT, which has ON CONFLICT (same syntax on SQLite and PostgreSQL)."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def _insert(conn: AsyncConnection, table: sa.Table):  # type: ignore[no-untyped-def]
    return _insert_for(conn.dialect.name)(table)


@functools.cache
def _wake_statement(dialect: str) -> Any:
    return sa.select(sa.func.pg_notify(NOTIFY_CHANNEL, "")) if dialect == "postgresql" else None


async def _wake_workers(conn: AsyncConnection) -> None:
    """Tell `jira-sync worker` processes (PostgreSQL) that work is queued, once this commits."""
    statement = _wake_statement(conn.dialect.name)
    if statement is not None:
        await conn.execute(statement)


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
    insert = _insert_for(dialect)
    new_events = insert(events).on_conflict_do_nothing().returning(events.c.integration_id, events.c.event_id)
    now = sa.bindparam("now", type_=sa.Float)
    up = insert(incidents)
    old, new = incidents.c, up.excluded
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
    inserted = {(r.integration_id, r.event_id) for r in await conn.execute(new_events, event_rows)}
    fresh = {i for key, i in first.items() if key in inserted}

    merged: dict[tuple[int, str], dict[str, Any]] = {}
    for i in sorted(fresh):  # arrival order: on equal event_time the later one wins, as one by one
        _fold(merged, batch[i], now)
    states: dict[tuple[int, str], Any] = {}
    if merged:
        rows = [merged[k] for k in sorted(merged)]
        states = {(r.integration_id, r.incident_id): r for r in await conn.execute(upsert, rows)}
    if any(r.state == "pending" for r in states.values()):
        await _wake_workers(conn)

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
    is_comment = 1 if event.event_type == "i_comm" else 0
    if row is None:
        row = merged[key] = dict(
            integration_id=item.integration_id, incident_id=snap.incident_id, activated=False,
            change_seq=0, comment_seq=0, snapshot_time=-1, created_at=now, updated_at=now, now=now,
        )
    row["change_seq"] += 1
    row["comment_seq"] += is_comment
    row["activated"] = row["activated"] or item.activate
    if event.event_time >= row["snapshot_time"]:
        row.update(
            snapshot=snap.to_json(), snapshot_time=event.event_time, title=snap.title[:1000],
            severity=snap.severity[:16], progress=snap.progress[:16],
        )
    active = row["activated"]
    row.update(state="pending" if active else "idle", pending_since=now if active else None, due_at=now if active else None)


async def request_sync(conn: AsyncConnection, integration_id: int, incident_id: str) -> dict | None:
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
            updated_at=now,
        )
        .returning(*incidents.c)
    )
    row = res.mappings().first()
    if row is not None:
        await _wake_workers(conn)
    return dict(row) if row else None


async def retry_failed(conn: AsyncConnection, integration_id: int, incident_id: str) -> dict | None:
    now = time.time()
    c = incidents.c
    res = await conn.execute(
        incidents.update()
        .where(c.integration_id == integration_id, c.incident_id == incident_id, c.state == "failed")
        .values(state="pending", due_at=now, pending_since=now, attempts=0, updated_at=now)
        .returning(*incidents.c)
    )
    row = res.mappings().first()
    if row is not None:
        await _wake_workers(conn)
    return dict(row) if row else None


# ------------------------------------------------------------------ the worker's side
# What the worker learns about the issue while reconciling; written with finish/fail.
JIRA_STATE = ("jira_issue_key", "jira_status", "jira_status_id", "jira_priority_id")


def _b(name: str, type_: Any = None) -> Any:
    return sa.bindparam(name, type_=type_)


@functools.cache
def _worker_statements(dialect: str) -> dict[str, Any]:
    """The worker's statements, built once per dialect (they run for every reconcile)."""
    c = incidents.c
    now = _b("now", sa.Float)
    owned = sa.and_(c.id == _b("row_id"), c.lease_owner == _b("owner"))
    due = (
        sa.select(c.id)
        .join(integrations, integrations.c.id == c.integration_id)
        .where(
            c.state == "pending",
            c.due_at <= now,
            sa.or_(c.lease_until.is_(None), c.lease_until < now),
            integrations.c.enabled.is_(True),
        )
        .order_by(c.due_at)
        .limit(_b("limit"))
    )
    if dialect == "postgresql":
        due = due.with_for_update(of=incidents, skip_locked=True)
    more = sa.or_(c.change_seq > _b("p_seq"), c.comment_seq > _b("p_comment_seq"))
    # bind names differ from column names: SQLAlchemy reserves those in UPDATE ... SET
    jira_state = {col: _b(f"p_{col}") for col in JIRA_STATE}
    return {
        "claim": incidents.update()
        .where(c.id.in_(due.scalar_subquery()))
        .values(lease_owner=_b("owner"), lease_until=_b("until", sa.Float))
        .returning(*incidents.c),
        "finish": incidents.update()
        .where(owned)
        .values(
            synced_seq=_b("p_seq"),
            comment_synced_seq=_b("p_comment_seq"),
            state=sa.case((more, "pending"), else_="idle"),
            pending_since=sa.case((more, now), else_=None),
            due_at=sa.case((more, now), else_=None),
            lease_owner=None,
            lease_until=None,
            attempts=0,
            last_error=None,
            last_synced_at=now,
            updated_at=now,
            **jira_state,
        )
        .returning(c.state),
        "fail": incidents.update()
        .where(owned)
        .values(
            state=_b("p_state"),
            due_at=_b("p_due_at", sa.Float),
            lease_owner=None,
            lease_until=None,
            last_error=_b("error"),
            attempts=c.attempts + 1,
            updated_at=now,
            **jira_state,
        ),
    }


def _statements(conn: AsyncConnection) -> dict[str, Any]:
    return _worker_statements(conn.dialect.name)


async def claim(engine: AsyncEngine, owner: str, limit: int, lease_seconds: float) -> list[dict]:
    """Take up to `limit` due incidents of enabled integrations; nobody else gets them until
    the lease ends (a crashed worker's incidents come back after `lease_seconds`)."""
    now = time.time()
    async with write(engine) as conn:
        params = dict(now=now, owner=owner, until=now + lease_seconds, limit=limit)
        return [dict(r) for r in (await conn.execute(_statements(conn)["claim"], params)).mappings()]


_COUNT_LINK = (
    integrations.update()
    .where(integrations.c.id == sa.select(incidents.c.integration_id).where(
        incidents.c.id == _b("row_id"), incidents.c.lease_owner == _b("owner"), incidents.c.jira_issue_id.is_(None),
    ).scalar_subquery())
    .values(synced_count=integrations.c.synced_count + 1)
)


@functools.cache
def _record_statement(columns: tuple[str, ...]) -> Any:
    c = incidents.c
    return (
        incidents.update()
        .where(c.id == _b("row_id"), c.lease_owner == _b("owner"))
        .values(updated_at=_b("now", sa.Float), **{col: _b(f"p_{col}") for col in columns})
    )


async def record_jira(engine: AsyncEngine, row_id: int, owner: str, **values: Any) -> bool:
    """Commit what Jira now holds at once (used around the create, where a crash must
    leave a trace: "creating" before the call, the issue id after). False = lease lost."""
    stmt = _record_statement(tuple(sorted(values)))
    async with write(engine) as conn:
        if values.get("jira_issue_id") is not None:
            # first link of this incident (and the lease still ours): one more synced
            await conn.execute(_COUNT_LINK, dict(row_id=row_id, owner=owner))
        params = {f"p_{col}": value for col, value in values.items()}
        res = await conn.execute(stmt, dict(row_id=row_id, owner=owner, now=time.time(), **params))
        return res.rowcount == 1


async def finish(engine: AsyncEngine, row: dict[str, Any], owner: str, log: list[dict]) -> bool:
    """Done with the snapshot we claimed (its change_seq/comment_seq, and the Jira state the
    reconcile left in `row`); stays pending, and returns True, if newer changes arrived."""
    params = dict(
        row_id=row["id"], owner=owner, now=time.time(), p_seq=row["change_seq"], p_comment_seq=row["comment_seq"],
        **{f"p_{col}": row[col] for col in JIRA_STATE},
    )
    async with write(engine) as conn:
        await _write_log(conn, row["id"], log)
        state = (await conn.execute(_statements(conn)["finish"], params)).scalar()
    return state == "pending"


async def fail(
    engine: AsyncEngine, row: dict[str, Any], owner: str, error: str, log: list[dict], *, retry_at: float | None
) -> None:
    """A transient failure (retry_at set: back off) or a permanent one (visible, waits for a
    person). What did reach Jira before the failure is kept."""
    params = dict(
        row_id=row["id"], owner=owner, now=time.time(), error=error[:4000],
        p_state="pending" if retry_at is not None else "failed", p_due_at=retry_at,
        **{f"p_{col}": row[col] for col in JIRA_STATE},
    )
    async with write(engine) as conn:
        await _write_log(conn, row["id"], log)
        await conn.execute(_statements(conn)["fail"], params)


async def _write_log(conn: AsyncConnection, row_id: int, log: list[dict]) -> None:
    if log:
        await conn.execute(exchanges.insert(), [dict(incident_row_id=row_id, **entry) for entry in log])


# ------------------------------------------------------------------ comments
async def comment_states(engine: AsyncEngine, row_id: int) -> dict[str, str]:
    async with engine.connect() as conn:
        res = await conn.execute(
            sa.select(comments.c.source_id, comments.c.state).where(comments.c.incident_row_id == row_id)
        )
        return {r.source_id: r.state for r in res}


async def mark_comment(engine: AsyncEngine, row_id: int, source_id: str, state: str, jira_id: str | None = None) -> None:
    async with write(engine) as conn:
        ins = _insert(conn, comments).values(
            incident_row_id=row_id, source_id=source_id, state=state, jira_comment_id=jira_id, created_at=time.time()
        )
        await conn.execute(
            ins.on_conflict_do_update(
                index_elements=[comments.c.incident_row_id, comments.c.source_id],
                set_={"state": state, "jira_comment_id": jira_id},
            )
        )


# ------------------------------------------------------------------ what an operator sees
async def queue_stats(conn: AsyncConnection, integration_id: int | None = None) -> dict[str, Any]:
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
    waiting = pending.pending - pending.in_flight
    return {
        "waiting": waiting,
        "in_flight": pending.in_flight,
        "failed": failed,
        "linked": linked,
        "oldest_waiting_age_seconds": round(now - pending.oldest, 3) if pending.oldest else 0.0,
        "all_synced": waiting == 0 and pending.in_flight == 0 and failed == 0,
    }



# ------------------------------------------------------------------ housekeeping
async def prune_history(engine: AsyncEngine, older_than: float) -> tuple[int, int]:
    """Delete deliveries and Jira exchanges recorded before `older_than` (unix seconds).

    Old deliveries are only needed to recognise a redelivery, which Flashduty makes within
    seconds; incidents, their links and comment records are kept whatever their age.
    """
    async with write(engine) as conn:
        gone_events = await conn.execute(events.delete().where(events.c.received_at < older_than))
        gone_exchanges = await conn.execute(exchanges.delete().where(exchanges.c.at < older_than))
        return gone_events.rowcount, gone_exchanges.rowcount
