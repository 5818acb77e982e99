"""Recovery of missed webhooks at rest: each integration's run lease, history cursor and last
report (`tables.recovery_state`), and the open incidents the sweep compares."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from .integrations import IntegrationRow, _row, row_columns
from .queue import insert_for
from .tables import incidents, integrations, recovery_state


@dataclass(frozen=True, slots=True)
class RecoveryState:
    integration_id: int
    lease_owner: str | None
    lease_until: float | None
    next_run_at: float
    history_until_ms: int | None
    last_started_at: float | None
    last_finished_at: float | None
    last_error: str | None
    last_report: dict[str, Any] | None
    recovered_total: int

    @classmethod
    def of(cls, row: Any) -> "RecoveryState":
        return cls(**dict(row._mapping))


@dataclass(frozen=True, slots=True)
class OpenIncident:
    row_id: int
    incident_id: str
    updated_at: int  # Flashduty's, from the stored snapshot (0 = not known)
    snapshot_time: int  # ms: the event time of the stored snapshot


async def candidates(conn: AsyncConnection) -> list[IntegrationRow]:
    """Enabled integrations with a Flashduty app key (their configuration says the rest)."""
    q = sa.select(*row_columns()).where(integrations.c.enabled.is_(True),
                                      integrations.c.flashduty_app_key_enc.is_not(None))
    return [_row(r) for r in await conn.execute(q.order_by(integrations.c.id))]


async def ensure(conn: AsyncConnection, integration_ids: list[int], now: float) -> None:
    """A state row for each integration (the first run is due at once)."""
    if not integration_ids:
        return
    insert = insert_for(conn.dialect.name)
    rows = [{"integration_id": i, "next_run_at": now} for i in sorted(integration_ids)]
    await conn.execute(insert(recovery_state).on_conflict_do_nothing(), rows)


async def claim(conn: AsyncConnection, integration_id: int, owner: str, now: float, lease: float
                ) -> RecoveryState | None:
    """Take the integration's run if it is due and no other process holds it."""
    c = recovery_state.c
    res = await conn.execute(
        recovery_state.update()
        .where(c.integration_id == integration_id, c.next_run_at <= now,
               sa.or_(c.lease_until.is_(None), c.lease_until < now))
        .values(lease_owner=owner, lease_until=now + lease, last_started_at=now)
        .returning(*recovery_state.c)
    )
    row = res.first()
    return RecoveryState.of(row) if row else None


async def finish(conn: AsyncConnection, integration_id: int, owner: str, *, next_run_at: float,
                 history_until_ms: int | None, finished_at: float, error: str | None,
                 report: dict[str, Any], recovered: int) -> bool:
    c = recovery_state.c
    values: dict[str, Any] = dict(
        lease_owner=None, lease_until=None, next_run_at=next_run_at, last_finished_at=finished_at,
        last_error=error, last_report=report, recovered_total=c.recovered_total + recovered,
    )
    if history_until_ms is not None:
        values["history_until_ms"] = history_until_ms
    res = await conn.execute(
        recovery_state.update().where(c.integration_id == integration_id, c.lease_owner == owner).values(**values)
    )
    return res.rowcount == 1


async def all_due(conn: AsyncConnection, integration_ids: list[int], now: float) -> None:
    """Make these integrations' next runs due now (a process has just started: it may have
    been down, and what Flashduty failed to deliver meanwhile is best fetched at once)."""
    c = recovery_state.c
    await conn.execute(recovery_state.update().where(c.integration_id.in_(sorted(integration_ids)), c.next_run_at > now)
                       .values(next_run_at=now))


async def request_run(conn: AsyncConnection, integration_id: int, now: float) -> None:
    """Make the next run due now (a person asked)."""
    await ensure(conn, [integration_id], now)
    await conn.execute(recovery_state.update().where(recovery_state.c.integration_id == integration_id)
                       .values(next_run_at=now))


async def get(conn: AsyncConnection, integration_id: int) -> RecoveryState | None:
    row = (await conn.execute(sa.select(recovery_state).where(recovery_state.c.integration_id == integration_id))).first()
    return RecoveryState.of(row) if row else None


async def all_states(conn: AsyncConnection) -> list[RecoveryState]:
    rows = await conn.execute(sa.select(recovery_state).order_by(recovery_state.c.integration_id))
    return [RecoveryState.of(r) for r in rows]


async def open_incidents(conn: AsyncConnection, integration_id: int, after_row_id: int, limit: int
                         ) -> list[OpenIncident]:
    """Incidents whose stored snapshot is not Closed, by row id (an index range)."""
    c = incidents.c
    rows = await conn.execute(
        sa.select(c.id, c.incident_id, c.snapshot, c.snapshot_time)
        .where(c.integration_id == integration_id, c.progress != "Closed", c.id > after_row_id)
        .order_by(c.id).limit(limit)
    )
    return [OpenIncident(r.id, r.incident_id, _int((r.snapshot or {}).get("updated_at")), r.snapshot_time)
            for r in rows]


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
