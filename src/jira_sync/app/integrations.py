"""Managing integrations: the one place the REST API and the CLI both call.

Saving always checks the configuration against the live Jira first (unless a caller
explicitly skips it, e.g. to prepare an integration while Jira is unreachable), and
refuses to save a configuration Jira would reject.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from ..crypto import SecretBox, hash_webhook_secret, new_webhook_secret
from ..domain.conditions import ConditionError, validate_conditions
from ..domain.integration import IntegrationConfig, JiraConnection
from ..jira.port import JiraPort
from ..store import integrations as store
from ..store.db import write
from .changes import broadcast
from .checks import CheckReport, check_integration

JiraFactory = Callable[[JiraConnection], JiraPort]


class CheckFailed(Exception):
    def __init__(self, report: CheckReport) -> None:
        super().__init__("; ".join(report.errors))
        self.report = report


class NotFound(Exception):
    pass


class Conflict(Exception):
    pass


@dataclass
class Saved:
    id: int
    report: CheckReport
    webhook_secret: str | None  # only when it was (re)generated: shown once, stored hashed


@dataclass
class Admin:
    engine: AsyncEngine
    box: SecretBox
    jira_factory: JiraFactory
    # told about every change, so cached views (the webhook path's) refresh at once
    on_change: Callable[[int], None] = lambda _id: None

    @contextlib.asynccontextmanager
    async def jira(self, conn: JiraConnection) -> AsyncIterator[JiraPort]:
        """A Jira client for `conn`, closed after use (setup checks and look-ups, not the sync)."""
        client = self.jira_factory(conn)
        try:
            yield client
        finally:
            await client.aclose()

    async def check(self, cfg: IntegrationConfig) -> CheckReport:
        try:
            validate_conditions(cfg.conditions)
        except ConditionError as exc:
            return CheckReport(errors=[f"conditions: {exc}"])
        async with self.jira(cfg.jira) as jira:
            return await check_integration(cfg, jira)

    async def create(self, cfg: IntegrationConfig, *, check: bool = True) -> Saved:
        report = await self._validated(cfg, check)
        secret = new_webhook_secret()
        async with write(self.engine) as conn:
            if await store.find_by_name(conn, cfg.name) is not None:
                raise Conflict(f"an integration named {cfg.name!r} exists already")
            new_id = await store.insert(conn, cfg, self.box, hash_webhook_secret(secret), report.meta)
        return Saved(new_id, report, secret)

    async def update(self, integration_id: int, changes: dict[str, Any], *, check: bool = True) -> Saved:
        """Apply a (partial) configuration; secrets left out keep their stored values."""
        current = await self.get(integration_id)
        merged = merge_config(current.config, changes)
        report = await self._validated(merged, check)
        async with write(self.engine) as conn:
            other = await store.find_by_name(conn, merged.name)
            if other is not None and other.id != integration_id:
                raise Conflict(f"an integration named {merged.name!r} exists already")
            meta = report.meta if check else current.jira_meta
            await store.update(conn, integration_id, merged, self.box, meta)
            await broadcast(conn, integration_id)
        self.on_change(integration_id)
        return Saved(integration_id, report, None)

    async def recheck(self, integration_id: int) -> CheckReport:
        current = await self.get(integration_id)
        report = await self.check(current.config)
        if report.ok:
            async with write(self.engine) as conn:
                await store.update(conn, integration_id, current.config, self.box, report.meta)
                await broadcast(conn, integration_id)
            self.on_change(integration_id)
        return report

    async def get(self, integration_id: int) -> store.StoredIntegration:
        async with self.engine.connect() as conn:
            found = await store.get(conn, integration_id, self.box)
        if found is None:
            raise NotFound(f"integration {integration_id} not found")
        return found

    async def set_enabled(self, integration_id: int, enabled: bool) -> None:
        async with write(self.engine) as conn:
            if not await store.set_enabled(conn, integration_id, enabled):
                raise NotFound(f"integration {integration_id} not found")
            await broadcast(conn, integration_id)
        self.on_change(integration_id)

    async def rotate_webhook_secret(self, integration_id: int) -> str:
        secret = new_webhook_secret()
        async with write(self.engine) as conn:
            if not await store.set_webhook_hash(conn, integration_id, hash_webhook_secret(secret)):
                raise NotFound(f"integration {integration_id} not found")
            await broadcast(conn, integration_id)
        self.on_change(integration_id)
        return secret

    async def delete(self, integration_id: int) -> None:
        async with write(self.engine) as conn:
            if not await store.delete(conn, integration_id):
                raise NotFound(f"integration {integration_id} not found")
            await broadcast(conn, integration_id)
        self.on_change(integration_id)

    async def _validated(self, cfg: IntegrationConfig, check: bool) -> CheckReport:
        if not check:
            validate_conditions(cfg.conditions)
            return CheckReport(warnings=["not checked against Jira"])
        report = await self.check(cfg)
        if not report.ok:
            raise CheckFailed(report)
        return report


def merge_config(current: IntegrationConfig, changes: dict[str, Any]) -> IntegrationConfig:
    """current + changes, where a secret not given keeps its stored value (secrets are write-only)."""
    data = current.model_dump(mode="python")
    data["jira"]["secret"] = current.jira.secret
    data["flashduty"]["app_key"] = current.flashduty.app_key
    for key, value in changes.items():
        if key in ("jira", "flashduty") and isinstance(value, dict):
            data[key] = {**data[key], **{k: v for k, v in value.items() if not (k in ("secret", "app_key") and v is None)}}
        else:
            data[key] = value
    return IntegrationConfig.model_validate(data)
