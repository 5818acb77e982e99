"""Two-way sync at rest: Jira's events (hints) accepted once each, the decisions the sync made,
comments written to Flashduty, Flashduty reads folded into the snapshot, the polling cursor."""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .db import read, write
from .integrations import IntegrationRow, _row, row_columns
from .notify import wake_workers
from .queue import insert_for
from .tables import incidents, integrations, jira_events, jira_poll_state, mirrored_comments


@dataclass(frozen=True, slots=True)
class Hint:
    """One thing Jira told us about an issue: a webhook delivery or a change polling found."""

    integration_id: int
    delivery_id: str  # X-Atlassian-Webhook-Identifier, a hash of an unsigned body, poll:<issue>:<updated>
    issue_id: str | None
    issue_key: str | None
    source: str  # webhook | poll
    kind: str  # webhookEvent, or "changed"
    actor: str | None  # accountId (Cloud) or user name (Server/DC) of who made the change
    ours: bool  # made by the integration's own Jira account: an echo, not queued


@dataclass(frozen=True, slots=True)
class JiraEventRecord:
    id: int
    source: str
    kind: str
    actor: str | None
    received_at: float
    outcome: str
    note: str | None


async def accept_hint(conn: AsyncConnection, hint: Hint) -> str:
    """Record the hint once and queue its incident, in the caller's transaction. Returns the
    outcome: duplicate | not_linked | echo | queued | stored (a failed incident: kept for retry)."""
    c = incidents.c
    row = None
    if hint.issue_id or hint.issue_key:
        which = c.jira_issue_id == hint.issue_id if hint.issue_id else c.jira_issue_key == hint.issue_key
        row = (await conn.execute(sa.select(c.id, c.state).where(c.integration_id == hint.integration_id, which)
                                  .limit(1))).first()
    outcome = "not_linked" if row is None else "echo" if hint.ours else "queued" if row.state != "failed" else "stored"
    note = {"not_linked": "no incident is linked to this issue", "echo": "made by jira-sync's own Jira account",
            "stored": "the incident is failed: applied when it is retried"}.get(outcome)
    insert = insert_for(conn.dialect.name)
    res = await conn.execute(insert(jira_events).values(
        integration_id=hint.integration_id, delivery_id=hint.delivery_id[:128], issue_id=(hint.issue_id or "")[:32] or None,
        incident_row_id=row.id if row else None, source=hint.source, kind=hint.kind[:64],
        actor=(hint.actor or "")[:255] or None, received_at=time.time(), outcome=outcome, note=note,
    ).on_conflict_do_nothing())
    if res.rowcount == 0:
        return "duplicate"
    if row is not None and not hint.ours:
        now = time.time()
        idle = c.state == "idle"
        await conn.execute(incidents.update().where(c.id == row.id).values(
            jira_seq=c.jira_seq + 1, state=sa.case((idle, "pending"), else_=c.state),
            pending_since=sa.case((idle, now), else_=c.pending_since),
            due_at=sa.case((idle, now), else_=c.due_at), updated_at=now))
        if row.state == "idle":
            await wake_workers(conn)
    return outcome


async def note(engine: AsyncEngine, integration_id: int, row_id: int, outcome: str, text: str) -> None:
    """A decision of the inbound sync, on the incident's timeline."""
    async with write(engine) as conn:
        await conn.execute(jira_events.insert().values(
            integration_id=integration_id, delivery_id=f"sync:{uuid.uuid4().hex}", incident_row_id=row_id,
            source="sync", kind="decision", received_at=time.time(), outcome=outcome[:32], note=text))


async def timeline(conn: AsyncConnection, row_id: int, limit: int = 200) -> list[JiraEventRecord]:
    c = jira_events.c
    rows = await conn.execute(sa.select(c.id, c.source, c.kind, c.actor, c.received_at, c.outcome, c.note)
                              .where(c.incident_row_id == row_id).order_by(c.id.desc()).limit(limit))
    return [JiraEventRecord(**dict(r._mapping)) for r in reversed(list(rows))]


