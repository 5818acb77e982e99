"""The sync queue, the worker's side: claim due incidents under a lease, record what Jira
confirmed, and close each reconcile with finish (in step, or due again) or fail.

The one dialect branch is the claim (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite
serialises writers, so its plain UPDATE is already atomic). Every write after the claim
checks that the lease is still ours: a worker whose lease ran out never overwrites the
worker that took the incident over.
"""
from __future__ import annotations

import functools
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from . import pg_direct
from .db import json_dumps, read, write
from .incidents import IncidentRecord, JiraLink
from .queue import insert_for
from .sqlite_rows import ManyRows
from .jira_inbound import comment_row
from .tables import (LINK_SHARDS, comments, exchanges, incidents, integrations, jira_sites, link_counts,
                     mirrored_comments)


# What the worker learns about the issue while reconciling; written with finish/fail.
JIRA_STATE = ("jira_issue_key", "jira_status", "jira_status_id", "jira_priority_id", "jira_unverified",
              "jira_seen_status", "jira_seen_priority", "fd_written_progress", "fd_written_severity")
# and the link itself, committed as it changes (`record_jira`), except the issue a reconcile
# found or made when no comment is owed for it (sync/adopt.py `_linked`): then the closing
# write carries it (`first_link`)
LINK_STATE = ("create_state", "jira_issue_id", "create_floor", "create_sent_at")


def _b(name: str, type_: Any = None) -> Any:
    return sa.bindparam(name, type_=type_)


@functools.cache
def _worker_statements(dialect: str, with_link: bool = False) -> dict[str, Any]:
    """The worker's statements, built once per dialect (they run for every reconcile).
    `with_link`: finish and fail write the link's own columns too (LINK_STATE)."""
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
    more = sa.or_(c.change_seq > _b("p_seq"), c.comment_seq > _b("p_comment_seq"), c.jira_seq > _b("p_jira_seq"))
    # bind names differ from column names: SQLAlchemy reserves those in UPDATE ... SET
    jira_state = {col: _b(f"p_{col}") for col in JIRA_STATE + (LINK_STATE if with_link else ())}
    return {
        "claim": incidents.update()
        .where(c.id.in_(due.scalar_subquery()))
        # a lease still set is one whose worker never closed it (killed, or cut off from the
        # database) after writes it had not recorded: what the row says of Jira may be stale
        .values(lease_owner=_b("owner"), lease_until=_b("until", sa.Float),
                jira_unverified=sa.or_(c.jira_unverified, c.lease_until.is_not(None)))
        .returning(*incidents.c),
        "finish": incidents.update()
        .where(owned)
        .values(
            synced_seq=_b("p_seq"),
            comment_synced_seq=_b("p_comment_seq"),
            jira_synced_seq=_b("p_jira_seq"),
            state=sa.case((more, "pending"), else_="idle"),
            pending_since=sa.case((more, now), else_=None),
            due_at=sa.case((more, now), else_=None),
            lease_owner=None,
            lease_until=None,
            attempts=0,
            last_error=None,
            failing_since=None,
            last_synced_at=now,
            updated_at=now,
            **jira_state,
        )
        .returning(c.state),
        "fail": incidents.update()
        .where(owned)
        .values(
            state=_b("p_state"),
            # waiting for a site pause: only while the pause lasts (it may have ended, and its
            # waiting incidents resumed, while this reconcile still saw it)
            due_at=sa.case(
                (sa.and_(_b("p_pause", sa.String).is_not(None), ~sa.exists().where(
                    jira_sites.c.key == _b("p_pause", sa.String))), now),
                else_=_b("p_due_at", sa.Float)),
            lease_owner=None,
            lease_until=None,
            last_error=_b("error"),
            failing_since=_b("p_failing_since", sa.Float),
            attempts=c.attempts + _b("p_attempted", sa.Integer),
            updated_at=now,
            **jira_state,
        )
        .returning(c.state),
    }


def _statements(conn: AsyncConnection, with_link: bool = False) -> dict[str, Any]:
    return _worker_statements(conn.dialect.name, with_link)


async def claim(engine: AsyncEngine, owner: str, limit: int, lease_seconds: float) -> list[IncidentRecord]:
    """Take up to `limit` due incidents of enabled integrations; nobody else gets them until
    the lease ends (a crashed worker's incidents come back after `lease_seconds`)."""
    now = time.time()
    params = dict(now=now, owner=owner, until=now + lease_seconds, limit=limit)
    if engine.dialect.name == "postgresql":
        return [IncidentRecord.of(r) for r in await pg_direct.fetch(engine, _claim_postgresql(), params)]
    async with write(engine) as conn:
        return [IncidentRecord.of(r) for r in (await conn.direct(_statements(conn)["claim"], params)).rows]


