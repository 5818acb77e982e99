"""Riding out Jira outages: what a failed reconcile means for its incident and for its site.

- Transient failures (timeouts, refused connections, 5xx, 429, and our own hiccups): the
  incident backs off, exponentially up to an hour, never sooner than Retry-After. A Jira
  failure also makes the worker probe the site at once (`myself`): if the probe fails too,
  the site is paused. While it is paused no incident of it calls Jira: each waits (up to
  an hour) and is resumed the moment a probe, every PROBE_SECONDS at most, gets an answer.
- A 401 for the stored credentials pauses that site-and-account with a message saying so;
  its incidents wait until the credentials are changed (or a probe with them succeeds).
- Permanent errors (400 with Jira's messages, 403, CAPTCHA, 404) fail the incident at once.
- Only after GIVE_UP_HOURS of transient failure or waiting is an incident marked failed.
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
import random
import time
from dataclasses import dataclass
from typing import Any

from ..jira.port import JiraAuthError, JiraError, JiraRetryableError
from ..jira.ratelimit import BACKOFF_CAP, retry_delay
from ..settings import Settings
from ..store.incidents import IncidentRecord
from ..store.integrations import IntegrationRow
from ..store.sites import CREDENTIALS, OUTAGE, RATE_LIMITED, SiteRow
from .adopt import Uncertain
from .changes import IntegrationRows
from .clients import ClientCache
from .sites import Sites, keys_of

log = logging.getLogger(__name__)

SUSPECT_GAP = 5.0  # seconds: at most one probe per site this often after failed reconciles


@dataclass(frozen=True, slots=True)
class Fate:
    """How a reconcile that could not finish leaves its incident."""

    error: str
    retry_at: float | None  # None: failed, it waits for a person
    failing_since: float | None
    pause: str | None = None  # the key of the site pause it waits for
    attempted: bool = True  # Jira was called (counts as an attempt)


def describe(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    status = getattr(exc, "status", None)
    return f"{message} (HTTP {status})" if status else message


def failure_reason(exc: BaseException) -> str:
    """The reason a failed reconcile is counted under (Alertmanager's notifier reasons)."""
    if isinstance(exc, JiraAuthError):
        return "authError"
    if not isinstance(exc, JiraError):
        return "other"  # Flashduty's feed, the database, our own bugs
    if exc.status == 429:
        return "rateLimited"
    if exc.timed_out:
        return "timeout"
    if exc.status is not None and exc.status >= 500:
        return "serverError"
    if exc.status is not None and 400 <= exc.status < 500 or not exc.retryable:
        return "clientError"  # Jira refused what was asked (400, 404, 409; a value no URL can carry)
    return "other"  # refused or broken connections, TLS, not a Jira


def _refused(exc: BaseException) -> bool:
    return isinstance(exc, JiraAuthError) and exc.reason == "bad_credentials" and exc.status == 401


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds:g} s"


def worked_before(integration: IntegrationRow) -> bool:
    """Its credentials were accepted once: a passing check stored metadata, or issues were made."""
    return bool(integration.jira_meta) or integration.synced_count > 0


