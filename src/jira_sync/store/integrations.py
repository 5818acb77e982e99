"""Integrations at rest: configuration as JSON, credentials encrypted, webhook secret hashed."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..crypto import SecretBox
from ..domain.integration import IntegrationConfig
from .tables import events, incidents, integrations


@dataclass(frozen=True, slots=True)
class StoredIntegration:
    id: int
    config: IntegrationConfig  # with secrets decrypted: never serialise this to a client
    jira_meta: dict[str, Any]
    webhook_secret_hash: str
    created_at: float
    updated_at: float

    @property
    def enabled(self) -> bool:
        return self.config.enabled


def _public_config(cfg: IntegrationConfig) -> dict[str, Any]:
    data = cfg.model_dump(mode="json", exclude={"jira": {"secret"}, "flashduty": {"app_key"}})
    return data


def _row_values(cfg: IntegrationConfig, box: SecretBox) -> dict[str, Any]:
    app_key = cfg.flashduty.app_key
    return dict(
        name=cfg.name,
        enabled=cfg.enabled,
        config=_public_config(cfg),
        jira_secret_enc=box.encrypt(cfg.jira.secret.get_secret_value()),
        flashduty_app_key_enc=box.encrypt(app_key.get_secret_value()) if app_key else None,
    )


def from_row(row: Any, box: SecretBox) -> StoredIntegration:
    data = dict(row.config)
    data["enabled"] = row.enabled
    data["jira"] = {**data["jira"], "secret": box.decrypt(row.jira_secret_enc)}
    if row.flashduty_app_key_enc:
        data["flashduty"] = {**data.get("flashduty", {}), "app_key": box.decrypt(row.flashduty_app_key_enc)}
    return StoredIntegration(
        id=row.id,
        config=IntegrationConfig.model_validate(data),
        jira_meta=dict(row.jira_meta or {}),
        webhook_secret_hash=row.webhook_secret_hash,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def insert(
    conn: AsyncConnection, cfg: IntegrationConfig, box: SecretBox, webhook_hash: str, meta: dict[str, Any]
) -> int:
    now = time.time()
    res = await conn.execute(
        integrations.insert().values(
            **_row_values(cfg, box), webhook_secret_hash=webhook_hash, jira_meta=meta, created_at=now, updated_at=now
        )
    )
    return int(res.inserted_primary_key[0])


async def _update(conn: AsyncConnection, integration_id: int, **values: Any) -> bool:
    """Change a row; every change moves updated_at, which retires cached clients and triggers."""
    res = await conn.execute(
        integrations.update().where(integrations.c.id == integration_id).values(updated_at=time.time(), **values)
    )
    return res.rowcount == 1


async def update(conn: AsyncConnection, integration_id: int, cfg: IntegrationConfig, box: SecretBox, meta: dict) -> bool:
    return await _update(conn, integration_id, **_row_values(cfg, box), jira_meta=meta)


async def set_enabled(conn: AsyncConnection, integration_id: int, enabled: bool) -> bool:
    return await _update(conn, integration_id, enabled=enabled)


async def set_webhook_hash(conn: AsyncConnection, integration_id: int, webhook_hash: str) -> bool:
    return await _update(conn, integration_id, webhook_secret_hash=webhook_hash)


async def delete(conn: AsyncConnection, integration_id: int) -> bool:
    # explicit child deletes: SQLite only cascades when foreign_keys=ON on that connection
    await conn.execute(events.delete().where(events.c.integration_id == integration_id))
    await conn.execute(incidents.delete().where(incidents.c.integration_id == integration_id))
    res = await conn.execute(integrations.delete().where(integrations.c.id == integration_id))
    return res.rowcount == 1


async def get_row(conn: AsyncConnection, integration_id: int) -> Any | None:
    return (await conn.execute(sa.select(integrations).where(integrations.c.id == integration_id))).first()


async def get(conn: AsyncConnection, integration_id: int, box: SecretBox) -> StoredIntegration | None:
    row = await get_row(conn, integration_id)
    return from_row(row, box) if row else None


async def get_rows(conn: AsyncConnection, ids: set[int]) -> dict[int, Any]:
    rows = await conn.execute(sa.select(integrations).where(integrations.c.id.in_(sorted(ids))))
    return {r.id: r for r in rows}


async def find_by_name(conn: AsyncConnection, name: str) -> Any | None:
    return (await conn.execute(sa.select(integrations).where(integrations.c.name == name))).first()


async def list_rows(conn: AsyncConnection) -> list[Any]:
    return list((await conn.execute(sa.select(integrations).order_by(integrations.c.id))).all())


async def summary(conn: AsyncConnection, integration_id: int) -> dict[str, Any]:
    """Counters for lists: last event received, incidents synced, failures, last error.

    Each is a single row or an index range (the synced count is kept by the worker, the
    failed and errored rows have indexes of their own), so a list page costs the same at
    100k incidents as at 1k, not a walk over all of them.
    """
    c = incidents.c
    mine = c.integration_id == integration_id
    last_event = await conn.scalar(sa.select(sa.func.max(events.c.received_at)).where(events.c.integration_id == integration_id))
    synced = await conn.scalar(sa.select(integrations.c.synced_count).where(integrations.c.id == integration_id)) or 0
    failed = await conn.scalar(sa.select(sa.func.count()).where(mine, c.state == "failed"))
    last_error = await conn.scalar(
        sa.select(c.last_error).where(mine, c.last_error.is_not(None)).order_by(c.updated_at.desc()).limit(1)
    )
    return {"last_event_at": last_event, "incidents_synced": synced, "failed": failed, "last_error": last_error}