@functools.cache
def _count_link(dialect: str) -> Any:
    """One more linked incident, in its shard of the integration's count (tables.link_counts),
    if this is the incident's first link and the lease is still ours."""
    c = incidents.c
    first_link = sa.select(c.integration_id, (c.id % LINK_SHARDS).label("shard"), sa.literal(1).label("linked")).where(
        c.id == _b("row_id"), c.lease_owner == _b("owner"), c.jira_issue_id.is_(None))
    insert = insert_for(dialect)(link_counts).from_select(["integration_id", "shard", "linked"], first_link)
    return insert.on_conflict_do_update(index_elements=[link_counts.c.integration_id, link_counts.c.shard],
                                        set_={"linked": link_counts.c.linked + 1})


@functools.cache
def _record_statement(columns: tuple[str, ...]) -> Any:
    c = incidents.c
    return (
        incidents.update()
        .where(c.id == _b("row_id"), c.lease_owner == _b("owner"))
        .values(updated_at=_b("now", sa.Float), **{col: _b(f"p_{col}") for col in columns})
    )


async def record_jira(engine: AsyncEngine, row_id: int, owner: str, *, comment_due: str | None = None,
                      **values: Any) -> bool:
    """Commit what Jira now holds at once (used around the create, where a crash must
    leave a trace: "creating" before the call, the issue id after). False = lease lost.
    `comment_due`: a comment to the Flashduty incident (its ref) this link owes, marked "due"
    in the same transaction, so a crash before it is posted cannot forget it (the issue-link
    comment; `jira_inbound.comment_states` reads it)."""
    columns = tuple(sorted(values))
    params = {f"p_{col}": value for col, value in values.items()}
    if engine.dialect.name == "postgresql":  # one statement (see "PostgreSQL" below)
        stmt = _record_postgresql(columns, first_link=values.get("jira_issue_id") is not None,
                                  comment_due=comment_due is not None, lazy=values.get("create_state") == "created")
        ref = comment_due[:128] if comment_due else None
        [(ours,)] = await pg_direct.fetch(engine, stmt, dict(row_id=row_id, owner=owner, now=time.time(), ref=ref, **params))
        return bool(ours)
    stmt = _record_statement(columns)
    # the "creating" mark is flushed before Jira is called (every commit is, on SQLite); a
    # crash after the create leaves the row as after a worker killed mid-call (create_state
    # "creating", no id), and the next reconcile finds the issue in Jira by its property
    async with write(engine) as conn:
        if values.get("jira_issue_id") is not None:
            # first link of this incident (and the lease still ours): one more synced
            await conn.direct(_count_link(conn.dialect.name), dict(row_id=row_id, owner=owner))
        res = await conn.direct(stmt, dict(row_id=row_id, owner=owner, now=time.time(), **params))
        if comment_due is not None and res.rowcount == 1:
            await conn.execute(comment_row(conn.dialect.name, row_id, comment_due, "due").on_conflict_do_nothing())
        return res.rowcount == 1


async def finish(engine: AsyncEngine, claimed: IncidentRecord, link: JiraLink, owner: str, log: list[dict], *,
                 first_link: bool = False) -> bool:
    """Done with the snapshot we claimed (its change_seq/comment_seq), leaving Jira as `link`
    says; stays pending, and returns True, if newer changes arrived meanwhile. `first_link`:
    `link` may carry an issue id not recorded yet (counted here if the row had none)."""
    params = dict(
        row_id=claimed.id, owner=owner, now=time.time(), p_seq=claimed.change_seq,
        p_comment_seq=claimed.comment_seq, p_jira_seq=claimed.jira_seq, **_link_params(link),
    )
    return await _closing(engine, "finish", claimed.id, log, params, first_link) == "pending"


async def fail(
    engine: AsyncEngine, claimed: IncidentRecord, link: JiraLink, owner: str, error: str, log: list[dict], *,
    retry_at: float | None, failing_since: float | None = None, pause: str | None = None, attempted: bool = True,
    first_link: bool = False,
) -> None:
    """A transient failure (retry_at set: back off), a wait for a site pause (`pause`: its key;
    due at once if that pause is gone by now), or a permanent failure (visible, waits for a
    person). `failing_since`: when this run of failures began. `attempted`: Jira was called.
    What did reach Jira before the failure is kept (`first_link` as in `finish`)."""
    params = dict(
        row_id=claimed.id, owner=owner, now=time.time(), error=error[:4000],
        p_state="pending" if retry_at is not None else "failed", p_due_at=retry_at, p_pause=pause,
        p_failing_since=failing_since, p_attempted=int(attempted), **_link_params(link),
    )
    await _closing(engine, "fail", claimed.id, log, params, first_link)


