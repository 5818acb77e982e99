"""Accepting webhook deliveries: the ingest's group commit writes a batch of them here.

Each delivery is recorded once (the unique (integration_id, event_id) makes a redelivery a
no-op, within a batch too) and folded into its incident's row: the row keeps the newest
snapshot by event_time (events arrive out of order) and becomes pending once the trigger
has fired; later changes only add to change_seq, so ten changes while Jira is down coalesce
into one reconcile.

This is the hot path (a storm is thousands of deliveries a second), so each database gets
the shape that costs it least, with the same merge rules (`_merge_on_conflict`):
- SQLite: two multi-row statements in the caller's transaction, run on the driver with a
  flat tuple of values (`sqlite_rows.py`); the incident rows are folded in Python.
- PostgreSQL: one statement, the whole batch as one array per column: insert the events,
  fold the fresh ones per incident (DISTINCT ON, window counts), upsert the incidents, wake
  the workers. A single statement is its own transaction, so `accept_batch` runs it without
  BEGIN and COMMIT: one round trip per batch instead of five.
Rows are written in key order, so concurrent batches on PostgreSQL cannot deadlock.
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.incident import COMMENT_EVENTS, WebhookEvent
from . import pg_direct
from .db import Engine, json_dumps, write
from .notify import WAKE_CHANNEL
from .sqlite_rows import ManyRows
from .tables import events, incidents


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


async def accept_batch(engine: Engine, batch: list[Incoming]) -> list[Accepted]:
    """Write a batch on its own, committed when this returns (the ingest answers 200 only then).
    SQLite: a write transaction that goes before the worker's; PostgreSQL: one statement, run on
    the driver directly (`pg_direct.py`)."""
    if engine.dialect.name == "postgresql":
        return await _accept_postgresql(functools.partial(pg_direct.fetch, engine), batch) if batch else []
    async with write(engine, urgent=True) as conn:
        return await accept_events(conn, batch)


async def accept_events(conn: AsyncConnection, batch: list[Incoming]) -> list[Accepted]:
    """Record deliveries and fold them into their incidents' rows (in the caller's transaction,
    if it has one); one answer per delivery, in order."""
    if not batch:  # a multi-row statement of no rows is not SQL
        return []
    if conn.dialect.name == "postgresql":
        return await _accept_postgresql(conn.execute, batch)
    now, first, unique = _keys(batch)
    inserted, states = await _write_sqlite(conn, batch, unique, now)
    return _answers(batch, first, inserted, states)


async def _accept_postgresql(execute: Callable[[Any, dict[str, Any]], Awaitable[Any]],
                             batch: list[Incoming]) -> list[Accepted]:
    """The batch as one statement, run by `execute` (the caller's connection, or the driver)."""
    now, first, unique = _keys(batch)
    rows = await execute(_postgresql_statement(), _postgresql_params(batch, unique, now))
    return _answers(batch, first, *_postgresql_result(rows))


def _keys(batch: list[Incoming]) -> tuple[float, dict[tuple[int, str], int], list[int]]:
    """The time of the write; each delivery's key (integration, event id) with the index of its
    first delivery in the batch; those indexes in key order."""
    first: dict[tuple[int, str], int] = {}
    for i, item in enumerate(batch):
        first.setdefault((item.integration_id, item.event.event_id), i)
    return time.time(), first, [i for _, i in sorted(first.items())]


def _answers(batch: list[Incoming], first: dict[tuple[int, str], int], inserted: Keys,
             states: States) -> list[Accepted]:
    fresh = {i for key, i in first.items() if key in inserted}
    results = []
    for i, item in enumerate(batch):
        if i not in fresh:
            results.append(Accepted(duplicate=True, queued=False, incident_row_id=None))
            continue
        row_id, state = states[(item.integration_id, item.event.incident.incident_id)]
        results.append(Accepted(duplicate=False, queued=state == "pending", incident_row_id=row_id))
    return results


EVENT_COLUMNS = ["integration_id", "event_id", "incident_id", "event_type", "event_time", "received_at", "outcome"]
INCIDENT_COLUMNS = ["integration_id", "incident_id", "snapshot", "snapshot_time", "title", "severity", "progress",
                    "activated", "change_seq", "comment_seq", "state", "pending_since", "due_at", "created_at",
                    "updated_at"]
Keys = set[tuple[int, str]]
States = dict[tuple[int, str], tuple[int, str]]  # (integration, incident id) -> (row id, state)


def _merge_on_conflict(insert: Any) -> Any:
    """The incident upsert's rules, the same on both databases: `excluded` is this batch's
    row for the incident (its newest snapshot, how many changes and comments it brings)."""
    old, new = incidents.c, insert.excluded
    # "now" is the batch's time, carried in each row as its updated_at (no parameter of its own)
    now = new.updated_at
    newer = new.snapshot_time >= old.snapshot_time
    active = sa.or_(old.activated, new.activated)
    wakes = sa.and_(active, old.state == "idle")
    return insert.on_conflict_do_update(
        index_elements=[old.integration_id, old.incident_id],
        set_={
            "snapshot": sa.case((newer, new.snapshot), else_=old.snapshot),
            "title": sa.case((newer, new.title), else_=old.title),
            "severity": sa.case((newer, new.severity), else_=old.severity),
            "progress": sa.case((newer, new.progress), else_=old.progress),
            "snapshot_time": sa.case((newer, new.snapshot_time), else_=old.snapshot_time),
            "activated": active,
            "change_seq": old.change_seq + new.change_seq,
            "comment_seq": old.comment_seq + new.comment_seq,
            "state": sa.case((wakes, "pending"), else_=old.state),
            "pending_since": sa.case((wakes, now), else_=old.pending_since),
            "due_at": sa.case((wakes, now), else_=old.due_at),
            "updated_at": now,
        },
    ).returning(incidents.c.id, incidents.c.state, incidents.c.integration_id, incidents.c.incident_id)


def _event_row(item: Incoming, now: float) -> dict[str, Any]:
    event = item.event
    return dict(integration_id=item.integration_id, event_id=event.event_id, incident_id=event.incident.incident_id,
                event_type=event.event_type[:32], event_time=event.event_time, received_at=now, outcome=item.outcome)


# ------------------------------------------------------------------ SQLite
@functools.cache
def _sqlite_statements() -> tuple[ManyRows, ManyRows]:
    new_events = sqlite.insert(events).on_conflict_do_nothing().returning(events.c.integration_id, events.c.event_id)
    return (ManyRows(new_events, events, EVENT_COLUMNS),
            ManyRows(_merge_on_conflict(sqlite.insert(incidents)), incidents, INCIDENT_COLUMNS))


async def _write_sqlite(conn: AsyncConnection, batch: list[Incoming], unique: list[int],
                        now: float) -> tuple[Keys, States]:
    new_events, upsert = _sqlite_statements()
    rows = [_event_row(batch[i], now) for i in unique]
    inserted = {(r[0], r[1]) for r in await conn.exec_driver_sql(new_events.sql(len(rows)), new_events.parameters(rows))}
    merged: dict[tuple[int, str], dict[str, Any]] = {}
    fresh = [i for i in unique if (batch[i].integration_id, batch[i].event.event_id) in inserted]
    for i in sorted(fresh):  # arrival order: on equal event_time the later one wins, as one by one
        _fold(merged, batch[i], now)
    if not merged:
        return inserted, {}
    rows = [merged[k] for k in sorted(merged)]
    result = await conn.exec_driver_sql(upsert.sql(len(rows)), upsert.parameters(rows))
    return inserted, {(r.integration_id, r.incident_id): (r.id, r.state) for r in result}


def _fold(merged: dict[tuple[int, str], dict[str, Any]], item: Incoming, now: float) -> None:
    """Add one fresh event to its incident's upsert row."""
    event, snap = item.event, item.event.incident
    key = (item.integration_id, snap.incident_id)
    row = merged.get(key)
    if row is None:
        row = merged[key] = dict(
            integration_id=item.integration_id, incident_id=snap.incident_id, activated=False,
            change_seq=0, comment_seq=0, snapshot_time=-1, created_at=now, updated_at=now,
        )
    row["change_seq"] += 1
    row["comment_seq"] += event.event_type in COMMENT_EVENTS
    row["activated"] = row["activated"] or item.activate
    if "snapshot" not in row or event.event_time >= row["snapshot_time"]:
        row.update(snapshot=json_dumps(snap.to_json()), snapshot_time=event.event_time, **_texts(item))
    active = row["activated"]
    row.update(state="pending" if active else "idle", pending_since=now if active else None, due_at=now if active else None)


def _texts(item: Incoming) -> dict[str, str]:
    snap = item.event.incident
    return dict(title=snap.title[:1000], severity=snap.severity[:16], progress=snap.progress[:16])


# ------------------------------------------------------------------ PostgreSQL
# the batch as arrays: each delivery's event row, its snapshot and what it brings its incident
_BATCH = {"integration_id": sa.Integer, "event_id": sa.String, "incident_id": sa.String, "event_type": sa.String,
          "event_time": sa.BigInteger, "received_at": sa.Float, "outcome": sa.String, "snapshot": sa.Text,
          "title": sa.Text, "severity": sa.String, "progress": sa.String, "activate": sa.Boolean,
          "is_comment": sa.Integer, "arrival": sa.Integer}


@functools.cache
def _postgresql_statement() -> Any:
    """WITH batch AS (unnest of the arrays), fresh AS (INSERT INTO events ... RETURNING),
    folded AS (the fresh events per incident: the newest snapshot, ties to the later arrival,
    with how many changes, comments and whether any activates), up AS (the incident upsert
    RETURNING), then one result: the fresh events, the incidents' states, and the NOTIFY
    that wakes the workers when one is pending (sent when the statement commits)."""
    arrays = [sa.bindparam(f"a_{n}", type_=postgresql.ARRAY(t)) for n, t in _BATCH.items()]
    b = sa.select(sa.func.unnest(*arrays).table_valued(*_BATCH).render_derived(name="rows")).cte("batch")
    fresh = (postgresql.insert(events)
             .from_select(EVENT_COLUMNS, sa.select(*[b.c[n] for n in EVENT_COLUMNS])
                          .order_by(b.c.integration_id, b.c.event_id))
             .on_conflict_do_nothing()
             .returning(events.c.integration_id, events.c.event_id)
             .cte("fresh"))
    per_incident = dict(partition_by=[b.c.integration_id, b.c.incident_id])
    folded = (sa.select(b.c.integration_id, b.c.incident_id, b.c.snapshot, b.c.event_time, b.c.title, b.c.severity,
                        b.c.progress,
                        sa.func.bool_or(b.c.activate).over(**per_incident).label("activated"),
                        sa.cast(sa.func.count().over(**per_incident), sa.Integer).label("changes"),
                        sa.cast(sa.func.sum(b.c.is_comment).over(**per_incident), sa.Integer).label("comments"))
              .join_from(b, fresh, sa.and_(fresh.c.integration_id == b.c.integration_id,
                                           fresh.c.event_id == b.c.event_id))
              .ext(postgresql.distinct_on(b.c.integration_id, b.c.incident_id))
              .order_by(b.c.integration_id, b.c.incident_id, b.c.event_time.desc(), b.c.arrival.desc())
              .cte("folded"))
    f, now = folded.c, sa.cast(sa.bindparam("now", type_=sa.Float), sa.Float)
    rows = sa.select(
        f.integration_id, f.incident_id, sa.cast(f.snapshot, sa.JSON), f.event_time, f.title, f.severity, f.progress,
        f.activated, f.changes, f.comments, sa.case((f.activated, "pending"), else_="idle"),
        sa.case((f.activated, now)), sa.case((f.activated, now)), now, now,
    ).order_by(f.integration_id, f.incident_id)
    up = _merge_on_conflict(postgresql.insert(incidents).from_select(INCIDENT_COLUMNS, rows)).cte("up")
    woken = (sa.select(sa.func.pg_notify(WAKE_CHANNEL, "").label("notified"))
             .where(sa.exists().where(up.c.state == "pending")).subquery("woken"))
    no_id, no_state = sa.cast(sa.null(), sa.Integer), sa.cast(sa.null(), sa.String)
    return sa.union_all(
        sa.select(sa.literal_column("'event'").label("kind"), fresh.c.integration_id, fresh.c.event_id.label("key"),
                  no_id.label("id"), no_state.label("state")),
        sa.select(sa.literal_column("'incident'"), up.c.integration_id, up.c.incident_id, up.c.id, up.c.state),
        sa.select(sa.literal_column("'woken'"), sa.cast(sa.null(), sa.Integer), sa.cast(sa.null(), sa.String), no_id,
                  no_state).select_from(woken),
    )


def _postgresql_params(batch: list[Incoming], unique: list[int], now: float) -> dict[str, Any]:
    columns: dict[str, list[Any]] = {n: [] for n in _BATCH}
    for i in unique:
        item = batch[i]
        for name, value in _event_row(item, now).items():
            columns[name].append(value)
        for name, value in _texts(item).items():
            columns[name].append(value)
        columns["snapshot"].append(json_dumps(item.event.incident.to_json()))
        columns["activate"].append(item.activate)
        columns["is_comment"].append(int(item.event.event_type in COMMENT_EVENTS))
        columns["arrival"].append(i)
    params: dict[str, Any] = {f"a_{n}": values for n, values in columns.items()}
    params["now"] = now
    return params


def _postgresql_result(rows: Any) -> tuple[Keys, States]:
    inserted: Keys = set()
    states: States = {}
    for kind, integration_id, key, row_id, state in rows:
        if kind == "event":
            inserted.add((integration_id, key))
        elif kind == "incident":
            states[(integration_id, key)] = (row_id, state)
    return inserted, states
