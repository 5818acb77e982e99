"""Integrations at rest: configuration as JSON, credentials encrypted, webhook secret hashed."""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..crypto import SecretBox
from ..domain.integration import IntegrationConfig
from ..domain.jira_meta import JiraMeta
from .db import read, write
from .tables import events, incidents, integrations, link_counts


@dataclass(frozen=True, slots=True)
class IntegrationRow:
    """An integration's row as stored: secrets still encrypted (or hashed)."""

    id: int
    name: str
    enabled: bool
    config: dict[str, Any]  # IntegrationConfig without jira.secret and flashduty.app_key
    jira_meta: dict[str, Any]
    jira_secret_enc: str
    flashduty_app_key_enc: str | None
    webhook_secret_hash: str
    synced_count: int
    created_at: float
    updated_at: float  # moves with every change: cached clients and triggers key on it
    previous_secret_hash: str | None = None  # the secret before the last rotation...
    previous_secret_until: float | None = None  # ...accepted until then (SECRET_GRACE_HOURS)

    def secret_hashes(self, now: float) -> tuple[str, ...]:
        """The webhook secrets (hashed) accepted at `now`: the current one, and the one before the
        last rotation while its grace period runs."""
        if self.previous_secret_hash and self.previous_secret_until and now < self.previous_secret_until:
            return self.webhook_secret_hash, self.previous_secret_hash
        return (self.webhook_secret_hash,)
    jira_webhook_secret_enc: str | None = None  # two-way: Jira's webhook secret, encrypted

    @property
    def version(self) -> tuple[int, float]:
        return self.id, self.updated_at

    def public_config(self) -> IntegrationConfig:
        """The configuration without credentials (a placeholder secret): enough for the
        trigger and for showing, never for calling Jira or Flashduty."""
        data = {**self.config, "enabled": self.enabled, "jira": {**self.config["jira"], "secret": "-"}}
        return IntegrationConfig.model_validate(data)

    def meta(self) -> JiraMeta:
        return JiraMeta.model_validate(self.jira_meta or {})


@dataclass(frozen=True, slots=True)
class StoredIntegration:
    id: int
    config: IntegrationConfig  # with secrets decrypted: never serialise this to a client
    jira_meta: JiraMeta
    webhook_secret_hash: str
    created_at: float
    updated_at: float

    @property
    def enabled(self) -> bool:
        return self.config.enabled


@dataclass(frozen=True, slots=True)
class Summary:
    """Counters for lists: last event received, incidents synced, failures, last error."""

    last_event_at: float | None
    incidents_synced: int
    failed: int
    last_error: str | None


@functools.cache
def row_columns() -> tuple[Any, ...]:
    """What `_row` reads: the integration's columns and its linked count (the sum of its shards)."""
    linked = sa.select(sa.func.coalesce(sa.func.sum(link_counts.c.linked), 0)).where(
        link_counts.c.integration_id == integrations.c.id).scalar_subquery()
    return (*integrations.c, linked.label("synced_count"))


def _row(r: Any) -> IntegrationRow:
    return IntegrationRow(
        id=r.id, name=r.name, enabled=r.enabled, config=r.config, jira_meta=r.jira_meta or {},
        jira_secret_enc=r.jira_secret_enc, flashduty_app_key_enc=r.flashduty_app_key_enc,
        webhook_secret_hash=r.webhook_secret_hash, synced_count=r.synced_count or 0,
        created_at=r.created_at, updated_at=r.updated_at, jira_webhook_secret_enc=r.jira_webhook_secret_enc,
        previous_secret_hash=r.previous_secret_hash, previous_secret_until=r.previous_secret_until,
    )


def _public_config(cfg: IntegrationConfig) -> dict[str, Any]:
    return cfg.model_dump(mode="json", exclude={"jira": {"secret"}, "flashduty": {"app_key"}})


def _row_values(cfg: IntegrationConfig, box: SecretBox) -> dict[str, Any]:
    app_key = cfg.flashduty.app_key
    return dict(
        name=cfg.name,
        enabled=cfg.enabled,
        config=_public_config(cfg),
        jira_secret_enc=box.encrypt(cfg.jira.secret.get_secret_value()),
        flashduty_app_key_enc=box.encrypt(app_key.get_secret_value()) if app_key else None,
    )