# ------------------------------------------------------------------ Flashduty reads, comments
async def fold_snapshot(engine: AsyncEngine, row_id: int, owner: str, snapshot: dict[str, Any], time_ms: int) -> bool:
    """What Flashduty holds after our write, read back: it replaces the snapshot if newer (the
    same newest-wins rule as the intake), so the next reconcile does not undo what Jira did."""
    c = incidents.c
    async with write(engine) as conn:
        res = await conn.execute(incidents.update().where(
            c.id == row_id, c.lease_owner == owner, c.snapshot_time < time_ms).values(
            snapshot=snapshot, snapshot_time=time_ms, title=str(snapshot.get("title") or "")[:1000],
            severity=str(snapshot.get("severity") or "")[:16],
            progress=str(snapshot.get("progress") or "")[:16], updated_at=time.time()))
        return res.rowcount == 1


async def comment_states(engine: AsyncEngine, row_id: int) -> dict[str, str]:
    async with read(engine) as conn:
        rows = await conn.execute(sa.select(mirrored_comments.c.ref, mirrored_comments.c.state)
                                  .where(mirrored_comments.c.incident_row_id == row_id))
        return {r.ref: r.state for r in rows}


def comment_row(dialect: str, row_id: int, ref: str, state: str) -> Any:
    """The INSERT of a comment's state row (callers add what happens on conflict)."""
    return insert_for(dialect)(mirrored_comments).values(
        incident_row_id=row_id, ref=ref[:128], state=state, created_at=time.time())


async def mark_comment(engine: AsyncEngine, row_id: int, ref: str, state: str) -> None:
    async with write(engine) as conn:
        await conn.execute(comment_row(conn.dialect.name, row_id, ref, state).on_conflict_do_update(
            index_elements=[mirrored_comments.c.incident_row_id, mirrored_comments.c.ref], set_={"state": state}))


# ------------------------------------------------------------------ polling
@dataclass(frozen=True, slots=True)
class PollState:
    integration_id: int
    lease_owner: str | None
    lease_until: float | None
    next_run_at: float
    cursor: float | None
    last_finished_at: float | None
    last_error: str | None
    last_report: dict[str, Any] | None

    @classmethod
    def of(cls, row: Any) -> "PollState":
        return cls(**dict(row._mapping))


async def poll_candidates(conn: AsyncConnection) -> list[IntegrationRow]:
    q = sa.select(*row_columns()).where(integrations.c.enabled.is_(True)).order_by(integrations.c.id)
    return [_row(r) for r in await conn.execute(q)]


async def claim_poll(conn: AsyncConnection, integration_id: int, owner: str, now: float, lease: float
                     ) -> PollState | None:
    insert = insert_for(conn.dialect.name)
    await conn.execute(insert(jira_poll_state).values(integration_id=integration_id, next_run_at=now)
                       .on_conflict_do_nothing())
    c = jira_poll_state.c
    res = await conn.execute(
        jira_poll_state.update().where(c.integration_id == integration_id, c.next_run_at <= now,
                                       sa.or_(c.lease_until.is_(None), c.lease_until < now))
        .values(lease_owner=owner, lease_until=now + lease).returning(*jira_poll_state.c))
    row = res.first()
    return PollState.of(row) if row else None


async def finish_poll(conn: AsyncConnection, integration_id: int, owner: str, *, next_run_at: float,
                      cursor: float | None, error: str | None, report: dict[str, Any]) -> None:
    c = jira_poll_state.c
    values: dict[str, Any] = dict(lease_owner=None, lease_until=None, next_run_at=next_run_at,
                                  last_finished_at=time.time(), last_error=error, last_report=report)
    if cursor is not None:
        values["cursor"] = cursor
    await conn.execute(jira_poll_state.update().where(c.integration_id == integration_id, c.lease_owner == owner)
                       .values(**values))


async def poll_state(conn: AsyncConnection, integration_id: int) -> PollState | None:
    row = (await conn.execute(sa.select(jira_poll_state).where(jira_poll_state.c.integration_id == integration_id))
           ).first()
    return PollState.of(row) if row else None


async def linked_issues(conn: AsyncConnection, integration_id: int, issue_ids: list[str]) -> set[str]:
    if not issue_ids:
        return set()
    c = incidents.c
    rows = await conn.execute(sa.select(c.jira_issue_id).where(c.integration_id == integration_id,
                                                               c.jira_issue_id.in_(issue_ids)))
    return {r.jira_issue_id for r in rows}
