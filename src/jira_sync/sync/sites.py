"""What every process knows of the Jira sites the sync waits for: outages, refused
credentials, Retry-After. The table `jira_sites` is the truth across processes; each
process keeps it in memory, reloaded when another process says it changed (NOTIFY) and
at every worker heartbeat, so deciding whether to call Jira never costs a query.

Keys: a site is its base URL (`site_key`); an account on it is "<site> as <user>".
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from typing import Any, Iterable, Mapping

from ..domain.durations import format_duration
from ..jira.ratelimit import SiteGates, site_key
from ..store import sites as store
from ..store.db import Engine, read
from ..store.sites import CREDENTIALS, OUTAGE, RATE_LIMITED, SiteRow

log = logging.getLogger(__name__)

GATE_WAIT = 5.0  # seconds: a shorter Retry-After is waited out in the gate, a longer one defers incidents
CREDENTIAL_PROBE_CAP = 3600.0  # a refused token is asked about again at most this often


def account_of(jira: Mapping[str, Any]) -> str:
    return str(jira.get("username") or "") or "the personal access token"


def keys_of(jira: Mapping[str, Any]) -> tuple[str, str]:
    """(site key, account key) of an integration's Jira connection (its configuration's `jira`)."""
    site = site_key(str(jira.get("url") or ""))
    return site, f"{site} as {account_of(jira)}"


def secret_kind(jira: Mapping[str, Any]) -> str:
    if jira.get("auth") == "pat":
        return "personal access token"
    return "API token" if jira.get("platform") == "cloud" else "password"


def state_of(row: SiteRow | None, now: float) -> str:
    """ok | paused | rate_limited, as people are shown it."""
    if row is None or (row.reason == RATE_LIMITED and (row.resume_at or 0) <= now):
        return "ok"
    return "rate_limited" if row.reason == RATE_LIMITED else "paused"


class Sites:
    def __init__(self, engine: Engine, gates: SiteGates, *, probe_seconds: float, wake: asyncio.Event) -> None:
        self.engine = engine
        self.gates = gates
        self.probe_seconds = probe_seconds
        self.wake = wake
        self.rows: dict[str, SiteRow] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        gates.on_retry_after = self._rate_limited

    # ------------------------------------------------------------ what this process knows
    async def refresh(self) -> None:
        rows = await store.load(self.engine)
        now = time.time()
        if any(r.reason == RATE_LIMITED and (r.resume_at or 0) < now for r in rows):
            await store.forget_expired(self.engine, now)  # a Retry-After that has passed ends by itself
            rows = [r for r in rows if not (r.reason == RATE_LIMITED and (r.resume_at or 0) < now)]
        self._apply(rows)

    def _apply(self, rows: list[SiteRow]) -> None:
        now = time.time()
        self.rows = {r.key: r for r in rows}
        for r in rows:
            if r.resume_at and r.resume_at > now and r.account is None:
                self.gates.for_site(r.url).hold(r.resume_at - now)

    def changed(self) -> None:
        """Another process changed a pause (NOTIFY): reload, then let the worker look again."""
        self._spawn(self._reload_and_wake())

    async def _reload_and_wake(self) -> None:
        await self.refresh()
        self.wake.set()

    def blocking(self, jira: Mapping[str, Any], now: float | None = None) -> SiteRow | None:
        """The pause an incident of this connection waits for, if any: refused credentials,
        an outage, or a Retry-After too long to wait out in the gate."""
        now = time.time() if now is None else now
        site, account = keys_of(jira)
        if (row := self.rows.get(account)) is not None:
            return row
        row = self.rows.get(site)
        if row is None or (row.reason == RATE_LIMITED and (row.resume_at or 0) - now <= GATE_WAIT):
            return None
        return row

    def due(self, now: float) -> list[SiteRow]:
        return [r for r in self.rows.values() if r.next_probe_at is not None and r.next_probe_at <= now]

    def next_probe_at(self) -> float | None:
        return min((r.next_probe_at for r in self.rows.values() if r.next_probe_at is not None), default=None)

    # ------------------------------------------------------------ changes
    def probe_delay(self, probes: int) -> float:
        """Seconds until the next probe of an outage: 2, 4, 8 ... up to PROBE_SECONDS."""
        return min(self.probe_seconds, 2.0 * 2 ** min(probes, 16))

    async def outage(self, jira: Mapping[str, Any], integration_id: int, message: str) -> SiteRow:
        now = time.time()
        site, _ = keys_of(jira)
        old = self.rows.get(site)
        since = old.since if old is not None and old.reason == OUTAGE else now
        row = SiteRow(site, site, None, integration_id, OUTAGE, message, since, now + self.probe_delay(0),
                      old.resume_at if old else None, 0, now)
        await self._save(row)
        log.warning("Jira at %s paused: %s (probed every %s at most)", site, message, format_duration(self.probe_seconds))
        return row

    async def credentials_refused(self, jira: Mapping[str, Any], integration_id: int, *, worked_before: bool) -> SiteRow:
        now = time.time()
        site, key = keys_of(jira)
        what, account = secret_kind(jira), account_of(jira)
        if worked_before:
            message = (f"The {what} for {account} was refused: it has expired or was revoked; enter a new one "
                       "(edit the integration). Incidents wait and resume once it is changed.")
        else:
            message = (f"Jira refused the {what} for {account} (401): check it and enter it again (edit the "
                       "integration). Incidents wait and resume once it is changed.")
        old = self.rows.get(key)
        row = SiteRow(key, site, account, integration_id, CREDENTIALS, message, old.since if old else now,
                      self._credential_probe(jira, now, 0), None, 0, now)
        await self._save(row)
        log.warning("Jira at %s: %s", site, message)
        return row

    def _credential_probe(self, jira: Mapping[str, Any], now: float, probes: int) -> float | None:
        """Tokens are asked about again, slowly (a revoked one does not come back soon); a
        password never is: each refused login counts towards Jira Server's CAPTCHA."""
        if secret_kind(jira) == "password":
            return None
        return now + min(CREDENTIAL_PROBE_CAP, 60.0 * 2 ** min(probes, 16))

    async def probe_failed(self, row: SiteRow, jira: Mapping[str, Any], message: str) -> None:
        now = time.time()
        if row.reason == CREDENTIALS:
            nxt, message = self._credential_probe(jira, now, row.probes + 1), row.message
        else:
            nxt = now + self.probe_delay(row.probes + 1)
        await store.probe_failed(self.engine, row.key, message, nxt, now)
        await self.refresh()
        self.wake.set()  # the worker's sleep ends at the next probe

    async def take_probe(self, row: SiteRow, hold: float) -> bool:
        """Claim the due probe of `row` for `hold` seconds. Either way the copy here moves on,
        so the worker never spins on a probe time in the past."""
        now = time.time()
        if await store.take_probe(self.engine, row.key, now, now + hold):
            self.rows[row.key] = dataclasses.replace(row, next_probe_at=now + hold)
            return True
        await self.refresh()  # another worker took it, or the pause is over
        return False

    async def resume(self, keys: Iterable[str], why: str = "Jira answers again") -> int:
        """These pauses are over: forget them, and every incident that waited for them is due now."""
        keys = [k for k in set(keys) if k]
        if not keys:
            return 0
        async with read(self.engine) as conn:
            integrations = await store.integration_sites(conn)
        wanted = set(keys)
        ids = [iid for iid, jira in integrations if wanted & set(keys_of(jira))]
        resumed = await store.resume(self.engine, keys, ids, time.time())
        await self.refresh()
        self.wake.set()
        log.info("%s (%s): %d waiting incidents resume", ", ".join(sorted(keys)), why, resumed)
        return resumed

    async def _save(self, row: SiteRow) -> None:
        await store.pause(self.engine, row)
        await self.refresh()
        self.wake.set()  # the worker's sleep ends at the next probe

    # ------------------------------------------------------------ Retry-After from the gates
    def _rate_limited(self, key: str, seconds: float) -> None:
        """A 429/503 here said Retry-After: record it so every process holds back (PostgreSQL),
        and so people see it. Many 429s for one pause are recorded once."""
        now = time.time()
        until = now + seconds
        current = self.rows.get(key)
        if current is not None and (current.resume_at or 0) >= until - 1.0:
            return
        message = f"Jira asked to wait {seconds:.0f} s (Retry-After)"
        if current is None:
            current = SiteRow(key, key, None, None, RATE_LIMITED, message, now, None, until, 0, now)
        self.rows[key] = dataclasses.replace(current, resume_at=until)  # seen here before the write lands
        self._spawn(self._note_rate_limit(key, now, until, message))

    async def _note_rate_limit(self, key: str, now: float, until: float, message: str) -> None:
        await store.note_rate_limit(self.engine, key, now, until, message)
        await self.refresh()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("Jira site state not saved: %s", task.exception())

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