class Outages:
    def __init__(self, sites: Sites, clients: ClientCache, rows: IntegrationRows, settings: Settings) -> None:
        self.sites = sites
        self.clients = clients
        self.rows = rows
        self.give_up = settings.give_up_hours * 3600
        self.probe_hold = settings.jira_timeout * 3 + 5  # a probe's claim: longer than it can take
        self._probing: set[str] = set()
        self._probed_at: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------ an incident's fate
    def waiting(self, row: IncidentRecord, pause: SiteRow, now: float, *, attempted: bool = False) -> Fate:
        """The incident's site (or account) is paused: wait for it without calling Jira."""
        since = row.failing_since or now
        deadline = since + self.give_up
        if now >= deadline:
            return Fate(f"{pause.message} (gave up after waiting {_hours(self.give_up)})", None, since,
                        attempted=attempted)
        if pause.reason == RATE_LIMITED:
            until = (pause.resume_at or now) + random.random()  # spread the restart out a little
        else:
            until = min(now + BACKOFF_CAP, deadline)  # resumed as soon as the site answers
        return Fate(f"Waiting for Jira: {pause.message}", until, since, pause=pause.key, attempted=attempted)

    async def failed(self, row: IncidentRecord, integration: IntegrationRow | None, exc: BaseException) -> Fate:
        now = time.time()
        if isinstance(exc, Uncertain):  # not a failure: Jira cannot tell yet, no attempt spent
            return Fate(describe(exc), now + exc.retry_in, row.failing_since, attempted=False)
        if integration is not None and _refused(exc):
            pause = await self.sites.credentials_refused(integration.config["jira"], integration.id,
                                                         worked_before=worked_before(integration))
            return self.waiting(row, pause, now, attempted=True)
        message = describe(exc)
        delay = retry_delay(exc, row.attempts + 1)
        if delay is None:
            return Fate(message, None, row.failing_since)
        since = row.failing_since or now
        deadline = since + self.give_up
        if now >= deadline:
            return Fate(f"{message} (gave up after retrying for {_hours(self.give_up)})", None, since)
        if integration is not None and isinstance(exc, JiraRetryableError) and exc.status != 429:
            self.suspect(integration)
        return Fate(message, min(now + delay, deadline), since)

    # ------------------------------------------------------------ probes
    def suspect(self, integration: IntegrationRow) -> None:
        """A Jira call failed: is the site down, or was it this one request? Ask it now."""
        site, _ = keys_of(integration.config["jira"])
        current = self.sites.rows.get(site)
        if current is not None and current.reason == OUTAGE:
            return  # paused already: its probes are scheduled
        if site in self._probing or time.time() - self._probed_at.get(site, 0.0) < SUSPECT_GAP:
            return
        self._spawn(site, integration, None)

    async def probe_due(self) -> None:
        """Probe every paused site whose probe is due (one worker per probe, across processes)."""
        for row in self.sites.due(time.time()):
            if row.key in self._probing or not await self.sites.take_probe(row, self.probe_hold):
                continue
            integration = await self.rows.get(row.integration_id) if row.integration_id is not None else None
            if integration is None or not integration.enabled:
                # nobody left to probe with: let the waiting incidents find out for themselves
                await self.sites.resume([row.key])
                continue
            self._spawn(row.key, integration, row)

    def _spawn(self, key: str, integration: IntegrationRow, row: SiteRow | None) -> None:
        self._probing.add(key)
        # a context of its own: the probe's exchange is no incident's history
        task = asyncio.get_running_loop().create_task(self._probe(key, integration, row), context=contextvars.Context())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _probe(self, key: str, integration: IntegrationRow, row: SiteRow | None) -> None:
        jira = integration.config["jira"]
        log.debug("probing Jira at %s", key)
        try:
            await self.clients.get(integration).jira.myself()
        except JiraRetryableError as exc:
            if exc.status != 429:  # a 429 is an answer: the site is up, and its gate holds
                await self._still_down(jira, integration, row, describe(exc))
                return
        except JiraAuthError as exc:
            if _refused(exc):
                if row is not None and row.reason == CREDENTIALS:
                    await self.sites.probe_failed(row, jira, describe(exc))
                else:
                    await self.sites.credentials_refused(jira, integration.id, worked_before=worked_before(integration))
                await self._answered(keys_of(jira)[:1])  # the site itself answers
                return
        except JiraError:
            pass  # 403, 404...: the site answers
        except Exception:
            log.exception("probing Jira at %s failed", key)
            if row is not None:
                await self.sites.probe_failed(row, jira, row.message)
            return
        finally:
            self._probing.discard(key)
            self._probed_at[key] = time.time()
        await self._answered(keys_of(jira))

    async def _still_down(self, jira: Any, integration: IntegrationRow, row: SiteRow | None, message: str) -> None:
        if row is not None and row.reason == OUTAGE:
            await self.sites.probe_failed(row, jira, message)
        else:
            await self.sites.outage(jira, integration.id, message)

    async def _answered(self, keys: Any) -> None:
        paused = [k for k in keys if (r := self.sites.rows.get(k)) is not None and r.reason != RATE_LIMITED]
        if paused:
            await self.sites.resume(paused)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
