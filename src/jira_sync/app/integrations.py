"""Managing integrations: the one place the REST API, the console and the CLI all call.

Saving always checks the configuration against the live Jira first (unless a caller
explicitly skips it, e.g. to prepare an integration while Jira is unreachable), and
refuses to save a configuration Jira would reject. Every change is told to the process's
caches at once and, on PostgreSQL, to the other processes when it commits.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable

import httpx

from ..crypto import SecretBox, hash_webhook_secret, new_webhook_secret
from ..domain.conditions import ConditionError, validate_conditions
from ..domain.integration import IntegrationConfig, JiraConnection, two_way_problems
from ..domain.jira_meta import JiraMeta
from ..domain.trigger import SET_APP_KEY
from ..domain.webhook_url import reachability_warning
from ..jira.port import JiraPort
from ..settings import Settings
from ..setup.checks import CheckReport, check_integration
from ..store import incidents as incident_store
from ..store import integrations as store
from ..store import listeners
from ..store.db import Engine, read, write
from ..store.integrations import IntegrationRow, StoredIntegration, Summary
from ..store.notify import integration_changed
from ..store.sites import SiteRow
from ..sync.changes import IntegrationChanges
from ..sync.sites import Sites, keys_of
from .errors import CheckFailed, Conflict, Invalid, NotFound
from .models import CheckResult, IntegrationView, SavedIntegration, WebhookInfo
from .sites import load_rows, site_view

JiraFactory = Callable[[JiraConnection], JiraPort]


@dataclass
class Integrations:
    engine: Engine
    box: SecretBox
    jira_factory: JiraFactory
    changes: IntegrationChanges
    wake: asyncio.Event
    settings: Settings  # its base_url (PUBLIC_URL) starts the webhook URLs shown to people
    sites: Sites  # Jira site pauses: shown with each integration; new credentials end their own
    # the CLI, a process apart from `serve`, takes the running server's base URL (`use_running_server`)
    running_server_url: str | None = None

    @property
    def webhook_base(self) -> str:
        """Where webhooks reach the server: PUBLIC_URL or `serve`'s own listen address (read on each
        use: settings may change after start), or what the CLI learned from the running server."""
        return self.running_server_url or self.settings.base_url

    @contextlib.asynccontextmanager
    async def announced(self) -> AsyncIterator[None]:
        """While `serve` runs: its webhook base URL is in the database, for the CLI to print."""
        me, host = uuid.uuid4().hex, socket.gethostname()
        await listeners.forget_dead(self.engine, host, _process_alive)
        await listeners.announce(self.engine, me, self.webhook_base, host, os.getpid(), time.time())
        try:
            yield
        finally:
            with contextlib.suppress(Exception):  # the database may be gone at shutdown: the row is then stale
                await listeners.withdraw(self.engine, me)

    async def use_running_server(self) -> str | None:
        """For the CLI: print webhook URLs of the `serve` that runs on this database (it may listen on
        another port than this process's settings say). Returns a note when none answered."""
        if self.settings.public_url:
            return None  # the operator's word
        candidates = await listeners.newest_first(self.engine)
        # a busy server may take a moment to answer: falling back to the assumed URL would print a wrong one
        async with httpx.AsyncClient(timeout=5.0) as client:
            for base in candidates:
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{base}/healthz")).status_code in (200, 503):
                        self.running_server_url = base
                        return None
        return (f"no running `jira-sync serve` found for this database: the webhook URL assumes "
                f"{self.settings.base_url} (JIRA_SYNC_HOST/PORT); start the server first, or set JIRA_SYNC_PUBLIC_URL")

    @contextlib.asynccontextmanager
    async def jira(self, conn: JiraConnection) -> AsyncIterator[JiraPort]:
        """A Jira client for `conn`, closed after use (setup checks and look-ups, not the sync)."""
        client = self.jira_factory(conn)
        try:
            yield client
        finally:
            await client.aclose()

    # ------------------------------------------------------------ reads
    async def list(self) -> list[IntegrationView]:
        async with read(self.engine) as conn:
            rows = await store.list_with_summaries(conn)
        sites = await load_rows(self.engine)
        return [self._view(row, summary, sites) for row, summary in rows]

    async def view(self, integration_id: int) -> IntegrationView:
        async with read(self.engine) as conn:
            found = await store.with_summary(conn, integration_id)
        if found is None:
            raise NotFound(f"integration {integration_id} not found")
        return self._view(*found, await load_rows(self.engine))

    async def row(self, integration_id: int) -> IntegrationRow:
        async with read(self.engine) as conn:
            found = await store.get_row(conn, integration_id)
        if found is None:
            raise NotFound(f"integration {integration_id} not found")
        return found

    async def get(self, integration_id: int) -> StoredIntegration:
        """The integration with its secrets decrypted (for calling Jira; never shown)."""
        return store.decrypt(await self.row(integration_id), self.box)

    async def find_by_name(self, name: str) -> IntegrationRow | None:
        async with read(self.engine) as conn:
            return await store.find_by_name(conn, name)

    async def find(self, id_or_name: str) -> IntegrationRow:
        """By name, else by id (the CLI's `check NAME|ID`)."""
        async with read(self.engine) as conn:
            found = await store.find_by_name(conn, id_or_name)
            if found is None and id_or_name.isdigit():
                found = await store.get_row(conn, int(id_or_name))
        if found is None:
            raise NotFound(f"no integration {id_or_name!r}")
        return found

    async def incident_count(self, integration_id: int) -> int:
        async with read(self.engine) as conn:
            return await incident_store.count(conn, integration_id)

    async def seen_channels(self, integration_id: int | None) -> list[dict[str, Any]]:
        """Channels of this integration's recent incidents (of any integration's, for None: a new
        one has none yet): Flashduty's webhook names them, its Open API has no channel list to
        offer, so these are the suggestions we can make."""
        async with read(self.engine) as conn:
            found = await incident_store.recent_channels(conn, integration_id)
        return [{"id": k, "name": v} for k, v in sorted(found.items(), key=lambda kv: kv[1])]

    def webhook_info(self, integration_id: int, secret: str | None = None,
                     previous_until: float | None = None) -> WebhookInfo:
        url = f"{self.webhook_base}/webhooks/flashduty/{integration_id}"
        extra: dict[str, Any] = {
            "reachability_warning": reachability_warning(self.webhook_base, bool(self.settings.public_url)),
            "previous_secret_valid_until": previous_until if previous_until and previous_until > time.time() else None,
        }
        if secret is None:
            return WebhookInfo(url=url, **extra)
        return WebhookInfo(url=url, secret=secret, url_with_secret=f"{url}?secret={secret}", **extra)

    def _view(self, row: IntegrationRow, summary: Summary, sites: dict[str, SiteRow],
              secret: str | None = None) -> IntegrationView:
        return IntegrationView(
            id=row.id, name=row.name, enabled=row.enabled, config=row.config, jira_meta=row.jira_meta,
            webhook=self.webhook_info(row.id, secret, row.previous_secret_until), created_at=row.created_at, updated_at=row.updated_at,
            last_event_at=summary.last_event_at, incidents_synced=summary.incidents_synced, failed=summary.failed,
            last_error=summary.last_error, site=site_view(row.config["jira"], sites, time.time()),
            warnings=integration_warnings(row),
        )

    # ------------------------------------------------------------ changes
    async def check(self, cfg: IntegrationConfig) -> CheckReport:
        try:
            validate_conditions(cfg.conditions)
        except ConditionError as exc:
            report = CheckReport()
            report.error(f"conditions: {exc}", at="conditions")
            return report
        async with self.jira(cfg.jira) as jira:
            return await check_integration(cfg, jira)

    async def create(self, cfg: IntegrationConfig, *, check: bool = True) -> SavedIntegration:
        """Check and save; the answer carries the new webhook secret, once."""
        report = await self._validated(cfg, check)
        secret = new_webhook_secret()
        async with write(self.engine) as conn:
            if await store.find_by_name(conn, cfg.name) is not None:
                raise Conflict(f"an integration named {cfg.name!r} exists already")
            new_id = await store.insert(conn, cfg, self.box, hash_webhook_secret(secret), report.meta)
        self.changes.notify(new_id)  # a new two-way integration is polled at once (sync/jira_poll.py)
        return await self._saved(new_id, report, secret)

    async def update(self, integration_id: int, changes: dict[str, Any], *, check: bool = True) -> SavedIntegration:
        """Apply a (partial) configuration; secrets left out keep their stored values."""
        current = await self.get(integration_id)
        # a pydantic ValidationError goes up as it is: the API answers it without echoing input
        merged = merge_config(current.config, changes)
        report = await self._validated(merged, check)
        async with write(self.engine) as conn:
            other = await store.find_by_name(conn, merged.name)
            if other is not None and other.id != integration_id:
                raise Conflict(f"an integration named {merged.name!r} exists already")
            # unchecked: names are resolved again by the next sync (sync/learn.py), since what
            # was learned before may not fit the new configuration
            meta = report.meta if check else JiraMeta()
            await store.update(conn, integration_id, merged, self.box, meta)
            await integration_changed(conn, integration_id)
        self.changes.notify(integration_id)
        # credentials Jira refused wait for a change like this one: its incidents resume now
        # (with the old credentials they are refused again, and wait again)
        old, new = current.config.jira.model_dump(mode="json"), merged.jira.model_dump(mode="json")
        await self.sites.resume([keys_of(old)[1], keys_of(new)[1]], why="its credentials were changed")
        return await self._saved(integration_id, report, None)

    async def recheck(self, integration_id: int) -> CheckReport:
        """Check the stored configuration again; a passing check refreshes the stored metadata,
        and ends a pause of its site or account (Jira answered, and accepted the credentials)."""
        current = await self.get(integration_id)
        report = await self.check(current.config)
        if report.ok:
            await self._change(integration_id, lambda conn: store.update(
                conn, integration_id, current.config, self.box, report.meta))
            await self.sites.resume(keys_of(current.config.jira.model_dump(mode="json")), why="a check passed")
        return report

    async def set_enabled(self, integration_id: int, enabled: bool) -> IntegrationView:
        await self._change(integration_id, lambda conn: store.set_enabled(conn, integration_id, enabled))
        if enabled:
            self.wake.set()  # incidents that waited while it was disabled
        return await self.view(integration_id)

    async def rotate_webhook_secret(self, integration_id: int) -> WebhookInfo:
        """A new webhook secret; the old one is still accepted for SECRET_GRACE_HOURS (Flashduty keeps
        sending it until someone changes the header there), then refused."""
        secret = new_webhook_secret()
        hours = self.settings.secret_grace_hours
        grace_until = time.time() + hours * 3600 if hours > 0 else None
        await self._change(integration_id, lambda conn: store.set_webhook_hash(
            conn, integration_id, hash_webhook_secret(secret), grace_until))
        return self.webhook_info(integration_id, secret, grace_until)

    async def set_jira_webhook_secret(self, integration_id: int, secret: str) -> None:
        """Two-way sync: the secret Jira's webhook proves itself with (stored encrypted)."""
        enc = self.box.encrypt(secret)
        await self._change(integration_id, lambda conn: store.set_jira_webhook_secret(conn, integration_id, enc))

    async def delete(self, integration_id: int) -> None:
        await self._change(integration_id, lambda conn: store.delete(conn, integration_id))

    async def _change(self, integration_id: int, change: Callable[[Any], Any]) -> None:
        async with write(self.engine) as conn:
            if not await change(conn):
                raise NotFound(f"integration {integration_id} not found")
            await integration_changed(conn, integration_id)
        self.changes.notify(integration_id)

    async def _saved(self, integration_id: int, report: CheckReport, secret: str | None) -> SavedIntegration:
        async with read(self.engine) as conn:
            found = await store.with_summary(conn, integration_id)
        assert found is not None
        view = self._view(*found, await load_rows(self.engine), secret=secret)
        return SavedIntegration(**view.model_dump(), check=CheckResult(**report.as_dict()))

    async def _validated(self, cfg: IntegrationConfig, check: bool) -> CheckReport:
        problems = two_way_problems(cfg)
        if problems:
            raise Invalid("two_way: " + "; ".join(problems))
        if not check:
            try:
                validate_conditions(cfg.conditions)
            except ConditionError as exc:
                raise Invalid(f"conditions: {exc}") from None
            return CheckReport(warnings=["not checked against Jira"], meta=JiraMeta())
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


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, as another user
    return True


def integration_warnings(row: IntegrationRow) -> list[str]:
    """What the integration silently does not do, said where people look (API, console, CLI)."""
    if row.flashduty_app_key_enc:
        return []
    return [f"no Flashduty app key: comments made in Flashduty are not copied to Jira, and webhooks Flashduty "
            f"failed to deliver are not recovered; {SET_APP_KEY}"]