def decrypt(row: IntegrationRow, box: SecretBox) -> StoredIntegration:
    data = dict(row.config)
    data["enabled"] = row.enabled
    data["jira"] = {**data["jira"], "secret": box.decrypt(row.jira_secret_enc)}
    if row.flashduty_app_key_enc:
        data["flashduty"] = {**data.get("flashduty", {}), "app_key": box.decrypt(row.flashduty_app_key_enc)}
    return StoredIntegration(
        id=row.id,
        config=IntegrationConfig.model_validate(data),
        jira_meta=row.meta(),
        webhook_secret_hash=row.webhook_secret_hash,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def insert(
    conn: AsyncConnection, cfg: IntegrationConfig, box: SecretBox, webhook_hash: str, meta: JiraMeta
) -> int:
    now = time.time()
    res = await conn.execute(
        integrations.insert().values(
            **_row_values(cfg, box), webhook_secret_hash=webhook_hash, jira_meta=meta.to_json(),
            created_at=now, updated_at=now,
        )
    )
    return int(res.inserted_primary_key[0])


async def _update(conn: AsyncConnection, integration_id: int, **values: Any) -> bool:
    """Change a row; every change moves updated_at, which retires cached clients and triggers."""
    res = await conn.execute(
        integrations.update().where(integrations.c.id == integration_id).values(updated_at=time.time(), **values)
    )
    return res.rowcount == 1


async def update(conn: AsyncConnection, integration_id: int, cfg: IntegrationConfig, box: SecretBox,
                 meta: JiraMeta) -> bool:
    return await _update(conn, integration_id, **_row_values(cfg, box), jira_meta=meta.to_json())


async def stored_meta(engine: AsyncEngine, integration_id: int) -> JiraMeta | None:
    async with read(engine) as conn:
        found = await conn.scalar(sa.select(integrations.c.jira_meta).where(integrations.c.id == integration_id))
    return JiraMeta.model_validate(found or {}) if found is not None else None


async def save_learned_meta(engine: AsyncEngine, integration_id: int, meta: JiraMeta) -> None:
    """What the first sync of an integration saved unchecked learned. Leaves updated_at alone:
    the configuration did not change, so cached clients (and reconciles using them) stay."""
    async with write(engine) as conn:
        await conn.execute(integrations.update().where(integrations.c.id == integration_id)
                           .values(jira_meta=meta.to_json()))


async def set_enabled(conn: AsyncConnection, integration_id: int, enabled: bool) -> bool:
    return await _update(conn, integration_id, enabled=enabled)


async def set_webhook_hash(conn: AsyncConnection, integration_id: int, webhook_hash: str,
                           grace_until: float | None = None) -> bool:
    """A new webhook secret; with `grace_until`, the one it replaces is accepted until then."""
    current = sa.select(integrations.c.webhook_secret_hash).where(integrations.c.id == integration_id)
    old = await conn.scalar(current)
    keep = old if grace_until is not None else None
    return await _update(conn, integration_id, webhook_secret_hash=webhook_hash, previous_secret_hash=keep,
                         previous_secret_until=grace_until if keep else None)


async def set_jira_webhook_secret(conn: AsyncConnection, integration_id: int, secret_enc: str) -> bool:
    return await _update(conn, integration_id, jira_webhook_secret_enc=secret_enc)


async def delete(conn: AsyncConnection, integration_id: int) -> bool:
    # explicit child deletes: SQLite only cascades when foreign_keys=ON on that connection
    await conn.execute(events.delete().where(events.c.integration_id == integration_id))
    await conn.execute(incidents.delete().where(incidents.c.integration_id == integration_id))
    res = await conn.execute(integrations.delete().where(integrations.c.id == integration_id))
    return res.rowcount == 1


async def get_row(conn: AsyncConnection, integration_id: int) -> IntegrationRow | None:
    found = (await conn.execute(sa.select(*row_columns()).where(integrations.c.id == integration_id))).first()
    return _row(found) if found else None


async def get_rows(conn: AsyncConnection, ids: set[int]) -> dict[int, IntegrationRow]:
    rows = await conn.execute(sa.select(*row_columns()).where(integrations.c.id.in_(sorted(ids))))
    return {r.id: _row(r) for r in rows}


async def find_by_name(conn: AsyncConnection, name: str) -> IntegrationRow | None:
    found = (await conn.execute(sa.select(*row_columns()).where(integrations.c.name == name))).first()
    return _row(found) if found else None


def _summary_columns(integration_id: Any) -> list[Any]:
    """Each counter is a few rows or an index range (the synced count is kept by the worker,
    the failed and errored rows have indexes of their own), so a list page costs the same at
    100k incidents as at 1k, not a walk over all of them."""
    c = incidents.c
    mine = c.integration_id == integration_id
    return [
        sa.select(sa.func.max(events.c.received_at)).where(events.c.integration_id == integration_id)
        .scalar_subquery().label("last_event_at"),
        sa.select(sa.func.count()).where(mine, c.state == "failed").scalar_subquery().label("failed"),
        sa.select(c.last_error).where(mine, c.last_error.is_not(None)).order_by(c.updated_at.desc()).limit(1)
        .scalar_subquery().label("last_error"),
    ]


def _summary(r: Any) -> Summary:
    return Summary(r.last_event_at, r.synced_count or 0, r.failed or 0, r.last_error)


async def list_with_summaries(conn: AsyncConnection) -> list[tuple[IntegrationRow, Summary]]:
    """Every integration with its counters, in one statement."""
    q = sa.select(*row_columns(), *_summary_columns(integrations.c.id)).order_by(integrations.c.id)
    return [(_row(r), _summary(r)) for r in await conn.execute(q)]


async def with_summary(conn: AsyncConnection, integration_id: int) -> tuple[IntegrationRow, Summary] | None:
    q = sa.select(*row_columns(), *_summary_columns(integrations.c.id)).where(integrations.c.id == integration_id)
    found = (await conn.execute(q)).first()
    return (_row(found), _summary(found)) if found else None