async def _closing(engine: AsyncEngine, name: str, row_id: int, log: list[dict], params: dict[str, Any],
                   first_link: bool) -> Any:
    """finish or fail, with the reconcile's Jira exchanges (and the link's count, if it may be
    the first): one statement on PostgreSQL (see "PostgreSQL" below), a transaction of a few
    on SQLite. Returns the row's new state."""
    if engine.dialect.name == "postgresql":
        stmt = _statements_postgresql(bool(log), first_link)[name]
        if log:
            params = params | {f"x_{col}": [json_dumps(e[col]) if col in _BODIES else e[col] for e in log]
                               for col in _EXCHANGE}
            params["x_row_id"] = row_id
        rows = await pg_direct.fetch(engine, stmt, params)
        return rows[0][0] if rows else None
    async with write(engine) as conn:
        if log:
            logged = [{**entry, "incident_row_id": row_id, **{col: json_dumps(entry[col]) for col in _BODIES}}
                      for entry in log]
            await conn.exec_driver_sql(_EXCHANGE_ROWS.sql(len(logged)), _EXCHANGE_ROWS.parameters(logged))
        if first_link and params["p_jira_issue_id"] is not None:  # counted before the row has its id
            await conn.direct(_count_link(conn.dialect.name), dict(row_id=row_id, owner=params["owner"]))
        rows = (await conn.direct(_statements(conn, first_link)[name], params)).rows
        return rows[0]["state"] if rows else None


def _link_params(link: JiraLink) -> dict[str, Any]:
    return {f"p_{col}": getattr(link, col) for col in JIRA_STATE + LINK_STATE}  # unused ones are ignored


# ------------------------------------------------------------------ PostgreSQL
# Each of the worker's writes is one statement, its own transaction (autocommit): one round
# trip, where a transaction costs four (BEGIN, SET LOCAL synchronous_commit, the statement,
# COMMIT). Under a storm of new incidents those round trips were a third of a worker's CPU
# (a system call on each end for each) and held row locks while they travelled; as single
# statements the workers used ~30% less CPU and drained the queue twice as fast
# (bench/run.py --storm). Several changes in one statement are data-modifying CTEs, which
# SQLite does not have: there the same writes are a transaction of a few statements, which
# cost no round trips.

def _lazy(rows: Any) -> Any:
    """`rows` (a CTE) joined to a one-row CTE that turns synchronous_commit off for this
    statement's transaction only: its commit returns before its WAL reaches the disk. For a
    write whose loss in a crash of the database server is harmless: the WAL is written in
    order, so the next flushed commit of any session makes it durable too; until then, a
    server crash undoes it as if it never happened. Every webhook waits for the disk, and
    fewer flushes queued ahead of it is what this is for (measured here: a flushed statement
    ~450 us, this one ~250 us). The setting is read at commit, so setting it during the
    statement is in time; the join references the CTE, so it is evaluated (an unreferenced
    SELECT in WITH is not). SQLite commits stay synced (synchronous NORMAL per transaction
    was tried: no measurable gain under the storm)."""
    lazy = sa.select(sa.func.set_config("synchronous_commit", "off", True).label("off")).cte("lazy")
    return rows.join(lazy, sa.true())


@functools.cache
def _claim_postgresql() -> Any:
    """The claim, not flushed: a claim lost in a database crash only returns the incidents to
    the queue, and nothing is sent to Jira on a claim's word before a flushed commit (the
    "creating" mark, a comment's "posting" mark), which makes the claim durable too."""
    claimed = _worker_statements("postgresql")["claim"].cte("claimed")
    return sa.select(*claimed.c).select_from(_lazy(claimed))


@functools.cache
def _record_postgresql(columns: tuple[str, ...], *, first_link: bool, comment_due: bool, lazy: bool) -> Any:
    """record_jira on PostgreSQL in one statement: the UPDATE (RETURNING the row if the lease
    is ours), and with it, from what it returned, the shard count of a first link (the row
    as it was before the UPDATE had no issue id: every part of one statement reads the same
    snapshot) and the comment marked due. Its result: 1 if the row was ours, else 0.
    `lazy`: not flushed. The "creating" mark is flushed before Jira is called; the issue id
    after the create need not be (lost in a database crash, the row is as after a worker
    killed mid-call, and the next reconcile finds the issue in Jira by its property)."""
    c = incidents.c
    up = _record_statement(columns).returning(c.id, c.integration_id, c.jira_issue_id).cte("up")
    query = sa.select(sa.func.count()).select_from(_lazy(up) if lazy else up)
    if first_link:
        query = query.add_cte(_count_first_link(up))
    if comment_due:
        m = mirrored_comments.c
        due = sa.select(up.c.id, sa.cast(_b("ref"), sa.String), sa.literal("due"), _b("now", sa.Float))
        query = query.add_cte(insert_for("postgresql")(mirrored_comments).from_select(
            [m.incident_row_id, m.ref, m.state, m.created_at], due).on_conflict_do_nothing().cte("due"))
    return query


