"""Recovery of missed webhooks as people see it: each integration's last run, and "run now"."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from ..settings import Settings
from ..store import recovery as store
from ..store.db import Engine, read, write
from ..store.integrations import IntegrationRow
from ..sync.recovery import eligible
from .errors import Conflict
from .integrations import Integrations


class RecoveryView(BaseModel):
    integration_id: int
    active: bool = Field(description="recovery runs for this integration")
    why_not: str | None = Field(description="why it does not run, when it does not")
    finds_deliveries_by: str = Field(description="how our failed deliveries are told apart in Flashduty's history")
    interval_seconds: float
    last_started_at: float | None
    last_finished_at: float | None
    next_run_at: float | None
    last_error: str | None
    last_run: dict[str, Any] | None = Field(description="what the last run found and recovered")
    recovered_total: int


@dataclass
class RecoveryService:
    engine: Engine
    integrations: Integrations
    settings: Settings
    wake: asyncio.Event  # the recovery loop of this process

    async def status(self, integration_id: int) -> RecoveryView:
        row = await self.integrations.row(integration_id)
        async with read(self.engine) as conn:
            state = await store.get(conn, row.id)
        return self._view(row, state)

    async def summary(self) -> list[dict[str, Any]]:
        """One line per integration that has run, for /healthz (one small table read)."""
        async with read(self.engine) as conn:
            states = await store.all_states(conn)
        out = []
        for s in states:
            last = s.last_report or {}
            out.append({"integration_id": s.integration_id, "last_run_at": s.last_finished_at,
                        "found": last.get("ours", 0) + last.get("newer_in_flashduty", 0),
                        "recovered": last.get("recovered", 0), "recovered_total": s.recovered_total,
                        "error": s.last_error})
        return out

    async def run_now(self, integration_id: int) -> RecoveryView:
        row = await self.integrations.row(integration_id)
        reason = why_not(row)
        if reason:
            raise Conflict(f"recovery does not run for this integration: {reason}")
        async with write(self.engine) as conn:
            await store.request_run(conn, row.id, time.time())
        self.wake.set()
        return await self.status(integration_id)

    def _view(self, row: IntegrationRow, state: store.RecoveryState | None) -> RecoveryView:
        fd_id = (row.config.get("flashduty") or {}).get("webhook_integration_id")
        by = (f"Flashduty webhook integration {fd_id}, then the X-Jira-Sync-Secret value each delivery carries"
              if fd_id else "the X-Jira-Sync-Secret value each failed delivery of the account carries")
        reason = why_not(row)
        return RecoveryView(
            integration_id=row.id, active=reason is None, why_not=reason, finds_deliveries_by=by,
            interval_seconds=self.settings.recovery_interval,
            last_started_at=state.last_started_at if state else None,
            last_finished_at=state.last_finished_at if state else None,
            next_run_at=state.next_run_at if state and reason is None else None,
            last_error=state.last_error if state else None, last_run=state.last_report if state else None,
            recovered_total=state.recovered_total if state else 0,
        )


def why_not(row: IntegrationRow) -> str | None:
    if eligible(row):
        return None
    if not row.enabled:
        return "the integration is disabled"
    if not row.flashduty_app_key_enc:
        return "no Flashduty app key"
    return "switched off (flashduty.recover_missed)"