def _count_first_link(updated: Any) -> Any:
    """A CTE: one more linked incident in its shard of `link_counts`, if the UPDATE in `updated`
    (RETURNING id, integration_id, jira_issue_id) gave the row its first issue id. The table
    itself, read in the same statement, still shows the row as it was before the UPDATE."""
    c = incidents.c
    was = sa.select(updated.c.integration_id, (updated.c.id % LINK_SHARDS).label("shard"),
                    sa.literal(1).label("linked")) \
        .join(incidents, c.id == updated.c.id).where(c.jira_issue_id.is_(None), updated.c.jira_issue_id.is_not(None))
    counted = insert_for("postgresql")(link_counts).from_select(["integration_id", "shard", "linked"], was)
    return counted.on_conflict_do_update(index_elements=[link_counts.c.integration_id, link_counts.c.shard],
                                         set_={"linked": link_counts.c.linked + 1}).cte("counted")


# an exchange's columns as arrays (the bodies as JSON text), for the statement below
_EXCHANGE = {"at": sa.Float, "method": sa.String, "path": sa.Text, "request_body": sa.Text, "status": sa.Integer,
             "response_body": sa.Text, "duration_ms": sa.Float}
_BODIES = ("request_body", "response_body")
# the exchanges of a reconcile, as one INSERT on SQLite (store/sqlite_rows.py), the bodies as
# JSON text (None as JSON's null, as the JSON column writes it)
_EXCHANGE_ROWS = ManyRows(exchanges.insert(), exchanges, ["incident_row_id", *_EXCHANGE])


@functools.cache
def _statements_postgresql(with_log: bool, first_link: bool = False) -> dict[str, Any]:
    """finish and fail, not flushed, with the INSERT of the exchanges (if any) and the count of
    a first link (if it may be one) in the same statement. Lost in a crash of the database
    server, the row is as after a worker killed before it recorded its outcome: still leased,
    so after the lease it is reconciled again, with what it says of Jira unverified (`claim`),
    so it reads the issue from Jira before it decides what to write (an issue id not recorded
    before is then found by its label, as after a create whose answer was lost). Only that
    reconcile's history would be missing."""
    c = incidents.c
    plain = _worker_statements("postgresql", first_link)
    closing = {name: plain[name].returning(c.id, c.integration_id, c.jira_issue_id).cte("closed")
               for name in ("finish", "fail")}
    statements = {name: sa.select(closed.c.state).select_from(_lazy(closed)) for name, closed in closing.items()}
    if first_link:
        statements = {name: statements[name].add_cte(_count_first_link(closed)) for name, closed in closing.items()}
    if not with_log:
        return statements
    arrays = [sa.bindparam(f"x_{n}", type_=postgresql.ARRAY(t)) for n, t in _EXCHANGE.items()]
    rows = sa.select(sa.func.unnest(*arrays).table_valued(*_EXCHANGE, with_ordinality="n")
                     .render_derived(name="x")).subquery("rows")
    cols = [rows.c[n] if n not in _BODIES else sa.cast(rows.c[n], sa.JSON) for n in _EXCHANGE]
    in_order = sa.select(sa.cast(_b("x_row_id"), sa.Integer), *cols).order_by(rows.c.n)  # ids in the order sent
    logged = exchanges.insert().from_select(["incident_row_id", *_EXCHANGE], in_order).cte("logged")
    return {name: statement.add_cte(logged) for name, statement in statements.items()}


# ------------------------------------------------------------------ comments
async def comment_states(engine: AsyncEngine, row_id: int) -> dict[str, str]:
    async with read(engine) as conn:
        res = await conn.execute(
            sa.select(comments.c.source_id, comments.c.state).where(comments.c.incident_row_id == row_id)
        )
        return {r.source_id: r.state for r in res}


async def mark_comment(engine: AsyncEngine, row_id: int, source_id: str, state: str, jira_id: str | None = None) -> None:
    async with write(engine) as conn:
        ins = insert_for(conn.dialect.name)(comments).values(
            incident_row_id=row_id, source_id=source_id, state=state, jira_comment_id=jira_id, created_at=time.time()
        )
        await conn.execute(
            ins.on_conflict_do_update(
                index_elements=[comments.c.incident_row_id, comments.c.source_id],
                set_={"state": state, "jira_comment_id": jira_id},
            )
        )
